"""Every operation of the OpenAPI, fuzzed by schemathesis (bounded examples), anonymous and with
a data officer's token: no 5xx, every status code declared, every JSON answer in its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from shuhai.config import Config
from shuhai.ingest import ingest
from shuhai.platform import open_home
from shuhai.plugins import wait_for_background
from shuhai.quality.corrections import raise_objection
from shuhai.web.app import create_app
from tests.conftest import register_persons, session_token, write

EXAMPLES = 10  # per operation and caller: the suite stays within a few minutes


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    config = open_home(Config.from_env({}, home=str(tmp / "home"), profiles=True))
    res = register_persons(config)
    ingest(
        config,
        res["code"],
        str(
            write(
                tmp / "a.csv",
                "身份证号,姓名,出生日期,月收入\n110101199001011234,张三,1990-01-01,1.5\n"
                "1.1E+17,李四,2023-01-02,2.5\n",
            )
        ),
    )
    wait_for_background()
    raise_objection(
        config,
        res["id"],
        {"key": {"身份证号": "110101199001011234"}, "item": "姓名", "reason": "电话13800138000"},
        actor="x",
    )
    app = create_app(config)
    token = session_token(config, "fuzz_officer", ["officer"], "GA")
    return {"app": app, "headers": {"": {}, "officer": {"Authorization": f"Bearer {token}"}}}


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def fuzz(app: Any, headers: dict[str, str]) -> list[str]:
    """Each operation of the app's OpenAPI with generated cases; the failures, one per line."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50  # the whole document, not a hand-kept list

    for op in operations:

        @FUZZ
        @given(case=op.as_strategy())
        def one(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            one()
        except (Exception, BaseExceptionGroup) as exc:  # every operation tried, all reported
            failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:1500]}")
    return failures


@pytest.mark.slow
@pytest.mark.parametrize("who", ["", "officer"])
def test_no_operation_answers_500_or_outside_its_schema(fuzzed: dict[str, Any], who: str) -> None:
    failures = fuzz(fuzzed["app"], fuzzed["headers"][who])
    assert failures == [], "\n\n".join(failures)
