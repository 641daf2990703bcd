"""The sandbox against hostile pull requests: each attack is refused alone, named as a security refusal
at its file and line, the rest of the gate goes on, and a secret on the machine appears in no output.

Two walls, each tested alone: the static check (app.canary.guard, sqlglot) and the engine's lockdown
(app.canary.runner: no file access outside the run's private folder, sources read-only, one SELECT per
statement by DuckDB's own parser, locked configuration, private temp and home directories).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from app.canary.guard import screen
from app.canary.runner import QueryFailed, Sandbox

from .conftest import SHOP, shop_repo

TOKEN = "TOPSECRET-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def secret(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A key file on the machine, outside the project: its content must never appear anywhere."""
    path = tmp_path_factory.mktemp("home") / "token.txt"
    path.write_text(TOKEN + "\n")
    return path


# (name, body): {secret} is the key file, {dir} its folder. Each body is one attack a pull request could
# make as a model; "bomb" bodies exhaust time or memory instead of reaching out.
ATTACKS: list[tuple[str, str]] = [
    ("read_text", "select * from read_text('{secret}')"),
    ("read_csv", "select * from read_csv('{secret}')"),
    ("read_csv_auto", "select column0 from read_csv_auto('{secret}', header=false)"),
    ("read_blob", "select content from read_blob('{secret}')"),
    ("read_json", "select * from read_json('{secret}')"),
    ("sniff_csv", "select * from sniff_csv('{secret}')"),
    ("parquet_meta", "select * from parquet_metadata('{secret}')"),
    ("quoted_path", "select * from '{secret}'"),
    ("identifier_path", 'select * from "{secret}"'),
    ("scalar_in_join", "select c.customer_id from customers c join read_text('{secret}') t on true"),
    ("glob_root", "select * from glob('/root/*')"),
    ("glob_dir", "select * from glob('{dir}/*')"),
    ("copy_out", "copy (select * from customers) to '{dir}/out.csv'"),
    ("export", "export database '{dir}/dump'"),
    ("attach", "attach '{dir}/x.duckdb' as x"),
    ("comment_smuggled_attach", "/* just a select */ -- really\nattach '{dir}/y.duckdb' as y"),
    ("install", "install httpfs"),
    ("load", "load httpfs"),
    ("set_access", "set enable_external_access = true"),
    ("reset_lock", "reset lock_configuration"),
    ("pragma", "pragma enable_profiling"),
    ("call", "call pragma_version()"),
    ("secret", "create secret s (type s3, key_id 'k', secret 'v')"),
    ("second_statement", "select 1 as id;\ndrop table customers"),
    ("second_statement_comment", "select 1 as id -- looks done\n; copy (select 1) to '{dir}/z.csv'"),
    ("homoglyph", "select * from re\u0430d_text('{secret}')"),
    ("macro_shadow", "create or replace macro lower(x) as 'pwned'"),
    ("function", "create function f() as 1"),
    ("drop_source", "drop table customers"),
    ("delete_source", "delete from customers"),
    ("update_source", "update customers set name = 'x'"),
    ("dynamic_sql", "select * from query('select * from read_text(''{secret}'')')"),
    ("current_setting", "select current_setting('home_directory') as h"),
    ("settings", "select * from duckdb_settings()"),
    ("catalog", "select * from information_schema.tables"),
    ("http", "select * from http_get('http://169.254.169.254/latest/meta-data/')"),
    ("use", "use other"),
    ("time_bomb", "select count(*) as n from range(1000000000000)"),
    ("memory_bomb", "select string_agg(repeat('x', 1000000), '') as s from range(100000)"),
]
BOMBS = {"time_bomb": "canary-timeout", "memory_bomb": "canary-memory"}


def _body(body: str, secret: Path) -> str:
    return body.format(secret=secret, dir=secret.parent)


def _base_config() -> str:
    # the limits that apply are the base revision's: short, so the bombs end quickly
    return (
        (SHOP / "datacanary.yml")
        .read_text()
        .replace(
            "limits: {timeout_seconds: 5, threads: 1}",
            "limits: {timeout_seconds: 1, threads: 1, memory_limit: 256MB}",
        )
    )


def _check(repo: Path) -> tuple[dict, str, str]:  # type: ignore[type-arg]
    from app.pipeline import run_check
    from app.report import render_report

    report = run_check(repo, "base", "HEAD")
    return report.to_json(), render_report(report, "markdown"), render_report(report, "text")


def _findings(report: dict) -> list[dict]:  # type: ignore[type-arg]
    return [f for g in report["gates"] for f in g["findings"]]


