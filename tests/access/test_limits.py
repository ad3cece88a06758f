"""Rate limits count in Redis when the platform has one (every server process together), else in
the process; past the limit the answer is 429 with the time to wait."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from shuhai.access import limits
from shuhai.config import Config


@pytest.mark.parametrize("with_redis", [False, True])
def test_a_limit_holds_within_its_window(
    config: Config, with_redis: bool, request: pytest.FixtureRequest
) -> None:
    if with_redis:
        config = dataclasses.replace(config, redis_url=request.getfixturevalue("redis_url"))
    key = f"test:{uuid.uuid4().hex}"
    # a one-hour window cannot turn over during the test
    assert [limits.hit(config, key, 3, window=3600) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(limits.TooManyRequests) as exc:
        limits.hit(config, key, 3, window=3600)
    assert exc.value.status == 429 and exc.value.code == "access.rate_limited"
    other = dataclasses.replace(config, database_url=config.database_url + "?other")
    assert limits.hit(other, key, 3, window=3600) == 1  # another platform counts apart
