"""`datacanary data-diff` in place on PostgreSQL over the types and names that PostgreSQL has and DuckDB
lacks or spells otherwise: uuid and other types that take no collation, a key column named like the
diff's own `k<j>` columns, unconstrained numeric, infinite dates and numbers, json, xml, point, citext,
tables wider than one SELECT may be, the session's TimeZone and statement_timeout."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.cli import main


@pytest.fixture
def pg(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A function running SQL on this test's own database, which data-diff reads too."""
    import psycopg

    monkeypatch.setenv("DATACANARY_POSTGRES_URL", postgres_url)

    def run(sql: str) -> None:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(sql.encode())

    return run


def _diff(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    """Exit code, the JSON report (empty when there is none) and everything printed."""
    code = main(["data-diff", *args, "--format", "json"])
    out = capsys.readouterr()
    report = json.loads(out.out) if out.out.lstrip().startswith("{") else {}
    return code, report, out.out + out.err


def _counts(report: dict[str, Any]) -> tuple[int, int, int, int]:
    return report["removed"], report["added"], report["changed"], report["unchanged"]


def test_a_key_column_named_like_the_diffs_own_key_columns(
    pg: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # the duplicated key 5 is left out of the join and compared as a multiset; a key part named `k0`
    # (or `k1`) must still mean the table's column, not the excluded keys' `k0`
    pg(
        "CREATE TABLE l (k0 int, v int); CREATE TABLE r (k0 int, v int);"
        " INSERT INTO l VALUES (1, 1), (2, 2), (3, 3), (5, 5), (5, 5);"
        " INSERT INTO r VALUES (1, 1), (2, 20), (4, 4), (5, 5);"
        " CREATE TABLE l2 AS SELECT 0 AS a, k0 AS k1, v FROM l; CREATE TABLE r2 AS SELECT 0 AS a, k0 AS k1, v FROM r"
    )
    for args in (("--key", "k0"), ("--key", "k0", "--examples", "0")):
        code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.r", *args)
        assert code == 1, out
        assert _counts(report) == (1, 1, 1, 1) and report["duplicates_unmatched"] == 1
    code, report, out = _diff(capsys, "postgres:public.l2", "postgres:public.r2", "--key", "a,k1")
    assert code == 1, out
    assert _counts(report) == (1, 1, 1, 1)
    assert [e["key"] for e in report["examples"] if e["kind"] == "changed"] == [{"a": 0, "k1": 2}]


def test_keys_and_keyless_rows_of_types_that_take_no_collation(
    pg: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # example keys and rows are ordered by text's bytes (COLLATE "C"), which only text types can take
    pg(
        "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TYPE pair AS (a int, b text);"
        "CREATE TABLE l (id uuid, b bytea, m mood, ip inet, j jsonb, cash money, p pair, ts tsvector,"
        " s varchar(5), c char(3));"
        "INSERT INTO l VALUES ('00000000-0000-0000-0000-000000000001', '\\x00', 'sad', '10.0.0.1',"
        " '{\"a\": 1}', 1.5, ROW(1, 'x'), 'a fat cat', 'x', 'y'),"
        " ('00000000-0000-0000-0000-000000000002', '\\x01', 'ok', '10.0.0.2', '[1]', 2, ROW(2, 'y'), 'b', 'z', 'w');"
        "CREATE TABLE r AS SELECT * FROM l; UPDATE r SET b = '\\x02', s = 'Z'"
        " WHERE id = '00000000-0000-0000-0000-000000000002'"
    )
    code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.r", "--key", "id")
    assert code == 1, out
    assert _counts(report) == (0, 0, 1, 1)
    code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.r")
    assert code == 1, out
    assert (report["removed"], report["added"]) == (1, 1)
    # a uuid key against a text one is joined as text (COLLATE "C" then applies)
    pg("CREATE TABLE rt AS SELECT id::text AS id, b, s FROM r")
    code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.rt", "--key", "id")
    assert code == 1, out
    assert _counts(report) == (0, 0, 1, 1)


def test_an_integer_key_against_an_unconstrained_numeric_one_joins_by_value(
    pg: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # joined as text, 1 and 1.0 (or 2.00 and 2.0) would be a removed and an added row
    pg(
        "CREATE TABLE l (k int PRIMARY KEY, v int); CREATE TABLE r (k numeric PRIMARY KEY, v int);"
        " CREATE TABLE d (k numeric(10,2) PRIMARY KEY, v int);"
        " INSERT INTO l VALUES (1, 1), (2, 2); INSERT INTO r VALUES (1.0, 1), (2.5, 2), (3.123456, 3);"
        " INSERT INTO d VALUES (1.00, 1), (2.50, 2), (3.12, 3)"
    )
    code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.r", "--key", "k")
    assert code == 1, out
    assert _counts(report) == (1, 2, 0, 1)
    # numeric(10,2) against numeric: no rounding of the unconstrained side's keys
    code, report, out = _diff(capsys, "postgres:public.d", "postgres:public.r", "--key", "k")
    assert code == 1, out
    assert _counts(report) == (1, 1, 0, 2)


def test_timestamps_retyped_to_timestamptz_are_read_in_utc_whatever_the_session_zone(
    pg: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # DuckDB's diff reads a timestamp cast to timestamptz as UTC; so must PostgreSQL's, in the profiles'
    # own connections too (a column's min and max)
    pg(
        "CREATE TABLE l (id timestamp PRIMARY KEY, t timestamp);"
        " CREATE TABLE r (id timestamptz PRIMARY KEY, t timestamptz);"
        " INSERT INTO l VALUES ('2024-01-01 00:00', '2024-01-01 00:00'), ('2024-01-02 00:00', '2024-01-02 00:00');"
        " INSERT INTO r VALUES ('2024-01-01 00:00+00', '2024-01-01 00:00+00'),"
        " ('2024-01-02 00:00+00', '2024-01-02 05:00+00')"
    )
    for zone in ("UTC", "America/New_York"):
        monkeypatch.setenv("PGOPTIONS", f"-c TimeZone={zone}")
        code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.r", "--key", "id")
        assert code == 1, out
        assert _counts(report) == (0, 0, 1, 1), zone
        (t,) = report["columns"]
        assert t["right"]["max"] == "2024-01-02T05:00:00+00:00", zone


def test_infinite_dates_and_timestamps_load(pg: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # psycopg cannot read them as dates ("date too large"): the latest and earliest Python dates stand
    # for them, as DuckDB's Python client reads its own infinities
    pg(
        "CREATE TABLE l (id int PRIMARY KEY, d date, ts timestamp, tz timestamptz);"
        " INSERT INTO l VALUES (1, 'infinity', '-infinity', 'infinity'),"
        " (2, '2024-01-01', '2024-01-01', '2024-01-01Z');"
        " CREATE TABLE r AS SELECT * FROM l; UPDATE r SET d = '-infinity', tz = '-infinity' WHERE id = 1"
    )
    code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.r", "--key", "id")
    assert code == 1, out
    assert _counts(report) == (0, 0, 1, 1)
    d, ts, tz = report["columns"]
    assert (d["left"]["max"], d["right"]["min"]) == ("9999-12-31", "0001-01-01")
    assert ts["left"]["min"] == "0001-01-01T00:00:00"
    assert tz["left"]["max"] == "9999-12-31T23:59:59.999999+00:00"
    (changed,) = report["examples"]
    assert changed["left"]["d"] == "9999-12-31"


def test_a_value_the_driver_cannot_read_is_an_engine_error(
    pg: Any, capsys: pytest.CaptureFixture[str], postgres_url: str
) -> None:
    from app.engines import EngineError
    from app.engines.postgres import PostgresEngine

    engine = PostgresEngine(postgres_url)
    try:
        with pytest.raises(EngineError, match="query failed"):  # a date before year 1
            engine.query("SELECT DATE '0044-03-15 BC' AS d")
    finally:
        engine.close()


def test_infinite_and_nan_numerics_in_the_profiles(pg: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # both sides' max is Infinity: right minus left of two Decimal infinities raises in Python
    pg(
        "CREATE TABLE l (id int PRIMARY KEY, n numeric, m numeric);"
        " INSERT INTO l VALUES (1, 'Infinity', 'NaN'), (2, 1, '-Infinity'); CREATE TABLE r AS SELECT * FROM l"
    )
    code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.r", "--key", "id")
    assert code == 0, out
    n, m = report["columns"]
    assert (n["left"]["max"], n["deltas"]["max"], n["deltas"]["min"]) == ("Infinity", "nan", 0.0)
    assert m["deltas"]["max"] == "nan"


def test_json_xml_and_point_columns_are_profiled_by_their_text(
    pg: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # PostgreSQL has no equality for json, xml or point: COUNT(DISTINCT) and GROUP BY of them fail; and
    # psycopg reads jsonb as dicts and lists, which cannot key a distribution
    pg(
        "CREATE TABLE l (id int, j json, x xml, p point, b jsonb, a json[]);"
        " INSERT INTO l VALUES (1, '{\"a\": 1}', '<a/>', '(1,2)', '[1, 2]', ARRAY['1'::json]),"
        " (2, '{\"a\": 1}', '<b/>', '(3,4)', '{\"a\": 1}', NULL), (3, '2', NULL, NULL, '[1, 2]', NULL);"
        " CREATE TABLE r AS SELECT * FROM l; UPDATE r SET j = '{\"a\": 2}', b = '[3]' WHERE id = 2"
    )
    code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.r", "--key", "id")
    assert code == 1, out
    assert _counts(report) == (0, 0, 1, 2)
    distinct = {c["name"]: (c["left"]["distinct"], c["right"]["distinct"]) for c in report["columns"]}
    assert distinct == {"j": (2, 3), "x": (2, 2), "p": (2, 2), "b": (2, 2), "a": (1, 1)}
    shown = {d["column"]: d for d in report["distributions"]}
    assert set(shown) == {"j", "x", "p", "b", "a"}
    # the multiset diff groups them; a duplicated key's rows are compared as multisets (EXCEPT ALL)
    code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.r")
    assert code == 1, out
    assert (report["removed"], report["added"]) == (1, 1)
    pg("INSERT INTO l VALUES (3, '3', '<c/>', '(5,6)', '[]', NULL)")
    code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.r", "--key", "id")
    assert code == 1, out
    assert (report["keys"]["left"]["duplicate_keys"], report["duplicates_unmatched"]) == (1, 1)


def test_a_statement_timeout_or_a_server_limit_is_not_a_lost_connection(postgres_url: str) -> None:
    from app.engines import EngineError
    from app.engines.postgres import PostgresEngine

    engine = PostgresEngine(postgres_url)
    try:
        engine.execute("SET statement_timeout = 50")
        with pytest.raises(EngineError) as err:
            engine.query("SELECT pg_sleep(5)")
        assert "statement timeout" in str(err.value) and "lost the connection" not in str(err.value)
        assert err.value.hint is not None and "statement_timeout" in err.value.hint
        with pytest.raises(EngineError) as err:
            engine.query("SELECT " + ", ".join(["1"] * 1700))
        assert "beyond a limit of the server" in str(err.value) and "at most 1664 entries" in str(err.value)
        assert engine.query("SELECT 1 AS one") == [{"one": 1}]  # the session is still there
        other = PostgresEngine(postgres_url)
        pid = engine.query("SELECT pg_backend_pid() AS pid")[0]["pid"]
        other.query(f"SELECT pg_terminate_backend({int(pid)})")
        other.close()
        with pytest.raises(EngineError, match="lost the connection"):  # and now it is not
            engine.query("SELECT 1 AS one")
    finally:
        engine.close()


def test_a_table_wider_than_one_profile_select(pg: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # 5 aggregates a numeric column, at most 1664 a SELECT: 400 columns take two scans a side
    cols = ", ".join(f"c{i} int" for i in range(400))
    pg(
        f"CREATE TABLE l (id int PRIMARY KEY, {cols}); INSERT INTO l (id, c0, c399) VALUES (1, 1, 1), (2, 2, 2);"
        " CREATE TABLE r AS SELECT * FROM l; UPDATE r SET c399 = 5 WHERE id = 2"
    )
    code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.r", "--key", "id")
    assert code == 1, out
    assert _counts(report) == (0, 0, 1, 1)
    last = report["columns"][-1]
    assert (last["name"], last["left"]["max"], last["right"]["max"]) == ("c399", 2, 5)
    code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.r")
    assert code == 1, out
    assert (report["removed"], report["added"], report["columns"][-1]["right"]["sum"]) == (1, 1, 6.0)


def test_citext_values_are_told_apart_by_their_bytes(pg: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # as DuckDB (VARCHAR) does: a key whose case changed is another key, 'b' and 'B' are two keys, two
    # distinct values; citext's own `=` (and its unique index) would take them for one
    pg(
        "CREATE EXTENSION IF NOT EXISTS citext; CREATE TABLE l (k citext, v int); CREATE TABLE r (k citext, v int);"
        " INSERT INTO l VALUES ('Paid', 1), ('b', 2), ('B', 3); INSERT INTO r VALUES ('paid', 1), ('b', 2), ('B', 3)"
    )
    code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.r", "--key", "k")
    assert code == 1, out
    assert _counts(report) == (1, 1, 0, 2)
    assert report["keys"]["left"]["duplicate_keys"] == 0
    assert [e["key"]["k"] for e in report["examples"] if e["kind"] == "removed"] == ["Paid"]
    code, report, out = _diff(capsys, "postgres:public.l", "postgres:public.r")
    assert code == 1, out
    assert (report["removed"], report["added"], report["columns"][0]["left"]["distinct"]) == (1, 1, 3)


def test_a_decimals_tolerance_rounds_once_at_any_number_of_places(
    pg: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # as DuckDB does: 0.4999999996 is 0 at dec:0 (not 0.500000000 first, then 1), and dec:12 tells the
    # twelfth place apart
    pg(
        "CREATE TABLE l (id int PRIMARY KEY, n numeric(30,15)); CREATE TABLE r (id int PRIMARY KEY, n numeric(30,15));"
        " INSERT INTO l VALUES (1, 0.4999999996), (2, 1.000000000001); INSERT INTO r VALUES (1, 1), (2, 1.000000000002)"
    )
    for spec, changed in (("n=dec:0", [1]), ("n=dec:12", [1, 2])):
        code, report, out = _diff(
            capsys,
            "postgres:public.l",
            "postgres:public.r",
            "--key",
            "id",
            "--tolerance",
            spec,
            "--no-profile",
        )
        assert code == 1, out
        assert sorted(e["key"]["id"] for e in report["examples"] if e["kind"] == "changed") == changed, spec


def test_the_distinct_operand_of_types_without_equality_is_their_texts_hash(postgres_url: str) -> None:
    # what a profile counts (app.slo's data-health profiles too, which read no byte view)
    from sqlglot import exp

    from app.engines.postgres import PostgresEngine
    from app.sql.hashing import postgres_distinct_operand

    engine = PostgresEngine(postgres_url)
    try:
        engine.execute(
            "CREATE TABLE t (j json, x xml, p point, a json[]);"
            " INSERT INTO t VALUES ('{\"a\": 1}', '<a/>', '(1,2)', NULL), ('{\"a\": 1}', '<b/>', '(1,2)', NULL),"
            " ('[]', '<b/>', '(3,4)', ARRAY['1'::json])"
        )
        counts = []
        for name, type_ in (("j", "json"), ("x", "xml"), ("p", "point"), ("a", "json[]")):
            operand = postgres_distinct_operand(type_, exp.column(name))
            assert operand is not None, type_
            counts.append(
                engine.query(f"SELECT count(DISTINCT {operand.sql('postgres')}) AS n FROM t")[0]["n"]
            )
        assert counts == [2, 2, 2, 1]
    finally:
        engine.close()


@pytest.mark.parametrize("tolerance", ["n=rel:0.5", "n=abs:1000"])
def test_a_tolerance_never_finds_nan_or_infinity_close_to_a_number(
    pg: Any, capsys: pytest.CaptureFixture[str], tolerance: str
) -> None:
    # PostgreSQL's numeric holds NaN and ±Infinity (DuckDB's DECIMAL does not); `NaN <= NaN` and
    # `inf <= 0.5 * inf` hold, so the exact decimal tolerance must still test finiteness there
    pg(
        "CREATE TABLE l (id int, n numeric); CREATE TABLE r (id int, n numeric);"
        " INSERT INTO l VALUES (1, 'Infinity'), (2, '-Infinity'), (3, 'NaN'), (4, 1), (5, 10);"
        " INSERT INTO r VALUES (1, 5), (2, 'Infinity'), (3, 1), (4, 'NaN'), (5, 10.2);"
    )
    code, report, out = _diff(
        capsys, "postgres:public.l", "postgres:public.r", "--key", "id", "--tolerance", tolerance
    )
    assert (code, report["changed"], report["unchanged"]) == (1, 4, 1), out  # 10 -> 10.2 is within both
