"""`datacanary data-diff` on tables where they live: PostgreSQL tables diffed in place on the server,
Parquet read by Spark; the forms of an engine's table; errors that name the engine and never a password."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.canary.inputs import parse_spec
from app.cli import main
from app.errors import UsageError

SECRET = "s3cr3t-Pa55"


def test_engine_table_forms_parse_without_showing_a_password() -> None:
    pg = parse_spec(f"postgres://ana:{SECRET}@db.example:5433/wh.sales.orders")
    assert (pg.engine, pg.schema, pg.table) == ("postgres", "sales", "orders")
    assert pg.url == f"postgresql://ana:{SECRET}@db.example:5433/wh"
    assert SECRET not in str(pg) and SECRET not in repr(pg)
    assert str(parse_spec("postgres:sales.orders")) == "postgres:sales.orders"
    assert parse_spec("spark:sales.orders").engine == "spark"
    assert (parse_spec("spark:parquet:/data/o").format, parse_spec("spark:delta:/d").format) == (
        "parquet",
        "delta",
    )
    assert parse_spec("duckdb:wh.duckdb:main.t") == parse_spec("wh.duckdb:main.t")
    with pytest.raises(UsageError, match="db.schema.table"):
        parse_spec(f"postgres://ana:{SECRET}@db/wh")
    with pytest.raises(UsageError) as err:
        parse_spec(f"postgres://ana:{SECRET}@db/wh.")
    assert SECRET not in err.value.render()


@pytest.fixture
def pg_tables(postgres_url: str) -> str:
    """Two tables on the real server, and a role that needs its password; that role's URL (no table)."""
    import psycopg

    role = "ana_" + postgres_url.rsplit("/", 1)[1][-40:]

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE a AS SELECT g AS id, g * 2 AS v, 'x' || g AS s FROM generate_series(1, 500) g"
        )
        conn.execute(
            "CREATE TABLE b AS SELECT g AS id, CASE WHEN g % 100 = 0 THEN -g ELSE g * 2 END AS v, 'x' || g AS s"
            " FROM generate_series(2, 501) g"
        )
        # roles are the server's, not the database's: one per test, so that no grant of another test's
        # database keeps it from being made again
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}'")
        conn.execute(f"GRANT SELECT ON a TO {role}")
    host = re.sub(r"^postgresql://[^@]*@", "", postgres_url).rsplit("/", 1)[0]
    return f"postgres://{role}:{SECRET}@{host}/{postgres_url.rsplit('/', 1)[1]}"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["data-diff", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_postgres_tables_are_diffed_in_place(
    postgres_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE a AS SELECT g AS id, g * 2 AS v FROM generate_series(1, 300) g")
        conn.execute(
            "CREATE TABLE b AS SELECT id, CASE WHEN id = 7 THEN 0 ELSE v END AS v FROM a WHERE id <> 3"
        )
    monkeypatch.setenv("DATACANARY_POSTGRES_URL", postgres_url)
    code, out = _run(["postgres:public.a", "postgres:public.b", "--key", "id", "--format", "json"], capsys)
    result = json.loads(out)
    assert code == 1
    assert (result["removed"], result["changed"], result["unchanged"]) == (1, 1, 298)
    assert result["left"] == "postgres:public.a"
    # the diff's temporary tables went with its session
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE '__dc_%'").fetchone() == (0,)


def test_no_password_in_any_report_or_error(pg_tables: str, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("text", "json", "markdown"):
        code, out = _run(
            [f"{pg_tables}.public.a", f"{pg_tables}.public.a", "--key", "id", "--format", fmt], capsys
        )
        assert code == 0 and SECRET not in out and ":***@" in out
    # a missing privilege (ana may not read b), a missing table: exit 2, engine named
    for right, says in (("public.b", "permission denied"), ("public.nope", "does not exist")):
        code, out = _run([f"{pg_tables}.public.a", f"{pg_tables}.{right}", "--key", "id"], capsys)
        assert code == 2 and out.startswith("datacanary: error: postgres: ") and says in out
        assert SECRET not in out and "Traceback" not in out


def test_an_unreachable_server_names_the_engine_and_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgres://ana:{SECRET}@127.0.0.1:1/wh"
    code, out = _run([f"{url}.public.a", f"{url}.public.b"], capsys)
    assert code == 2 and "postgres: cannot connect" in out and "DATACANARY_POSTGRES_URL" in out
    assert SECRET not in out


def test_a_duckdb_file_against_a_postgres_table_moves_only_differing_segments(
    tmp_path: Path, pg_tables: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two engines: checksummed key segments in each, only the differing segments' rows fetched."""
    import duckdb

    file = tmp_path / "wh.duckdb"
    with duckdb.connect(str(file)) as con:  # table a of the server, with two rows edited
        con.execute(
            "CREATE TABLE a AS SELECT g::INTEGER AS id, (CASE WHEN g = 250 THEN -1 ELSE g * 2 END)::INTEGER AS v,"
            " 'x' || g AS s FROM range(1, 501) t(g) WHERE g <> 17"
        )
    code, out = _run(
        [f"duckdb:{file}:main.a", f"{pg_tables}.public.a", "--key", "id", "--format", "json"], capsys
    )
    assert code == 1, out
    result = json.loads(out[out.index("{") :])
    assert (result["added"], result["removed"], result["changed"]) == (1, 0, 1)
    assert 0 < sum(result["transfer"]["rows"]) < 300  # of 999 rows, only the two differing segments moved
    assert SECRET not in out


def test_a_cross_engine_diff_needs_a_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(["postgres://h/db.public.a", "spark:sales.a"], capsys)
    assert code == 2 and "needs a key" in out


def test_parquet_read_by_spark_is_diffed_there(
    tmp_path: Path, spark_session: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(f"COPY (SELECT range AS id, range * 2 AS v FROM range(50)) TO '{tmp_path / 'a.parquet'}'")
    con.execute(
        f"COPY (SELECT range AS id, CASE WHEN range = 5 THEN 0 ELSE range * 2 END AS v FROM range(1, 51))"
        f" TO '{tmp_path / 'b.parquet'}'"
    )
    monkeypatch.setattr("app.engines.spark._session", lambda master: spark_session)
    code, out = _run(
        [f"spark:parquet:{tmp_path / 'a.parquet'}", f"spark:parquet:{tmp_path / 'b.parquet'}", "--key", "id",
         "--format", "json"],
        capsys,
    )  # fmt: skip
    result = json.loads(out)
    assert code == 1 and (result["added"], result["removed"], result["changed"]) == (1, 1, 1)
    code, out = _run(
        [f"spark:parquet:{tmp_path / 'nope'}", f"spark:parquet:{tmp_path / 'b.parquet'}"], capsys
    )
    assert code == 2 and out.startswith("datacanary: error: spark: ")


def test_the_action_input_engine_is_checked() -> None:
    from action.environment import ActionEnv

    env = {"GITHUB_REPOSITORY": "o/r", "INPUT_ENGINE": "Postgres"}
    assert ActionEnv.from_env(env).engine == "postgres"
    assert ActionEnv.from_env({"GITHUB_REPOSITORY": "o/r"}).engine == ""
    with pytest.raises(UsageError, match="input `engine`") as err:
        ActionEnv.from_env({**env, "INPUT_ENGINE": "snowflake"})
    assert "duckdb, postgres, spark" in err.value.render()