def test_every_attack_as_a_new_model_is_refused_alone_and_the_gate_goes_on(
    tmp_path: Path, secret: Path
) -> None:
    models = {f"models/attack_{name}.sql": _body(body, secret) + "\n" for name, body in ATTACKS}
    legit = (
        (SHOP / "models/customer_orders.sql").read_text().replace("min(o.ordered_at)", "max(o.ordered_at)")
    )
    repo = shop_repo(
        tmp_path,
        {**models, "models/customer_orders.sql": legit},
        base_changes={"datacanary.yml": _base_config()},
    )
    report, markdown, text = _check(repo)
    everything = json.dumps(report) + markdown + text
    assert TOKEN not in everything
    assert str(secret) not in everything and str(secret.parent) not in everything
    findings = _findings(report)
    for name, _ in ATTACKS:
        path = f"models/attack_{name}.sql"
        mine = [f for f in findings if f["file"] == path and f["blocking"]]
        expected = BOMBS.get(name, "canary-sandbox-refused")
        assert [f["rule"] for f in mine] == [expected], (name, mine)
        assert mine[0]["line"] >= 1
    refused = [f for f in findings if f["rule"] == "canary-sandbox-refused"]
    assert any("reads a file" in f["message"] for f in refused)
    assert any("second statement" in f["message"] for f in refused)
    assert any("shadow a built-in" in f["message"] for f in refused)
    # the legitimate change next to the attacks still got its canary
    co = next(m for m in report["canary"]["models"] if m["name"] == "customer_orders")
    assert co["status"] == "compared"
    assert report["canary"]["seconds"] < 30  # the bombs ended at their 1 s limit; the run stayed bounded
    assert "canary-sandbox-refused" in markdown and "canary-sandbox-refused" in text
    nothing_written = {"out.csv", "dump", "x.duckdb", "y.duckdb", "z.csv"}
    assert not nothing_written & {p.name for p in secret.parent.iterdir()}


EXISTING = [a for a in ATTACKS if a[0] in {"read_text", "quoted_path", "attach", "second_statement",
                                           "macro_shadow", "drop_source", "homoglyph", "time_bomb"}]  # fmt: skip


@pytest.mark.parametrize(("name", "body"), EXISTING, ids=[a[0] for a in EXISTING])
def test_an_attack_in_an_existing_model_skips_its_downstream_naming_why(
    tmp_path: Path, secret: Path, name: str, body: str
) -> None:
    repo = shop_repo(
        tmp_path,
        {"models/stg_orders.sql": _body(body, secret) + "\n"},
        base_changes={"datacanary.yml": _base_config()},
    )
    report, markdown, text = _check(repo)
    assert TOKEN not in json.dumps(report) + markdown + text
    findings = _findings(report)
    mine = [f for f in findings if f["file"] == "models/stg_orders.sql" and f["blocking"]]
    assert [f["rule"] for f in mine] == [BOMBS.get(name, "canary-sandbox-refused")]
    # not mistaken for a removed model, and its readers are told why they did not run
    assert not [f for f in findings if f["rule"] == "model-removed"]
    runs = {m["name"]: m["head"] for m in report["canary"]["models"]}
    for reader, upstream in (("customer_orders", "stg_orders"), ("country_revenue", "customer_orders")):
        assert runs[reader]["status"] == "skipped" and f"reads {upstream}" in runs[reader]["message"]


# -- each wall alone ----------------------------------------------------------------------------------

# Engine-side these run, but see only the sandbox itself: settings that point into the private folder,
# and the catalog of the run's own tables. The static check refuses them all the same.
STATIC_ONLY = {"current_setting", "settings", "catalog"}
ENGINE_CASES = [a for a in ATTACKS if a[0] not in BOMBS]


@pytest.mark.parametrize(("name", "body"), ENGINE_CASES, ids=[a[0] for a in ENGINE_CASES])
def test_the_static_check_alone_refuses_each_attack(name: str, body: str, secret: Path) -> None:
    refusal = screen(_body(body, secret), "duckdb")
    assert refusal is not None, name
    assert str(secret) not in refusal.reason and TOKEN not in refusal.reason


@pytest.fixture
def locked(tmp_path: Path) -> Sandbox:
    box = Sandbox.locked(tmp_path / "work", memory_limit="256MB", threads=1, max_temp_size="64MB")
    assert box.inputs is not None
    catalog = box.inputs / "sources.duckdb"
    box.open_catalog(catalog, "source")
    box.execute("CREATE TABLE source.customers AS SELECT 1 AS customer_id, 'a' AS name")
    box.seal_catalog(catalog, "source")
    box.create_schema("head")
    return box


