"""`datacanary data-diff` in place on Spark over the values Spark reads or prints its own way: nested
values, decimals and timestamps read back into reports, rows that fail while Spark computes them; and a
DuckDB table diffed against Spark (checksummed segments) over floats and bytes.
Each table pair is written once as Parquet (by DuckDB) and diffed by Spark and by DuckDB, whose answers
must agree with each other and with what the data holds."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from app.cli import main

_pairs = itertools.count()


@pytest.fixture
def diff(
    tmp_path: Path, spark_session: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Any:
    """A function: `diff(left_sql, right_sql, *args)` writes the two DuckDB SELECTs as Parquet and
    returns {"spark": (exit code, JSON report), "duckdb": (...)}, keyed by `id` unless `args` say."""
    monkeypatch.setattr("app.engines.spark._session", lambda master: spark_session)

    def run(left: str, right: str, *args: str) -> dict[str, tuple[int, dict[str, Any]]]:
        n = next(_pairs)
        paths = [tmp_path / f"{side}{n}.parquet" for side in "lr"]
        with duckdb.connect() as con:
            for sql, path in zip((left, right), paths, strict=True):
                con.execute(f"COPY ({sql}) TO '{path}'")
        key = [] if "--key" in args else ["--key", "id"]
        out = {}
        for engine, specs in (("spark", [f"spark:parquet:{p}" for p in paths]), ("duckdb", map(str, paths))):
            code = main(["data-diff", *specs, *key, *args, "--format", "json"])
            printed = capsys.readouterr()
            assert "Traceback" not in printed.err, printed.err
            out[engine] = (code, json.loads(printed.out) if printed.out.strip() else {})
        return out

    return run


def _counts(report: dict[str, Any]) -> tuple[int, int, int, int]:
    return report["removed"], report["added"], report["changed"], report["unchanged"]


def test_nested_values_spark_prints_alike_are_told_apart(diff: Any) -> None:
    # Spark casts both structs to {x, y, z}, both lists to [a, b], [NULL] and ['null'] to [null]
    got = diff(
        "SELECT 1 AS id, {'a': 'x, y', 'b': 'z'} AS s, ['a, b'] AS l, [NULL::VARCHAR] AS n,"
        " [TIMESTAMP '2024-01-01 10:00:00.123456'] AS t"
        " UNION ALL SELECT 2, {'a': 'p', 'b': 'q'}, ['c'], ['d'], []",
        "SELECT 1 AS id, {'a': 'x', 'b': 'y, z'} AS s, ['a', 'b'] AS l, ['null'] AS n,"
        " [TIMESTAMP '2024-01-01 10:00:00.123457'] AS t"
        " UNION ALL SELECT 2, {'a': 'p', 'b': 'q'}, ['c'], ['d'], []",
    )
    for engine, (code, report) in got.items():
        assert code == 1 and _counts(report) == (0, 0, 1, 1), engine
        # Spark found `t` changed only: without it, the tables were "identical" (exit 0)
        assert {c["name"]: c["changed"] for c in report["columns"]} == {"s": 1, "l": 1, "n": 1, "t": 1}
    # the value distributions count each value apart too (not {x, y, z} once on each side)
    _, spark = got["spark"]
    [struct] = [d for d in spark["distributions"] if d["column"] == "s"]
    assert {v["value"]: (v["left"], v["right"]) for v in struct["values"]} == {
        '{"a":"p","b":"q"}': (1, 1),
        '{"a":"x, y","b":"z"}': (1, 0),
        '{"a":"x","b":"y, z"}': (0, 1),
    }


@pytest.fixture
def machine_zone(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The test process runs in Asia/Kolkata (UTC+05:30) meanwhile, as a laptop there would."""
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_instants_and_decimals_read_back_as_duckdb_shows_them(diff: Any, machine_zone: Any) -> None:
    rows = "SELECT {} AS id, TIMESTAMPTZ '{}' AS ts, 0.0000000001::DECIMAL(30, 10) AS d, {} AS v"
    first, second = (
        rows.format(1, "0001-01-01 00:00:00+00", "{}"),
        rows.format(2, "2024-01-01 10:00:00+00", 2),
    )
    got = diff(f"{first.format(1)} UNION ALL {second}", f"{first.format(7)} UNION ALL {second}")
    (code, spark), (_, duck) = got["spark"], got["duckdb"]
    assert code == 1  # was exit 3 on Spark: pyspark cannot read 0001-01-01 in a local zone
    assert spark["examples"] == duck["examples"]
    assert spark["examples"][0]["left"] == {
        "id": 1,
        "ts": "0001-01-01T00:00:00+00:00",
        "d": "0.0000000001",
        "v": 1,
    }
    # not 2024-01-01T15:30:00 (the machine's wall clock, no offset), nor 0.000000000100
    columns = {c["name"]: c for c in spark["columns"]}
    assert columns["ts"]["left"]["max"] == "2024-01-01T10:00:00+00:00"
    assert columns["d"]["left"]["min"] == "0.0000000001"
    assert [c["left"] for c in spark["columns"]] == [c["left"] for c in duck["columns"]]


