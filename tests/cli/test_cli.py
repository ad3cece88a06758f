"""The ``shuhai`` command mirrors the library; errors print text and exit 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shuhai.cli import app
from tests.conftest import write

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHUHAI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("SHUHAI_DATABASE_URL", raising=False)
    return tmp_path


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_register_ingest_and_read_back(env: Path) -> None:
    ok("init")
    ok("department", "add", "市公安局", "GA")
    spec = write(
        env / "res.yaml",
        "name: 常住人口基本信息\ndepartment: GA\nclassification: '101001'\nkey_columns: [身份证号]\n"
        "items:\n  - {name: 身份证号, length: 18, required: true}\n  - {name: 姓名}\n  - {name: 出生日期, data_type: D}\n",
    )
    assert "101001/GA-00001" in ok("catalog", "register", str(spec))
    src = write(
        env / "a.csv",
        "身份证号,姓名,出生日期\n110101199001011234,张三,2024年1月2日\n1.1E+17,李四,2024-01-02\n",
        "gbk",
    )
    out = ok("ingest", "101001/GA-00001", str(src))
    assert "读入 2 = 入湖 1 + 隔离 1" in out and "精度已丢失" in out
    src2 = write(env / "b.csv", "身份证号,姓名,出生日期\n110101199001011234,张三丰,2024-01-02\n")
    ok("ingest", "1", str(src2), "--mode", "upsert", "--key", "身份证号")
    versions = ok("versions", "1")
    assert "MERGE" in versions and "b.csv" in versions
    assert "张三丰" in ok("read", "1") and "张三" in ok("read", "1", "--version", "0")
    assert "2024-01-02" in ok("query", "1", "SELECT min(出生日期) AS d FROM t")
    assert "1.1E+17" in ok("quarantine", "1")
    assert "常住人口基本信息" in ok("catalog", "list", "人口")
    export = env / "目录.xlsx"
    ok("catalog", "export", str(export))
    assert export.exists()
    assert "SHUHAI_HOME" in ok("config", "show")


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "999", "/nonexistent.csv"],
        ["catalog", "show", "101001/GA-00099"],
        ["department", "add", "某局", "不合法"],
        ["query", "1", "DROP TABLE t"],
        ["quarantine", "42"],
    ],
)
def test_errors_are_one_line_and_exit_1(env: Path, args: list[str]) -> None:
    ok("init")
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "错误 / Error" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_every_command_has_help_with_an_example(env: Path) -> None:
    for command in [
        "init",
        "ingest",
        "runs",
        "quarantine",
        "versions",
        "read",
        "query",
        "demo",
        "serve",
    ]:
        assert "Example" in ok(command, "--help"), command
    for group, command in [
        ("catalog", "register"),
        ("catalog", "list"),
        ("catalog", "import"),
        ("catalog", "export"),
        ("department", "add"),
    ]:
        assert "Example" in ok(group, command, "--help"), command


def test_users_and_audit_from_the_command_line(env: Path) -> None:
    ok("department", "add", "市公安局", "GA")
    out = ok(
        "user",
        "add",
        "ga_officer",
        "--role",
        "officer",
        "--department",
        "GA",
        "--password",
        "Correct1horse",
    )
    assert "ga_officer" in out
    out = ok("user", "add", "auditor1", "--role", "auditor", "--password", "Correct1horse")
    assert "otpauth://totp/" in out  # the platform roles get a second factor
    bad = runner.invoke(
        app,
        ["user", "add", "x", "--role", "admin", "--role", "auditor", "--password", "Correct1horse"],
    )
    assert bad.exit_code == 1 and "三员分立" in bad.output and "Traceback" not in bad.output
    assert "user" in ok("user", "role", "ga_officer", "--role", "user")
    ok("user", "reset", "ga_officer", "--password", "Another2horse")
    assert "ga_officer" in ok("user", "list")
    from shuhai.access import audit
    from shuhai.config import Config

    audit.append(
        Config.from_env(), [{"actor": "ga_officer", "action": "preview", "resource": "r1"}]
    )
    assert "完好" in ok("audit", "verify")
    assert "preview" in ok("audit", "list", "--actor", "ga_officer")


def test_audit_verify_exits_1_and_names_the_entry(env: Path) -> None:
    from sqlalchemy import text

    from shuhai.access import audit
    from shuhai.config import Config
    from shuhai.db import get_engine

    config = Config.from_env()
    ok("init")
    audit.append(config, [{"actor": f"u{i}", "action": "api.read"} for i in range(10)])
    with get_engine(config.database_url).begin() as conn:
        conn.execute(text("UPDATE audit_entries SET actor = 'x' WHERE seq = 7"))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1 and "seq 7" in result.output and "edited" in result.output


def test_keys_and_serving_index_from_the_command_line(env: Path) -> None:
    ok("init")
    ok("department", "add", "市公安局", "GA")
    spec = write(
        env / "res.yaml",
        "name: 人口\ndepartment: GA\nclassification: '101001'\nkey_columns: [身份证号]\n"
        "items:\n  - {name: 身份证号}\n  - {name: 姓名}\n",
    )
    ok("catalog", "register", str(spec))
    ok("ingest", "人口", str(write(env / "a.csv", "身份证号,姓名\n350102198001010014,张三\n")))
    out = ok("share", "index", "人口")
    assert "1 行" in out and "身份证号" in out
    issued = ok("credential", "add", "GA", "--name", "公安系统", "--scope", "101001/GA-00001")
    app_key = issued.split("appKey: ")[1].split()[0]
    assert "appSecret: " in issued and app_key in ok("credential", "list")
    assert "appSecret" not in ok("credential", "list")
    before = (env / "home" / "keys" / "master.key").read_text()
    assert "重新封装 1 个机密、1 个数据密钥" in ok("keys", "rotate")
    assert (env / "home" / "keys" / "master.key").read_text() != before
    assert "350102198001010014" in ok("read", "人口")  # stored encrypted, read under the new key
    assert "身份证号" in ok("keys", "encrypt", "--vacuum")  # already encrypted at ingest
    assert "没有旧密钥下的数据" in ok("keys", "rekey")  # keys made here are the current scheme
    unknown = runner.invoke(app, ["keys", "rekey", "--resource", "不存在"])
    assert unknown.exit_code == 1 and "Traceback" not in unknown.output
    bad = runner.invoke(app, ["keys", "rotate", "--new-key", "nothex"])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    replaced = ok("credential", "rotate", app_key).split("appKey: ")[1].split()[0]
    assert replaced != app_key
    ok("credential", "revoke", replaced)
    assert "True" in ok("credential", "list")
    from shuhai.access import audit
    from shuhai.config import Config

    done = {e["action"] for e in audit.search(Config.from_env(), limit=100)}
    assert {
        "credential.add",
        "credential.rotate",
        "credential.revoke",
        "keys.rotate",
        "keys.encrypt",
    } <= done
    assert all(
        e["actor"].startswith("cli:") for e in audit.search(Config.from_env(), action="keys.rotate")
    )
    missing = runner.invoke(app, ["share", "index", "不存在"])
    assert missing.exit_code == 1 and "Traceback" not in missing.output


def test_rekey_from_the_command_line(env: Path) -> None:
    from shuhai.access import keys
    from shuhai.access.columns import new_data_key
    from shuhai.config import Config
    from shuhai.db import DataKey, session_scope

    ok("init")
    ok("department", "add", "市公安局", "GA")
    spec = write(
        env / "res.yaml",
        "name: 人口\ndepartment: GA\nclassification: '101001'\nitems:\n  - {name: 身份证号}\n",
    )
    ok("catalog", "register", str(spec))
    config = Config.from_env()
    with session_scope(config.database_url) as s:  # a key from before short codes
        s.add(DataKey(resource_id=1, wrapped=new_data_key(keys.master_key(config))[1]))
    ok("ingest", "人口", str(write(env / "a.csv", "身份证号\n350102198001010014\n")))
    out = ok("keys", "rekey", "--vacuum")
    assert "资源 resource 1" in out
    assert "350102198001010014" in ok("read", "人口")
    assert "没有旧密钥下的数据" in ok("keys", "rekey")


def test_command_line_reads_pass_the_policy_point_and_are_audited(env: Path) -> None:
    """The command line is the operator (the OS user on the data directory): it reads in full,
    and every read and change leaves an audit entry under its name."""
    from shuhai.access import audit
    from shuhai.config import Config

    ok("init")
    ok("department", "add", "市公安局", "GA")
    spec = write(
        env / "res.yaml",
        "name: 人口\ndepartment: GA\nclassification: '101001'\nkey_columns: [身份证号]\n"
        "items:\n  - {name: 身份证号}\n  - {name: 姓名}\n",
    )
    ok("catalog", "register", str(spec))
    ok(
        "ingest",
        "1",
        str(write(env / "a.csv", "身份证号,姓名\n350102198001010014,张三\n,李四,x\n")),
    )
    assert "350102198001010014" in ok("read", "1")  # the operator reads unmasked
    ok("query", "1", "SELECT count(*) AS n FROM t")
    ok("quarantine", "1")
    ok("share", "index", "1")
    config = Config.from_env()
    audit.flush(config)
    actions = {
        e["action"] for e in audit.search(config, limit=500) if e["actor"].startswith("cli:")
    }
    assert {"read", "query", "quarantine.read", "resource.register", "share.index"} <= actions
    # files hold personal data: the setting decides, at the command line too
    result = runner.invoke(app, ["base", "show", "人口基础库", "P00000001"])
    assert result.exit_code == 1 and "entities.profiles_off" in result.output


def test_quarantine_at_the_terminal_shortens_huge_cells(env: Path) -> None:
    ok("init")
    ok("department", "add", "市公安局", "GA")
    spec = write(
        env / "res.yaml",
        "name: 人口\ndepartment: GA\nclassification: '101001'\nitems:\n  - {name: 身份证号}\n",
    )
    ok("catalog", "register", str(spec))
    ok("ingest", "1", str(write(env / "a.csv", "身份证号\n" + "9" * 5000 + ",extra\n1\n")))
    out = ok("quarantine", "1")
    assert "9" * 5000 not in out and "字符" in out


def test_base_conflicts_and_export_at_the_terminal(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """重号 listed at the command line, with a clear error for a kind that does not exist."""
    monkeypatch.setenv("SHUHAI_PROFILES", "true")
    ok("init")
    ok("department", "add", "市公安局", "GA")
    ok("department", "add", "市人社局", "RS")
    items = "items:\n  - {name: 身份证号}\n  - {name: 姓名}\n  - {name: 性别}\n  - {name: 出生日期, data_type: D}\n"
    ok(
        "catalog",
        "register",
        str(
            write(
                env / "ga.yaml",
                "name: 户籍\ndepartment: GA\nclassification: '101001'\nkey_columns: [身份证号]\n"
                + items,
            )
        ),
    )
    ok(
        "catalog",
        "register",
        str(
            write(env / "rs.yaml", "name: 参保\ndepartment: RS\nclassification: '303001'\n" + items)
        ),
    )
    number = "350102198001010011"
    ok(
        "ingest",
        "1",
        str(write(env / "ga.csv", f"身份证号,姓名,性别,出生日期\n{number},张伟,1,1980-01-01\n")),
    )
    ok(
        "ingest",
        "2",
        str(
            write(
                env / "rs.csv",
                f"身份证号,姓名,性别,出生日期\n{number},李强,1,1980-01-01\n{number},李强,1,1980-01-01\n",
            )
        ),
    )
    members = "\n".join(
        f"  - {{resource: {r}, id: 身份证号, attributes: {{姓名: 姓名, 性别: 性别, 出生日期: 出生日期}}}}"
        for r in ("户籍", "参保")
    )
    ok(
        "base",
        "apply",
        str(
            write(
                env / "base.yaml", f"name: 人口库\nmembers:\n{members}\nauthority: {{姓名: 户籍}}\n"
            )
        ),
    )
    ok("base", "build", "人口库")
    out = ok("base", "conflicts", "人口库", "--kind", "duplicate")
    assert number in out and "重号" in out and "共 1 个号码" in out
    bad = runner.invoke(app, ["base", "conflicts", "人口库", "--kind", "twins"])
    assert bad.exit_code == 1 and "entities.bad_conflict_kind" in bad.output
    gone = runner.invoke(app, ["base", "conflicts", "没有这个库"])
    assert gone.exit_code == 1 and "Traceback" not in gone.output
    exported = env / "records.csv"
    ok("base", "export", "人口库", "-o", str(exported))
    text = exported.read_text(encoding="utf-8-sig")
    assert text.count("\n") == 4 and "id_flag" in text.splitlines()[0]


def test_the_command_starts_without_loading_the_library() -> None:
    """``shuhai --help`` lists every command without importing the data stack: Polars, Arrow,
    DuckDB, Delta, SQLAlchemy and Splink load only in the commands that use them."""
    import subprocess
    import sys

    probe = (
        "import sys, shuhai.cli; from typer.testing import CliRunner; "
        "r = CliRunner().invoke(shuhai.cli.app, ['--help']); assert r.exit_code == 0, r.output; "
        "heavy = ('polars', 'pyarrow', 'duckdb', 'deltalake', 'sqlalchemy', 'splink', 'numpy'); "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_second_make_demo_keeps_the_city_and_what_users_did(env: Path) -> None:
    """``make demo`` runs ``shuhai demo --keep``: a demo already loaded here is served as it
    is, so nothing done in the portal since is undone; ``make demo-reset`` starts over."""
    first = ok("demo", "--persons", "300", "--keep")
    assert "Demo city ready" in first
    ok("department", "add", "市新部门", "XB")
    again = ok("demo", "--persons", "300", "--keep")
    assert "kept" in again and "Demo city ready" not in again
    assert "市新部门" in ok("department", "list")
    makefile = (Path(__file__).parents[2] / "Makefile").read_text(encoding="utf-8")
    assert "shuhai demo --persons $(PERSONS) --keep" in makefile and "demo-reset:" in makefile


def test_ingest_answers_before_the_serving_index_is_built(env: Path) -> None:
    """The command prints its verdict and exits; a detached process builds the serving index of
    a shared resource afterwards (lookups use the lake meanwhile)."""
    import os
    import subprocess
    import sys
    import time

    ok("init")
    ok("department", "add", "市公安局", "GA")
    spec = write(
        env / "res.yaml",
        "name: 人口\ndepartment: GA\nclassification: '101001'\nkey_columns: [身份证号]\n"
        "share_type: 无条件共享\nitems:\n  - {name: 身份证号}\n  - {name: 姓名}\n",
    )
    ok("catalog", "register", str(spec))
    src = write(env / "a.csv", "身份证号,姓名\n350102198001010014,张三\n")
    cli = [sys.executable, "-c", "from shuhai.cli import main; main()"]
    done = subprocess.run(
        [*cli, "ingest", "人口", str(src)], capture_output=True, text=True, env=os.environ.copy()
    )
    assert done.returncode == 0 and "质量" in done.stdout, done.stderr
    index = env / "home" / "serving" / "r1" / "v0.sqlite"
    deadline = time.monotonic() + 60
    while not index.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert index.exists(), (env / "home" / "logs").glob("*.log")