@pytest.mark.parametrize(("name", "body"), ENGINE_CASES, ids=[a[0] for a in ENGINE_CASES])
def test_the_engine_lockdown_alone_refuses_each_attack(
    locked: Sandbox, secret: Path, name: str, body: str
) -> None:
    sql = _body(body, secret).replace(" customers", " source.customers")
    before = {p.name for p in secret.parent.iterdir()}
    try:
        locked.create_select('"head"."m"', sql, timeout=5)
    except QueryFailed as exc:
        assert exc.kind in ("refused", "error"), exc.message
        assert TOKEN not in exc.message and str(secret) not in exc.message
    else:
        rows = json.dumps(locked.query('SELECT * FROM "head"."m"'), default=str)
        assert name in STATIC_ONLY, f"{name} ran under the lockdown: {rows[:200]}"
        assert TOKEN not in rows and str(Path.home()) not in rows.replace(str(locked.inputs.parent), "")
    # nothing changed: the source is intact, no file written, the configuration still locked
    assert locked.query("SELECT count(*) AS n FROM source.customers")[0]["n"] == 1
    assert {p.name for p in secret.parent.iterdir()} == before
    assert locked.query("SELECT current_setting('enable_external_access') AS v")[0]["v"] is False
    with pytest.raises(QueryFailed):
        locked.execute("SET enable_external_access = true")


def test_sources_are_read_only_even_to_a_raw_statement(locked: Sandbox) -> None:
    writes = (
        "DROP TABLE source.customers",
        "DELETE FROM source.customers",
        "INSERT INTO source.customers VALUES (2, 'b')",
    )
    for sql in writes:
        with pytest.raises(QueryFailed) as info:
            locked.execute(sql)
        assert info.value.kind == "refused"
    assert locked.query("SELECT count(*) AS n FROM source.customers")[0]["n"] == 1


def test_a_macro_cannot_shadow_a_builtin_through_the_engine(locked: Sandbox) -> None:
    with pytest.raises(QueryFailed) as info:
        locked.create_select('"head"."m"', "create or replace macro lower(x) as 'pwned'")
    assert info.value.kind == "refused"
    assert locked.query("SELECT lower('A') AS v")[0]["v"] == "a"


def test_the_temp_folder_is_private_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DuckDB allows its temp folder implicitly; by default that is `.tmp` in the working directory
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "planted.csv").write_text("a\n" + TOKEN + "\n")
    box = Sandbox.locked(tmp_path / "work", memory_limit="256MB", threads=1, max_temp_size="64MB")
    with pytest.raises(QueryFailed) as info:
        box.query("SELECT * FROM read_csv('.tmp/planted.csv')")
    assert info.value.kind == "refused"
    settings = box.query(
        "SELECT current_setting('temp_directory') AS t, current_setting('max_temp_directory_size') AS m"
    )[0]
    assert settings["t"].startswith(str(tmp_path / "work"))
    assert settings["m"] != "90% of available disk space"


def test_a_sample_database_holding_a_view_is_refused_and_nothing_leaks(
    tmp_path: Path, secret: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PR ships a DuckDB file whose 'table' is a view reading a key file, declares it a source, and has
    a model select from it: refused as a source, the model skipped, the secret nowhere. Then again with
    the view check switched off: the lockdown, applied before the file is read, still stops it."""
    import duckdb

    def repo_with_view(where: Path) -> Path:
        where.mkdir()
        data = where / "evil.duckdb"
        con = duckdb.connect(str(data))
        con.execute(f"CREATE VIEW leak AS SELECT 1 AS id, content AS body FROM read_text('{secret}')")
        con.close()
        config = _base_config().replace(
            "sources:\n", "sources:\n  evil:\n    path: data/evil.duckdb:main.leak\n"
            "    columns: {id: int, body: varchar}\n", 1,
        )  # fmt: skip
        return _evil_repo(where, data, config)

    for disabled in (False, True):
        if disabled:
            monkeypatch.setattr(Sandbox, "_kind_of", lambda self, *a: "table")
        repo = repo_with_view(tmp_path / f"case{int(disabled)}")
        report, markdown, text = _check(repo)
        assert TOKEN not in json.dumps(report) + markdown + text
        refused = [f for f in _findings(report) if f["rule"] == "canary-sandbox-refused"]
        assert refused and refused[0]["dataset"] == "evil" and refused[0]["blocking"]
        assert refused[0]["file"] == "datacanary.yml"
        peek = next(m for m in report["canary"]["models"] if m["name"] == "peek")
        assert peek["head"]["status"] == "skipped" and "evil" in peek["head"]["message"]


def _evil_repo(where: Path, data: Path, config: str) -> Path:
    """Base: a harmless table in data/evil.duckdb and a model reading it; head: the file holds the view
    and the model changes, so the canary would show the difference (with the secret in it)."""
    import shutil
    import subprocess

    import duckdb

    repo = where / "shop"
    shutil.copytree(SHOP, repo)
    (repo / "datacanary.yml").write_text(config.replace("canary:\n", "canary:\n  keys: {peek: [id]}\n"))
    (repo / "models/peek.sql").write_text("select id, 'x' as body from evil\n")
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    con = duckdb.connect(str(repo / "data/evil.duckdb"))
    con.execute("CREATE TABLE leak AS SELECT 1 AS id, 'hello' AS body")
    con.close()
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], check=True)
    subprocess.run([*git, "tag", "base"], check=True)
    shutil.copy(data, repo / "data/evil.duckdb")
    (repo / "models/peek.sql").write_text("select id, body from evil\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "head"], check=True)
    return repo
