"""Benchmark: data-diff in place on PostgreSQL and on Spark (local), against a scan of both tables on the
same engine in the same run, and on PostgreSQL against reladiff's joindiff and hashdiff on the same server.

    python benchmarks/engines.py                                   # postgres and spark, 1M and 10M rows
    python benchmarks/engines.py --engine spark --rows 10000000,50000000
    python benchmarks/engines.py --engine postgres --rows 1000000 --shares 0.001,0.01,0.1

The data is generated in the engine (generate_series; spark.range written as Parquet), never through
Python: `l` with 6 mixed-type columns and `r` = `l` with a `share` of the rows changed in one or two
columns, 0.1% of them deleted and as many inserted. PostgreSQL is a throwaway server started like the
tests' (tests/support/services.py), or DATACANARY_BENCH_POSTGRES_URL (a database to create tables in).

  floor       PostgreSQL: `SELECT count(*)` of each table (a full scan each). Spark: count(*) and
              sum(xxhash64(*)) (as a decimal) of both Parquet datasets (a count alone is read from Parquet metadata)
  datacanary  PostgreSQL: `datacanary data-diff postgres:public.l postgres:public.r --key id` as a whole
              process, with `--no-profile` (the row diff, what reladiff computes) and with the profiles.
              Spark: `reconcile` in process on the benchmark's session (a process would start its own JVM)
  reladiff    joindiff and hashdiff (`reladiff.diff_tables`, every column compared, results consumed) on
              the same server. reladiff is not a datacanary dependency: install it into your venv with
              `pip install reladiff psycopg2-binary` (reladiff's PostgreSQL driver is psycopg2); the
              benchmark skips it, saying so, when it cannot be imported

Spark memory: peak RSS of the driver's Python process and of its JVM (VmHWM), local[2], 4 GB driver.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work"
sys.path.insert(0, str(ROOT))


def _changed(share: float) -> tuple[int, int]:
    """Every `step`-th row changed; every `gone`-th row deleted (0.1%)."""
    return max(1, round(1 / share)), 1000


def pg_generate(url: str, rows: int, share: float) -> None:
    import psycopg

    step, gone = _changed(share)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS l; DROP TABLE IF EXISTS r")
        c.execute(
            "CREATE TABLE l AS SELECT g::bigint AS id, 'customer_' || (g % 50000) AS name,"
            " (g * 7 % 1000)::int AS qty, round((g * 1.37)::numeric, 2) AS amount,"
            " TIMESTAMP '2024-01-01' + g * INTERVAL '1 second' AS ts,"
            " (ARRAY['new','paid','shipped','done'])[g % 4 + 1] AS status"
            f" FROM generate_series(1, {rows}) g"
        )
        c.execute(
            "CREATE TABLE r AS SELECT id, name,"
            f" CASE WHEN id % {step} = 0 THEN qty + 1 ELSE qty END AS qty,"
            f" CASE WHEN id % {step * 2} = 0 THEN amount + 0.01 ELSE amount END AS amount, ts, status"
            f" FROM l WHERE id % {gone} <> 7"
            f" UNION ALL SELECT id + {rows}, name, qty, amount, ts, status FROM l WHERE id % {gone} = 7"
        )
        c.execute(
            "ALTER TABLE l ADD PRIMARY KEY (id); ALTER TABLE r ADD PRIMARY KEY (id); ANALYZE l; ANALYZE r"
        )


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def pg_floor(url: str) -> float:
    import psycopg

    with psycopg.connect(url) as c:
        return timed(
            lambda: (
                c.execute("SELECT count(*) FROM l").fetchone(),
                c.execute("SELECT count(*) FROM r").fetchone(),
            )
        )[0]


def pg_datacanary(url: str, profiles: bool) -> tuple[float, int]:
    env = dict(os.environ, DATACANARY_POSTGRES_URL=url)
    cmd = [sys.executable, "-m", "app.cli", "data-diff", "postgres:public.l", "postgres:public.r", "--key", "id",
           "--format", "json", *([] if profiles else ["--no-profile"])]  # fmt: skip
    seconds, done = timed(lambda: subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True))
    if done.returncode not in (0, 1):
        raise SystemExit(f"data-diff failed: {done.stderr}")
    import json

    r = json.loads(done.stdout)
    return seconds, r["added"] + r["removed"] + r["changed"]


def pg_reladiff(url: str, algorithm: str) -> tuple[float, int] | str:
    try:
        import reladiff  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        return f"skipped: reladiff cannot be imported ({exc}); pip install reladiff psycopg2-binary"
    cols = ("name", "qty", "amount", "ts", "status")

    def run() -> int:
        a = reladiff.connect_to_table(url, "l", "id", extra_columns=cols)
        b = reladiff.connect_to_table(url, "r", "id", extra_columns=cols)
        try:
            return len(list(reladiff.diff_tables(a, b, algorithm=algorithm)))
        finally:  # an open connection would hold a lock that the next DROP TABLE waits on
            for seg in (a, b):
                seg.database.close()

    try:
        return timed(run)
    except Exception as exc:  # a competitor's failure is a figure to report, not a crash
        return f"failed: {type(exc).__name__}: {str(exc)[:200]}"


def postgres(rows_list: list[int], shares: list[float]) -> None:
    from tests.support.services import PostgresServer

    url = os.environ.get("DATACANARY_BENCH_POSTGRES_URL")
    server = None
    if not url:
        server = PostgresServer()
        url = server.database("bench")
    try:
        for rows in rows_list:
            for share in shares if rows == rows_list[0] else [shares[len(shares) // 2]]:
                gen, _ = timed(lambda r=rows, s=share: pg_generate(url, r, s))
                floor = pg_floor(url)
                print(f"postgres {rows:>11,} rows, {share:.1%} changed (generated in {gen:.1f} s)")
                print(f"  floor: count(*) of both     {floor:8.2f} s")
                for profiles in (False, True):
                    s, n = pg_datacanary(url, profiles)
                    what = "data-diff" + ("" if profiles else " --no-profile")
                    print(f"  {what:<27} {s:8.2f} s  {s / floor:6.1f}x floor  ({n:,} differing rows)")
                for algorithm in ("joindiff", "hashdiff"):
                    got = pg_reladiff(url, algorithm)
                    if isinstance(got, str):
                        print(f"  reladiff {algorithm:<18} {got}")
                    else:
                        took = f"{got[0]:8.2f} s  {got[0] / floor:6.1f}x floor"
                        print(f"  reladiff {algorithm:<18} {took}  ({got[1]:,} diff lines)")
                sys.stdout.flush()
    finally:
        if server is not None:
            server.stop()


def _jvm_peak(session: Any) -> int:
    pid = session.sparkContext._jvm.ProcessHandle.current().pid()
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def spark(rows_list: list[int], shares: list[float]) -> None:
    from pyspark.sql import SparkSession

    from app.canary import sqltext as t
    from app.canary.diff import reconcile
    from app.engines.spark import SparkEngine

    session = (
        SparkSession.builder.master("local[2]").appName("datacanary-bench").config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "4g").config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.session.timeZone", "UTC").getOrCreate()
    )  # fmt: skip
    session.sparkContext.setLogLevel("ERROR")
    engine = SparkEngine(session=session)
    WORK.mkdir(parents=True, exist_ok=True)
    for rows in rows_list:
        for share in shares if rows == rows_list[0] else [shares[len(shares) // 2]]:
            step, gone = _changed(share)
            base = session.range(1, rows + 1).selectExpr(
                "id", "concat('customer_', id % 50000) AS name", "CAST(id * 7 % 1000 AS INT) AS qty",
                "CAST(id * 1.37 AS DECIMAL(12,2)) AS amount",
                "timestamp_seconds(1704067200 + id) AS ts",
                "element_at(array('new','paid','shipped','done'), CAST(id % 4 + 1 AS INT)) AS status",
            )  # fmt: skip
            head = base.where(f"id % {gone} <> 7").selectExpr(
                "id", "name", f"CASE WHEN id % {step} = 0 THEN qty + 1 ELSE qty END AS qty",
                f"CASE WHEN id % {step * 2} = 0 THEN amount + 0.01 ELSE amount END AS amount", "ts", "status",
            ).unionByName(
                base.where(f"id % {gone} = 7").selectExpr(f"id + {rows} AS id", "name", "qty", "amount", "ts", "status")
            )  # fmt: skip
            start = time.perf_counter()
            base.write.mode("overwrite").parquet(str(WORK / "spark_l"))
            head.write.mode("overwrite").parquet(str(WORK / "spark_r"))
            gen = time.perf_counter() - start
            for side in ("l", "r"):
                engine.execute(
                    f"CREATE OR REPLACE TEMPORARY VIEW {side} USING parquet OPTIONS (path '{WORK / ('spark_' + side)}')"
                )
            floor, _ = timed(
                lambda: engine.query(
                    # as DECIMAL: Spark 4's ANSI mode refuses a BIGINT sum that overflows
                    "SELECT (SELECT sum(CAST(xxhash64(*) AS DECIMAL(38, 0))) FROM l) AS a,"
                    " (SELECT sum(CAST(xxhash64(*) AS DECIMAL(38, 0))) FROM r) AS b"
                )
            )
            print(f"spark    {rows:>11,} rows, {share:.1%} changed (written as Parquet in {gen:.1f} s)")
            print(f"  floor: hash scan of both    {floor:8.2f} s")
            for profiles in (False, True):
                s, r = timed(
                    lambda p=profiles: reconcile(engine, t.table("l"), t.table("r"), key=["id"], profiles=p)
                )
                what = "reconcile" + ("" if profiles else " (no profiles)")
                print(
                    f"  {what:<27} {s:8.2f} s  {s / floor:6.1f}x floor  ({r.differing_rows:,} differing rows)"
                )
            py = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            print(f"  peak RSS: driver {py / 2**20:,.0f} MB + JVM {_jvm_peak(session) / 2**20:,.0f} MB")
            sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=("postgres", "spark", "both"), default="both")
    ap.add_argument("--rows", default="1000000,10000000", help="comma separated; the shares run at the first")
    ap.add_argument("--shares", default="0.001,0.01,0.1", help="changed shares, at the first row count")
    args = ap.parse_args()
    rows = [int(x) for x in args.rows.split(",")]
    shares = [float(x) for x in args.shares.split(",")]
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    if args.engine in ("postgres", "both"):
        postgres(rows, shares)
    if args.engine in ("spark", "both"):
        spark(rows, shares)


if __name__ == "__main__":
    main()
