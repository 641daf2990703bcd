"""Cross-database data-diff by checksummed key segments, against real DuckDB, PostgreSQL and Spark."""

from __future__ import annotations

from typing import Any

import pytest

from app.canary import segments
from app.canary.segments import cross_diff
from app.engines.duckdb import DuckDBEngine

# One logical table, spelled in each engine: NULLs, unicode text, decimals, floats, instants, dates.
COLUMNS = {
    "duckdb": "id BIGINT, code VARCHAR, amount DECIMAL(12,2), rate DOUBLE, ts TIMESTAMPTZ, day DATE, ok BOOLEAN",
    "postgres": "id bigint, code text, amount numeric(12,2), rate double precision, ts timestamptz, day date, "
    "ok boolean",
    "spark": "id BIGINT, code STRING, amount DECIMAL(12,2), rate DOUBLE, ts TIMESTAMP, day DATE, ok BOOLEAN",
}
ROWS = [
    "(1, 'a', 1.50, 0.1, {ts}'2024-03-01 10:00:00+00:00', DATE '2024-03-01', TRUE)",
    "(2, 'Grüße ✓', -0.01, 1e10, {ts}'1999-12-31 23:59:59.123456+00:00', DATE '1999-12-31', FALSE)",
    "(3, NULL, NULL, NULL, NULL, NULL, NULL)",
    "(4, '', 0.00, -2.5, {ts}'2024-06-30 22:30:00+00:00', DATE '2024-06-30', TRUE)",
    "(5, 'a|b', 99999.99, 3.0, {ts}'2024-01-01 00:00:00.5+00:00', DATE '2024-01-01', NULL)",
]


def _create(engine: Any, name: str, rows: list[str]) -> None:
    engine.execute(f"CREATE TABLE {name} ({COLUMNS[engine.dialect]})")
    engine.execute(f"INSERT INTO {name} VALUES {_values(engine.dialect, rows)}")


def _values(dialect: str, rows: list[str]) -> str:
    """The rows with their instants spelled for `dialect` (each one with its UTC offset)."""
    return ", ".join(r.replace("{ts}", "TIMESTAMP " if dialect == "spark" else "TIMESTAMPTZ ") for r in rows)


def _duck() -> DuckDBEngine:
    e = DuckDBEngine()
    e.execute("SET TimeZone = 'Europe/Berlin'")  # instants must not depend on the session's zone
    return e


@pytest.fixture
def pg(postgres_url: str):  # type: ignore[no-untyped-def]
    from app.engines.postgres import PostgresEngine

    e = PostgresEngine(postgres_url)
    e.execute("SET TimeZone = 'America/New_York'")
    yield e
    e.close()


@pytest.fixture
def spark(spark_session):  # type: ignore[no-untyped-def]
    from app.engines.spark import SparkEngine

    return SparkEngine(session=spark_session)


def _digests(engine: Any, relation: str) -> set[tuple[int, int]]:
    from app.canary import digest as d

    side = segments._side(engine, relation, engine.columns(relation))
    names = [n for n in side.kinds if n != "id"]
    normals = d.plan_normals(["id", *names], side.kinds, side.kinds)
    rows = side.query(segments._base(side, ["id"], normals, ranged=False))
    return {(int(r["__dc_pos"]), int(r["__dc_h"])) for r in rows}


def _spark_view(spark: Any, name: str, rows: list[str], columns: str = COLUMNS["spark"]) -> str:
    """A temporary view of typed `rows` (no managed table: nothing left behind on disk)."""
    cols = [c.strip().split(" ", 1) for c in columns.split(", ")]
    casts = ", ".join(f"CAST(c{i} AS {t}) AS {n}" for i, (n, t) in enumerate(cols))
    values = _values("spark", rows)
    spark.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {casts} FROM VALUES {values} "
        f"AS v({', '.join(f'c{i}' for i in range(len(cols)))})"
    )
    return name


def test_row_digests_are_identical_in_duckdb_postgres_and_spark(pg: Any, spark: Any) -> None:
    duck = _duck()
    _create(duck, "t", ROWS)
    _create(pg, "t", ROWS)
    table = _spark_view(spark, "dc_digest_t", ROWS)
    expected = _digests(duck, "t")
    assert len(expected) == len(ROWS)
    assert _digests(pg, "t") == expected
    assert _digests(spark, table) == expected


def _diff_counts(r: Any) -> tuple[int, int, int]:
    return r.added, r.removed, r.changed


def test_identical_engines_tables_cost_only_checksums(pg: Any) -> None:
    duck = _duck()
    _create(duck, "t", ROWS)
    _create(pg, "t", ROWS)
    r = cross_diff(duck, "t", pg, "t", ["id"])
    assert r.identical and r.rows_left == r.rows_right == len(ROWS)
    assert r.transfer is not None and r.transfer.rows == (0, 0)
    assert r.columns and not r.schema  # numeric(12,2) and DECIMAL(12,2) are the same column


