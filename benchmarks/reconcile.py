"""Benchmark: `datacanary data-diff` against the scan floor and reladiff's joindiff, in one run.

    python benchmarks/reconcile.py                 # 1M rows (about a minute)
    python benchmarks/reconcile.py --rows 10000000 # 10M rows

Generates two Parquet tables (and the same two in a DuckDB file for reladiff) with 10 mixed-type
columns and ~2% differences (updates in several columns, deletes, inserts; `--share 0.5` for half the
keys, `--share 0` for identical tables), then measures:

  floor       one DuckDB scan of both tables: count(*) and a hash of every column (in process, and as a
              process that imports duckdb, so process start-up is on both sides of the ratio)
  data-diff   `python -m app.cli data-diff LEFT RIGHT --key id --format json` as a whole process, and
              the reconciliation alone in process
  reladiff    `reladiff duckdb://... l r -k id -c % -a joindiff` from benchmarks/_work/rvenv when installed
              (python -m venv benchmarks/_work/rvenv && benchmarks/_work/rvenv/bin/pip install reladiff);
              it reads the DuckDB file, so data-diff and the floor are measured on that file too, and the
              reladiff ratio compares the two on the same input

Peak memory is the child's max RSS from wait4(). Targets: within 2x the floor, >= 5x faster than
reladiff joindiff, < 2 GB at 10M rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work"
COLUMNS = ["id", "name", "qty", "amount", "ts", "d", "status", "flag", "price", "note"]

GENERATE = """
CREATE TABLE l AS SELECT
  i AS id, 'customer_' || (i % 50000) AS name, ((i * 7) % 1000)::INTEGER AS qty, (i * 1.37)::DOUBLE AS amount,
  TIMESTAMP '2024-01-01' + to_seconds(i) AS ts, DATE '2020-01-01' + (i % 1000)::INTEGER AS d,
  ['placed', 'paid', 'shipped', 'done'][1 + i % 4] AS status, (i % 3 = 0) AS flag,
  (i % 9973)::DECIMAL(10, 2) AS price, CASE WHEN i % 11 = 0 THEN NULL ELSE md5(i::VARCHAR) END AS note
FROM range({rows}) t(i);
CREATE TABLE r AS
SELECT id,
  CASE WHEN {name} THEN name || '!' ELSE name END AS name,
  CASE WHEN {qty} THEN qty + 1 ELSE qty END AS qty,
  CASE WHEN {amount} THEN amount * 1.01 ELSE amount END AS amount,
  CASE WHEN {ts} THEN date_trunc('day', ts) ELSE ts END AS ts,
  d, CASE WHEN {status} THEN 'returned' ELSE status END AS status, flag, price,
  CASE WHEN {note} THEN NULL ELSE note END AS note
FROM l WHERE NOT ({delete})
UNION ALL
SELECT id + 1000000000, name, qty, amount, ts, d, status, flag, price, note FROM l WHERE {insert};
"""
# Per mille of keys (by hash(id) % 1000) that each edit touches: 2.2% of keys differ in all.
EDITS = (
    ("name", 5),
    ("qty", 5),
    ("amount", 5),
    ("ts", 3),
    ("status", 1),
    ("note", 1),
    ("delete", 1),
    ("insert", 1),
)
DEFAULT_SHARE = sum(w for _, w in EDITS) / 1000


def edits(share: float) -> dict[str, str]:
    """The condition selecting each edit's keys, the bands scaled so that `share` of the keys differ."""
    out, start = {}, 0
    for name, width in EDITS:
        end = start + round(width * share / DEFAULT_SHARE)
        out[name] = f"hash(id) % 1000 >= {start} AND hash(id) % 1000 < {end}"
        start = end
    return out


def generate(rows: int, share: float = DEFAULT_SHARE) -> tuple[Path, Path, Path]:
    import duckdb

    WORK.mkdir(parents=True, exist_ok=True)
    tag = f"{rows}" if share == DEFAULT_SHARE else f"{rows}_s{share:g}"
    left, right, db = WORK / f"l_{tag}.parquet", WORK / f"r_{tag}.parquet", WORK / f"tables_{tag}.duckdb"
    if left.exists() and right.exists() and db.exists():
        return left, right, db
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute(GENERATE.format(rows=rows, **edits(share)))
    con.execute(f"COPY l TO '{left}' (FORMAT parquet)")
    con.execute(f"COPY r TO '{right}' (FORMAT parquet)")
    con.close()
    return left, right, db


