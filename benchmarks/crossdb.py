"""Benchmark: cross-database data-diff (a PostgreSQL table against a DuckDB file) by checksummed key
segments, against reladiff's hashdiff on the same two databases, in one run.

    python benchmarks/crossdb.py                      # 1M rows, 0 / 0.1% / 1% changed
    python benchmarks/crossdb.py --rows 10000000      # 10M rows

Both tables are generated inside their engine (generate_series in PostgreSQL, range() in DuckDB), never
through Python: id BIGINT, name text, amount NUMERIC(12,2), ts timestamp. The DuckDB side then has
`share` of its rows changed (names, amounts), a few deleted and a few added. Measured per case: wall
time and rows that crossed the network (checksum rows and data rows) of
`app.canary.segments.cross_diff`, and of reladiff's HashDiffer (bisection factor 32, threshold 16384,
its defaults; its `rows_downloaded` stat) over the same PostgreSQL server and DuckDB file, with the
ratio. PostgreSQL is a throwaway server from tests/support/services.py (or DATACANARY_POSTGRES_URL).
reladiff is a benchmark-only dependency: pip install reladiff psycopg2-binary (not in pyproject).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _prepare(pg: object, duck_path: Path, rows: int, share: float) -> int:
    from app.engines.duckdb import DuckDBEngine

    pg.execute("DROP TABLE IF EXISTS bench_t")  # type: ignore[attr-defined]
    pg.execute(  # type: ignore[attr-defined]
        "CREATE TABLE bench_t AS SELECT i::bigint AS id, 'name ' || i AS name, "
        "((i % 100000)::numeric(12,2) / 100)::numeric(12,2) AS amount, "
        f"TIMESTAMP '2024-01-01' + i * INTERVAL '1 second' AS ts FROM generate_series(1, {rows}) i"
    )
    pg.execute("ALTER TABLE bench_t ADD PRIMARY KEY (id)")  # type: ignore[attr-defined]
    pg.execute("ANALYZE bench_t")  # type: ignore[attr-defined]
    duck_path.unlink(missing_ok=True)
    duck = DuckDBEngine(str(duck_path))
    duck.execute(
        "CREATE TABLE bench_t AS SELECT i::BIGINT AS id, 'name ' || i AS name, "
        "CAST(CAST(i % 100000 AS DECIMAL(12,2)) / 100 AS DECIMAL(12,2)) AS amount, "
        f"TIMESTAMP '2024-01-01' + i * INTERVAL 1 SECOND AS ts FROM range(1, {rows} + 1) r(i)"
    )
    changed = 0
    if share:
        step = round(1 / share)
        duck.execute(f"UPDATE bench_t SET name = 'changed' WHERE id % {step} = 3")
        duck.execute("DELETE FROM bench_t WHERE id IN (10, 20, 30)")
        duck.execute(f"INSERT INTO bench_t VALUES ({rows + 1}, 'new', 1.00, TIMESTAMP '2030-01-01')")
        changed = rows // step + 4
    duck.close()
    return changed


def _ours(pg_url: str, duck_path: Path) -> tuple[float, object]:
    from app.canary.segments import cross_diff
    from app.engines.duckdb import DuckDBEngine
    from app.engines.postgres import PostgresEngine

    pg, duck = PostgresEngine(pg_url), DuckDBEngine(str(duck_path))
    t0 = time.perf_counter()
    r = cross_diff(pg, "bench_t", duck, "bench_t", ["id"])
    took = time.perf_counter() - t0
    pg.close()
    duck.close()
    return took, r


def _reladiff(pg_url: str, duck_path: Path) -> tuple[float, int, int] | None:
    try:
        from reladiff import HashDiffer, connect_to_table
    except ImportError:
        return None
    t1 = connect_to_table(pg_url, "bench_t", "id", extra_columns=("name", "amount", "ts"))
    t2 = connect_to_table(f"duckdb://{duck_path}", "bench_t", "id", extra_columns=("name", "amount", "ts"))
    differ = HashDiffer(bisection_factor=32, bisection_threshold=16384, threaded=True)
    t0 = time.perf_counter()
    diff = list(differ.diff_tables(t1, t2))
    took = time.perf_counter() - t0
    for t in (t1, t2):  # its open transaction would hold a lock on the table the next case drops
        t.database.close()
    return took, len(diff), int(differ.stats.get("rows_downloaded", 0))


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shares", default="0,0.001,0.01")
    args = parser.parse_args()
    url = os.environ.get("DATACANARY_POSTGRES_URL")
    server = None
    if not url:
        from tests.support.services import start_postgres

        server = start_postgres()
        url = str(server.database("crossdb_bench"))
    from app.engines.postgres import PostgresEngine

    work = Path(tempfile.mkdtemp(prefix="dc-crossdb-"))
    duck_path = work / "bench.duckdb"
    print(f"load: {os.getloadavg()[0]:.2f}; rows {args.rows:,}")
    print(
        f"{'changed':>8} {'ours s':>8} {'ours rows moved':>16} {'queries':>8} {'reladiff s':>10} "
        f"{'reladiff rows':>14} {'time ratio':>10} {'rows ratio':>10}"
    )
    try:
        for share in (float(s) for s in args.shares.split(",")):
            pg = PostgresEngine(url)
            expected = _prepare(pg, duck_path, args.rows, share)
            pg.close()
            took, r = _ours(url, duck_path)
            tr = r.transfer  # type: ignore[attr-defined]
            found = r.differing_rows  # type: ignore[attr-defined]
            assert found == expected, (found, expected)
            moved = tr.total_rows
            other = _reladiff(url, duck_path)
            if other is None:
                print(
                    f"{share:>8.2%} {took:>8.2f} {moved:>16,} {sum(tr.queries):>8}   (reladiff not installed)"
                )
                continue
            rt, rdiff, rrows = other
            print(
                f"{share:>8.2%} {took:>8.2f} {moved:>16,} {sum(tr.queries):>8} {rt:>10.2f} {rrows:>14,} "
                f"{rt / took:>9.1f}x {rrows / max(moved, 1):>9.1f}x   (differing rows: ours {found:,}, "
                f"reladiff diff lines {rdiff:,})"
            )
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
