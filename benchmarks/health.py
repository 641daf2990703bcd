"""Benchmark: the data-health profile of a table against a plain scan of it, in one run.

    python benchmarks/health.py                  # 1M rows
    python benchmarks/health.py --rows 10000000  # 10M rows

Generates a DuckDB file with one table of 10 mixed-type columns, then times (median of --repeat):

  scan      one pass reading every column: count(*) and a hash of each column (the floor: the data
            must be read once)
  profile   app.slo.health_sql.profile_query: nulls and approximate distinct counts of every column,
            mean and a 21-point quantile sketch of the numeric ones, 64 hash buckets of the categorical
            ones, in one pass

and prints both and the ratio. Target: within 5x the scan.
"""

from __future__ import annotations

import argparse
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


def main() -> int:
    import duckdb

    from app.slo.health_sql import profile_query

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
