"""The Alembic migrations build exactly the schema the models declare (SQLite and PostgreSQL):
a model changed without its migration is found here, not on a user's upgrade."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shuhai.config import Config
from shuhai.db import get_engine
from shuhai.db.models import UNMAPPED_TABLES, Base
from shuhai.platform import open_home


def test_migrations_match_the_models(any_config: Config) -> None:
    open_home(any_config)
    with get_engine(any_config.database_url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _mapped})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def _mapped(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """Leave out the full-text index (``UNMAPPED_TABLES``: each database's own shape)."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not any(str(table).startswith(t) for t in UNMAPPED_TABLES)


def test_the_quick_head_check_agrees_with_alembic(any_config: Config) -> None:
    """``open_home`` skips Alembic when the database is at the head it reads from file names."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from shuhai.db.session import MIGRATIONS, current_revision, head_revision

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_heads() == [head_revision()]
    open_home(any_config)
    assert current_revision(any_config.database_url) == head_revision()
