"""Benchmark: the data-health profile of a table against a plain scan of it, in one run.

    python benchmarks/health.py                  # 1M rows
    python benchmarks/health.py --rows 10000000  # 10M rows

Generates a DuckDB file with one table of 10 mixed-type columns, then times (median of --repeat):

  scan      one pass reading every column: count(*) and a hash of each column (the floor: the data
            must be read once)
  profile   app.slo.health_sql.profile_query: nulls and approximate distinct counts of every column,
            mean and a 21-point quantile sketch of the numeric ones, 64 md5 buckets of the categorical
            ones, in one pass

and prints both and the ratio. Target: within 5x the scan: met with DuckDB's HASH() buckets (3.6x to
4.1x at 1M rows), not with the md5 buckets every engine computes alike (11.6x to 12.8x from md5's hex
text, 6.6x to 8.2x from md5_number, 2026-12-07; docs/slo.md).

Then the same table on PostgreSQL (DATACANARY_BENCH_POSTGRES_URL, a database to create a table in, else
a throwaway server from Debian's binaries as the tests start one; skipped, saying so, when neither is
there), --pg-rows rows, median of --repeat:

  count(*)  a plain count(*) of the table (the floor)
  profile   the PostgreSQL profile query (exact distinct counts and quantiles, 64 md5 buckets per
            categorical column, each counted by COUNT(*) FILTER (WHERE bucket = k))
and, for the categorical buckets alone, the ways of counting them in one scan:
  per-bucket COUNT(CASE ...)     one COUNT(CASE WHEN b = k THEN 1 END) per bucket (what Spark uses)
  per-bucket COUNT(*) FILTER     one COUNT(*) FILTER (WHERE b = k) per bucket (what PostgreSQL uses)
  GROUPING SETS                  one GROUP BY GROUPING SETS ((b0), (b1), ...) over the buckets
  the md5 buckets, no counting   the cost of computing the buckets at all
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GENERATE = """
CREATE TABLE t AS SELECT
  i AS id, 'customer_' || (i % 50000) AS name, ((i * 7) % 1000)::INTEGER AS qty, (i * 1.37)::DOUBLE AS amount,
  TIMESTAMP '2024-01-01' + to_seconds(i) AS ts, DATE '2020-01-01' + (i % 1000)::INTEGER AS d,
  ['placed', 'paid', 'shipped', 'done'][1 + i % 4] AS status, (i % 3 = 0) AS flag,
  (i % 9973)::DECIMAL(10, 2) AS price, CASE WHEN i % 11 = 0 THEN NULL ELSE md5(i::VARCHAR) END AS note
FROM range({rows}) r(i)
"""


def _time(conn: object, sql: str, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        conn.execute(sql).fetchall()  # type: ignore[attr-defined]
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


PG_GENERATE = """
CREATE TABLE t AS SELECT
  i::bigint AS id, 'customer_' || (i % 50000) AS name, ((i * 7) % 1000)::integer AS qty,
  (i * 1.37)::double precision AS amount, TIMESTAMP '2024-01-01' + i * INTERVAL '1 second' AS ts,
  DATE '2020-01-01' + (i % 1000)::integer AS d, (ARRAY['placed', 'paid', 'shipped', 'done'])[1 + i % 4] AS status,
  (i % 3 = 0) AS flag, (i % 9973)::numeric(10, 2) AS price,
  CASE WHEN i % 11 = 0 THEN NULL ELSE md5(i::text) END AS note
