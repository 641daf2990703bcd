"""Benchmark: `datacanary backfill` of one day against `datacanary run` of the whole model, as whole
processes, on a windowed model over `--rows` source rows spread over a year (a day is ~1/365 of them).

  run       `datacanary run --env prod --force` (rebuilds the model whole: the baseline)
  backfill  `datacanary backfill daily_orders --window D..D+1 --force` (copies the rows outside the
            window, recomputes one day, audits, reconciles the window, swaps the view)

Both measured in the same process tree, on the same file, `--repeat` times each (the median).

    python benchmarks/backfill.py                  # 5,000,000 rows
    python benchmarks/backfill.py --rows 500000    # quicker
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """
name: bench
sources:
  raw_orders:
    columns: {order_id: bigint, customer_id: bigint, day: date, amount: double}
environments:
  prod:
    parameters: {data: prod.duckdb, schema: analytics}
windows:
  daily_orders:
    column: day
"""
MODEL = """select day, customer_id, count(*) as orders, sum(amount) as revenue
from raw_orders
where day >= :window_start and day < :window_end
group by day, customer_id
"""


def _time(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    opts = ap.parse_args()
    import duckdb

    cli = [sys.executable, "-m", "app.cli"]
    common = ["--env", "prod", "--state", "state.sqlite", "-q"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "models").mkdir()
        (root / "datacanary.yml").write_text(CONFIG)
        (root / "models" / "daily_orders.sql").write_text(MODEL)
        conn = duckdb.connect(str(root / "prod.duckdb"))
        conn.execute(
            f"CREATE TABLE raw_orders AS SELECT range AS order_id, range % 5000 AS customer_id,"
            f" DATE '2026-01-01' + CAST(range % 365 AS INTEGER) AS day, (range % 100) * 1.5 AS amount"
            f" FROM range({opts.rows})"
        )
        conn.close()
        subprocess.run([*cli, "run", *common], cwd=root, check=True, capture_output=True)
        runs = [_time([*cli, "run", "--force", *common], root) for _ in range(opts.repeat)]
        backfill = [
            "backfill",
            "daily_orders",
            "--window",
            "2026-06-01..2026-06-02",
            "--reason",
            "bench",
            "--actor",
            "bench",
            "--force",
        ]
        fills = [_time([*cli, *backfill, *common], root) for _ in range(opts.repeat)]
        (rows,) = (
            duckdb.connect(str(root / "prod.duckdb"), read_only=True)
            .execute("SELECT COUNT(*) FROM analytics.daily_orders")
            .fetchone()
        )
    r, b = statistics.median(runs), statistics.median(fills)
    print(f"source rows {opts.rows:,}, model rows {rows:,}, median of {opts.repeat}")
    print(f"run (whole model, baseline)  {r:7.2f} s")
    print(f"backfill (one day)           {b:7.2f} s   ratio {b / r:.2f} of run")


if __name__ == "__main__":
    main()