def test_a_relation_failing_while_spark_reads_it_is_an_engine_error(
    spark_session: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.engines.spark._session", lambda master: spark_session)
    # the view parses and plans; its rows fail only when Spark computes them (ANSI casts)
    spark_session.sql(
        "CREATE OR REPLACE TEMP VIEW dc_bad_rows AS"
        " SELECT CAST(s AS INT) AS id, 1 AS v FROM VALUES ('1'), ('x') AS t(s)"
    )
    code = main(["data-diff", "spark:dc_bad_rows", "spark:dc_bad_rows", "--key", "id"])
    printed = capsys.readouterr()
    # was exit 3, "datacanary: internal error: NumberFormatException: ... this is a bug in datacanary"
    assert code == 2 and "internal error" not in printed.err
    assert "datacanary: error: spark: query failed: [CAST_INVALID_INPUT]" in printed.err


def _cross(tmp_path: Path, capsys: pytest.CaptureFixture[str], left: str, right: str) -> dict[str, Any]:
    """Exit code and counts of the DuckDB table `left` diffed (cross-engine, by checksummed segments)
    against `right` read by Spark from Parquet, and against `right` in DuckDB itself."""
    file = tmp_path / "w.duckdb"
    with duckdb.connect(str(file)) as con:
        con.execute(f"CREATE TABLE l AS {left}")
        con.execute(f"CREATE TABLE r AS {right}")
        con.execute(f"COPY r TO '{tmp_path / 'r.parquet'}'")
    answers = {}
    for other in (f"spark:parquet:{tmp_path / 'r.parquet'}", f"duckdb:{file}:main.r"):
        code = main(["data-diff", f"duckdb:{file}:main.l", other, "--key", "id", "--format", "json"])
        printed = capsys.readouterr()
        assert "internal error" not in printed.err, printed.err
        answers[other.split(":")[0]] = (code, _counts(json.loads(printed.out)))
    return answers


@pytest.fixture
def cross_engine(spark_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.engines.spark._session", lambda master: spark_session)


def test_a_duckdb_table_against_spark_with_floats_no_decimal_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cross_engine: None
) -> None:
    # NaN, ±inf and 1e300 have no DECIMAL(38, 6): was exit 3, "Could not cast value nan to DECIMAL(38,6)"
    values = "('nan'::DOUBLE), ('inf'::DOUBLE), ('-inf'::DOUBLE), (1e300), (-0.0::DOUBLE), (1.5), (NULL)"
    left = f"SELECT row_number() OVER () AS id, f FROM (VALUES {values}) t(f)"
    right = f"SELECT id, CASE WHEN id = 6 THEN 'nan'::DOUBLE ELSE f END AS f FROM ({left})"
    assert _cross(tmp_path, capsys, left, right) == {"spark": (1, (0, 0, 1, 6)), "duckdb": (1, (0, 0, 1, 6))}


def test_a_duckdb_table_against_spark_compares_bytes_by_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cross_engine: None
) -> None:
    # DuckDB casts bytes to text escaped (\x00\x01), Spark decodes them as UTF-8: every row was changed
    left = "SELECT i AS id, ('\\x00\\x01' || i::VARCHAR)::BLOB AS b FROM range(5) t(i)"
    right = "SELECT id, CASE WHEN id = 3 THEN '\\xFF'::BLOB ELSE b END AS b FROM l"
    assert _cross(tmp_path, capsys, left, right) == {"spark": (1, (0, 0, 1, 4)), "duckdb": (1, (0, 0, 1, 4))}


def test_rows_under_a_duplicated_key_with_a_map_are_compared_as_multisets(diff: Any) -> None:
    rows = "SELECT * FROM (VALUES (1, MAP {{'a': 1}}), (1, MAP {{'a': {}}}), (2, MAP {{'a': {}}})) t(id, m)"
    got = diff(rows.format(1, 2), rows.format(9, 3))
    for engine, (code, report) in got.items():
        # was exit 2 on Spark: "Cannot have MAP type columns in a set operation"
        assert code == 1, engine
        assert (_counts(report), report["duplicates_unmatched"]) == ((0, 0, 1, 0), 2), engine