FROM generate_series(0, {last}) AS i
"""


def _pg_time(engine: object, sql: str, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        engine.query(sql)  # type: ignore[attr-defined]
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def postgres(rows: int, repeat: int) -> None:
    """The PostgreSQL figures (see the module's docstring)."""
    from sqlglot import exp

    from app.engines.postgres import PostgresEngine
    from app.slo import health_sql
    from app.slo.health import BUCKETS

    url = os.environ.get("DATACANARY_BENCH_POSTGRES_URL")
    server = None
    try:
        if not url:
            from tests.support.services import PostgresServer

            server = PostgresServer()
            url = server.database("bench_health")
        engine = PostgresEngine(url)
    except Exception as exc:  # no server: a line saying so, not a crash
        sys.stdout.write(f"postgres: skipped, no server reachable ({type(exc).__name__}: {str(exc)[:160]})\n")
        if server is not None:
            server.stop()
        return
    try:
        engine.execute("DROP TABLE IF EXISTS t")
        start = time.perf_counter()
        engine.execute(PG_GENERATE.format(last=rows - 1))
        engine.execute("VACUUM ANALYZE t")
        generated = time.perf_counter() - start
        columns = engine.columns("t")
        floor = _pg_time(engine, "SELECT count(*) FROM t", repeat)
        profile = _pg_time(engine, health_sql.profile_query("t", columns, "postgres"), repeat)
        cats = [n for n, t in columns if health_sql.kind(t, "postgres") == "categorical"]
        bucket_of = {
            c: health_sql.bucket(exp.column(c, quoted=True), "postgres").sql("postgres") for c in cats
        }
        inner = (
            "SELECT "
            + ", ".join(f"{b} AS b{i}" for i, b in enumerate(bucket_of.values()))
            + " FROM t OFFSET 0"
        )
        ways = {}
        for name, agg in (
            ("per-bucket COUNT(CASE ...)", "COUNT(CASE WHEN b{i} = {k} THEN 1 END)"),
            ("per-bucket COUNT(*) FILTER", "COUNT(*) FILTER (WHERE b{i} = {k})"),
        ):
            sel = ", ".join(agg.format(i=i, k=k) for i in range(len(cats)) for k in range(BUCKETS))
            ways[name] = _pg_time(engine, f"SELECT {sel} FROM ({inner}) s", repeat)
        sets = ", ".join(f"(b{i})" for i in range(len(cats)))
        cols = ", ".join(f"b{i}" for i in range(len(cats)))
        ways["GROUPING SETS"] = _pg_time(
            engine, f"SELECT {cols}, count(*) FROM ({inner}) s GROUP BY GROUPING SETS ({sets})", repeat
        )
        ways["the md5 buckets, no counting"] = _pg_time(
            engine, f"SELECT {', '.join(f'count(b{i})' for i in range(len(cats)))} FROM ({inner}) s", repeat
        )
        version = re.sub(r" on .*", "", str(engine.query("SELECT version() AS v")[0]["v"]))
    finally:
        engine.close()
        if server is not None:
            server.stop()
    sys.stdout.write(
        f"postgres ({version}): rows {rows:,}, {len(columns)} columns ({len(cats)} categorical),"
        f" generated in {generated:.1f} s\n"
        f"  count(*) {floor:8.3f} s\n"
        f"  profile  {profile:8.3f} s\n"
        f"  ratio    {profile / floor:8.2f}x the count(*)\n"
        f"  the categorical buckets alone, one scan:\n"
        + "".join(f"    {name:<28} {t:8.3f} s\n" for name, t in ways.items())
    )


def main() -> int:
    import duckdb

    from app.slo.health_sql import profile_query

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pg-rows", type=int, default=1_000_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        conn = duckdb.connect(str(Path(tmp) / "bench.duckdb"))
        conn.execute(f"SET threads = {args.threads}")
        conn.execute(GENERATE.format(rows=args.rows))
        columns = [(d[0], str(d[1])) for d in conn.execute("SELECT * FROM t LIMIT 0").description]
        scan = "SELECT COUNT(*), " + ", ".join(f'SUM(HASH("{c}"))' for c, _ in columns) + " FROM t"
        floor = _time(conn, scan, args.repeat)
        profile = _time(conn, profile_query("t", columns), args.repeat)
        conn.close()
    sys.stdout.write(
        f"rows {args.rows:,}, {len(columns)} columns, threads {args.threads}\n"
        f"  scan     {floor:8.3f} s\n"
        f"  profile  {profile:8.3f} s\n"
        f"  ratio    {profile / floor:8.2f}x the scan\n"
    )
    sys.stdout.flush()
    if not args.no_postgres:
        postgres(args.pg_rows, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