GEN = {
    "duckdb": "SELECT i AS id, 'name ' || i AS name, "
    "CAST(CAST(i % 1000 AS DECIMAL(12,2)) / 4 AS DECIMAL(12,2)) AS amount, "
    "TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL 1 SECOND AS ts FROM range(1, {n} + 1) r(i)",
    "postgres": "SELECT i::bigint AS id, 'name ' || i AS name, ((i % 1000)::numeric(12,2) / 4)::numeric(12,2) "
    "AS amount, TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL '1 second' AS ts FROM generate_series(1, {n}) i",
}


@pytest.mark.slow
def test_a_few_edits_in_200k_rows_are_found_exactly_moving_few_rows(pg: Any) -> None:
    duck = _duck()
    n = 200_000
    duck.execute("CREATE TABLE t AS " + GEN["duckdb"].format(n=n))
    pg.execute("CREATE TABLE t AS " + GEN["postgres"].format(n=n))
    same = cross_diff(duck, "t", pg, "t", ["id"])
    assert same.identical, same.to_json()
    assert same.transfer is not None and same.transfer.rows == (0, 0)
    assert sum(same.transfer.segment_rows) < 2 * 1024
    pg.execute("UPDATE t SET name = 'renamed' WHERE id IN (7, 99999)")
    pg.execute("UPDATE t SET amount = amount + 0.01 WHERE id = 150000")
    pg.execute("DELETE FROM t WHERE id IN (1, 123456)")
    pg.execute("INSERT INTO t VALUES (500000, 'new', 1.00, now()), (200001, 'new', 2.00, now())")
    r = cross_diff(duck, "t", pg, "t", ["id"])
    assert _diff_counts(r) == (2, 2, 3)
    assert r.unchanged == n - 2 - 3
    assert {c.name: c.changed for c in r.columns} == {"name": 2, "amount": 1, "ts": 0}
    assert r.transfer is not None and max(r.transfer.rows) <= 32 * 7  # tens of rows per edit, not 200k
    # a text key: segments by key digest, the same answer
    t = cross_diff(duck, "t", pg, "t", ["name", "id"])
    assert (t.added, t.removed, t.changed) == (4, 4, 1)


def test_postgres_against_spark_text_keys_and_instants(pg: Any, spark: Any) -> None:
    left = [r.replace("(", "(", 1) for r in ROWS]
    right = [*ROWS[:3], ROWS[3].replace("-2.5", "-2.75"), "(9, 'z', 1.00, 1.0, NULL, NULL, TRUE)"]
    _create(pg, "t", left)
    table = _spark_view(spark, "dc_pg_spark_t", right)
    r = cross_diff(pg, "t", spark, table, ["code"])
    # code NULL (id 3) is a NULL key on both sides; 'a|b' only left; 'z' only right; '' changed rate
    assert _diff_counts(r) == (1, 1, 1)
    assert r.null_keys == 2 and not r.identical
    assert [e.key for e in r.examples if e.kind == "changed"] == [{"code": ""}]


def test_duckdb_against_spark_decimal_versus_float_and_composite_key(spark: Any) -> None:
    duck = _duck()
    duck.execute("CREATE TABLE t (a VARCHAR, b INTEGER, price DECIMAL(10,2), ts TIMESTAMP)")
    duck.execute(
        "INSERT INTO t VALUES ('x', 1, 1.10, '2024-01-01 12:00:00'), ('x', 2, 2.25, NULL), "
        "('y', 1, 0.10, '2024-05-05 05:05:05.000001')"
    )
    cols = "a STRING, b BIGINT, price DOUBLE, ts TIMESTAMP_NTZ"
    rows = [
        "('x', 1, 1.1, TIMESTAMP_NTZ '2024-01-01 12:00:00')",
        "('x', 2, 2.25, NULL)",
        "('y', 1, 0.1, TIMESTAMP_NTZ '2024-05-05 05:05:05.000001')",
    ]
    _spark_view(spark, "dc_duck_spark_t", rows, cols)
    same = cross_diff(duck, "t", spark, "dc_duck_spark_t", ["a", "b"])
    # DECIMAL against DOUBLE is a retyped column, but 1.10 and 1.1 are the same value: no row moves
    assert [(s.column, s.change) for s in same.schema] == [("price", "retyped")]
    assert same.differing_rows == 0 and same.transfer is not None and same.transfer.rows == (0, 0)
    _spark_view(
        spark,
        "dc_duck_spark_u",
        [rows[0], rows[1].replace("2.25", "2.26"), rows[2], "('y', 2, 0.3, NULL)"],
        cols,
    )
    r = cross_diff(duck, "t", spark, "dc_duck_spark_u", ["a", "b"])
    assert _diff_counts(r) == (1, 0, 1)
    assert [c.name for c in r.columns if c.changed] == ["price"]


def test_a_missing_key_column_is_a_clear_error() -> None:
    a, b = _duck(), _duck()
    for e in (a, b):
        e.execute("CREATE TABLE t (id INTEGER, v INTEGER)")
    with pytest.raises(ValueError, match="key column 'nope' is not in the left table"):
        cross_diff(a, "t", b, "t", ["nope"])