def floor_sql(left: Path | str, right: Path | str, quote: bool = True) -> str:
    """One scan of each table: its row count and a hash of every column. Files are quoted paths; with
    quote=False, `left` and `right` are table names."""
    cols = ", ".join(COLUMNS)
    lt, rt = (f"'{left}'", f"'{right}'") if quote else (left, right)
    return (
        f"SELECT (SELECT count(*) || ':' || sum(hash({cols})) FROM {lt}), "
        f"(SELECT count(*) || ':' || sum(hash({cols})) FROM {rt})"
    )


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def process(argv: list[str], repeat: int) -> tuple[float, float, float]:
    """Best wall time, the largest max RSS (MB) and the CPU seconds (user + system) of that best run of
    `argv` as a child process. CPU time is the steadier figure on a shared machine: other processes'
    load stretches wall time far more than the work done.

    RSS comes from /usr/bin/time when present: a forked child's high-water mark starts at this (big)
    process's, so wait4() alone would over-report."""
    best_t, peak, cpu = float("inf"), 0.0, 0.0
    timer = Path("/usr/bin/time")
    rss_file = WORK / "rss.txt"
    for _ in range(repeat):
        wrapped = [str(timer), "-f", "%M", "-o", str(rss_file), *argv] if timer.exists() else argv
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        err = proc.stderr.read().decode() if proc.stderr else ""
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            raise SystemExit(f"{' '.join(argv[:4])} failed ({code}): {err[-2000:]}")
        kb = int(rss_file.read_text().split()[-1]) if timer.exists() else usage.ru_maxrss
        if elapsed < best_t:  # wait4 of /usr/bin/time counts the command it waited for
            best_t, cpu = elapsed, usage.ru_utime + usage.ru_stime
        peak = max(peak, kb / 1024)
    return best_t, peak, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--share", type=float, default=DEFAULT_SHARE, help="share of keys that differ (default 0.022)"
    )
    ap.add_argument("--no-reladiff", action="store_true")
    args = ap.parse_args()

    import duckdb

    sys.path.insert(0, str(ROOT))
    from app.canary.diff import reconcile
    from app.canary.inputs import parse_spec
    from app.canary.runner import Sandbox

    print(f"generating {args.rows:,} rows x {len(COLUMNS)} columns ...", flush=True)
    left, right, db = generate(args.rows, args.share)

    con = duckdb.connect()
    box = Sandbox()
    lv, rv = box.view("l", parse_spec(str(left))), box.view("r", parse_spec(str(right)))
    result = reconcile(box, lv, rv, key=["id"])
    cmd = [
        sys.executable,
        "-m",
        "app.cli",
        "data-diff",
        str(left),
        str(right),
        "--key",
        "id",
        "--format",
        "json",
    ]
    floor_cmd = [
        sys.executable,
        "-c",
        f"import duckdb; duckdb.connect().execute({floor_sql(left, right)!r}).fetchall()",
    ]
    # The same two tables in the DuckDB file reladiff reads: data-diff and the floor on that input too, so
    # that the reladiff ratio compares like with like.
    db_cmd = [*cmd[:4], f"{db}:main.l", f"{db}:main.r", *cmd[6:]]
    db_floor_cmd = [
        sys.executable,
        "-c",
        f"import duckdb; duckdb.connect({str(db)!r}, read_only=True).execute({floor_sql('l', 'r', quote=False)!r})"
        ".fetchall()",
    ]
    reladiff = WORK / "rvenv" / "bin" / "reladiff"
    rel_cmd = [str(reladiff), f"duckdb://{db}", "l", "r", "-k", "id", "-c", "%", "-a", "joindiff", "--stats"]
    use_reladiff = reladiff.exists() and not args.no_reladiff

    # Measured in rounds, each round running every contender once, and reported as medians of times and of
    # per-round ratios: on a shared machine the load drifts, and a ratio within one round is what is fair.
    measures: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    rss: dict[str, float] = {}

    def record(name: str, seconds: float, peak: float | None = None, cpu: float | None = None) -> None:
        measures.setdefault(name, []).append(seconds)
        if peak is not None:
            rss[name] = max(rss.get(name, 0.0), peak)
        if cpu is not None:
            cpus.setdefault(name, []).append(cpu)

    for i in range(args.repeat):
        print(f"round {i + 1}/{args.repeat}", flush=True)
        record("floor scan (in process)", best(lambda: con.execute(floor_sql(left, right)).fetchall(), 1))
        record("data-diff reconcile (in process)", best(lambda: reconcile(box, lv, rv, key=["id"]), 1))
        record(
            "  --no-profile (in process)", best(lambda: reconcile(box, lv, rv, key=["id"], profiles=False), 1)
        )
        record("floor scan (process)", *process(floor_cmd, 1))
        record("data-diff (process)", *process(cmd, 1))
        record("  --no-profile (process)", *process([*cmd, "--no-profile"], 1))
        record("floor scan, DuckDB file (process)", *process(db_floor_cmd, 1))
        record("data-diff, DuckDB file (process)", *process(db_cmd, 1))
        if use_reladiff:
            record("reladiff joindiff, DuckDB file", *process(rel_cmd, 1))
    box.close()

    def ratio(name: str, base: str, of: dict[str, list[float]] = measures) -> float:
        return statistics.median(a / b for a, b in zip(of[name], of[base], strict=True))

    print(
        f"\nrows {args.rows:,}: {result.added:,} added, {result.removed:,} removed, {result.changed:,} changed "
        f"({100 * result.changed_share:.2f}% differ)"
    )
    print(
        f"{'measure (median of ' + str(args.repeat) + ' rounds)':<38}{'seconds':>10}{'x floor':>10}"
        f"{'max RSS MB':>12}{'CPU s':>8}{'x floor':>9}"
    )
    for name, times in measures.items():
        base = "floor scan (in process)" if "in process" in name else "floor scan (process)"
        if "DuckDB file" in name:
            base = "floor scan, DuckDB file (process)"
        peak = f"{rss[name]:>12.0f}" if name in rss else ""
        cpu = f"{statistics.median(cpus[name]):>8.2f}{ratio(name, base, cpus):>9.2f}" if name in cpus else ""
        print(f"{name:<38}{statistics.median(times):>10.3f}{ratio(name, base):>10.2f}{peak}{cpu}")
    if use_reladiff:
        rel = "reladiff joindiff, DuckDB file"
        same = ratio(rel, "data-diff, DuckDB file (process)")
        print(
            f"\nreladiff joindiff / data-diff, both on the DuckDB file: {same:.1f}x"
            f" (CPU time: {ratio(rel, 'data-diff, DuckDB file (process)', cpus):.1f}x)"
            f"\nreladiff joindiff / data-diff on Parquet: {ratio(rel, 'data-diff (process)'):.1f}x, "
            f"/ data-diff --no-profile on Parquet: {ratio(rel, '  --no-profile (process)'):.1f}x"
        )
    elif not args.no_reladiff:
        print("reladiff: not installed (see the docstring); skipped")


if __name__ == "__main__":
    main()
