"""Benchmark: `datacanary check` WITH the canary on a generated 1,000-model project.

The project is benchmarks/lineage.py's (20 sources, staging, intermediate models with joins, CTEs and
window functions, marts with aggregates), plus sample data: one Parquet file per source (`--rows` rows,
values of each declared type), sampled at 50% on `customer_id`. The head commit changes every staging
model (a filter), so every model is selected: base and head of all of them are built in the sandbox and
reconciled. Reported, as whole processes (start-up included), with time and peak memory:

  floor   every head model built once in DuckDB, in DAG order, on the same sampled data (a process that
          imports duckdb and sqlglot, reads the same files, and transpiles nothing: the SQL is DuckDB's)
  check   `datacanary check --base HEAD~1 --head HEAD --format json` (analysis, contracts, canary)

Targets (issue 18): 1,000 models under 60 s and 1.5 GB on a 2-core machine.

    python benchmarks/canary.py                 # 1,000 models
    python benchmarks/canary.py --models 200    # quicker
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from lineage import _git, generate  # noqa: E402

VALUES = {
    "bigint": "(i * 7919) % 100000",
    "integer": "(i * 31) % 1000",
    "varchar": "'v' || (i % 97)",
    "timestamp": "TIMESTAMP '2024-01-01' + to_seconds(i)",
    "date": "DATE '2024-01-01' + (i % 365)::INTEGER",
    "boolean": "i % 2 = 0",
    "double": "(i * 1.5)::DOUBLE",
    "decimal(12, 2)": "(i % 10000)::DECIMAL(12, 2)",
}


def add_data(root: Path, rows: int) -> None:
    """A Parquet sample per source and its path/sample in datacanary.yml."""
    import duckdb
    import yaml

    config = yaml.safe_load((root / "datacanary.yml").read_text())
    (root / "data").mkdir()
    con = duckdb.connect()
    for name, spec in config["sources"].items():
        cols = []
        for c, t in spec["columns"].items():
            expr = VALUES.get(t, "NULL")
            if c == "id":
                expr = "i"
            elif c == "customer_id":
                expr = "(i * 13) % 5000"
            elif c == "status":
                expr = "['placed', 'paid', 'shipped'][1 + i % 3]"
            cols.append(f'CAST({expr} AS {t}) AS "{c}"')
        con.execute(
            f"COPY (SELECT {', '.join(cols)} FROM range({rows}) t(i)) TO '{root}/data/{name}.parquet' (FORMAT parquet)"
        )
        spec["path"] = f"data/{name}.parquet"
        spec["sample"] = {"key": "customer_id", "fraction": 0.5}
    config["canary"] = {"limits": {"timeout_seconds": 120, "threads": 2, "memory_limit": "1GB"}}
    (root / "datacanary.yml").write_text(yaml.safe_dump(config, sort_keys=False))


def change_every_staging(root: Path) -> int:
    n = 0
    for path in sorted((root / "models" / "staging").glob("*.sql")):
        path.write_text(
            path.read_text().replace("where id is not null", "where id is not null and id % 10 <> 3")
        )
        n += 1
    return n


FLOOR = r"""
import sys, time, duckdb, yaml
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from app.project.load import load_project
from app.project.tree import DirTree
from app.sql.analyze import analyze
root = Path(sys.argv[1])
project = load_project(DirTree(root))
order = analyze(project).order
con = duckdb.connect()
con.execute("SET threads = 2; SET memory_limit = '1GB'")
for name, spec in project.config.sources.items():
    con.execute(f"CREATE TABLE \"{name}\" AS SELECT * FROM read_parquet('{root / spec.path}') "
                f"WHERE hash(customer_id) % 2 = 0")
for m in order:
    con.execute(f"CREATE TABLE \"{m}\" AS {project.models[m].sql}")
print(len(order))
"""


def timed(argv: list[str], cwd: Path) -> tuple[float, float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *argv], cwd=cwd, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    rss_kb = int(proc.stderr.strip().splitlines()[-1])
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv[:4]} failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return seconds, rss_kb / 1024, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=2000, help="rows per source sample file (default 2,000)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="datacanary-bench-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        generate(root, args.models)
        add_data(root, args.rows)
        _git(root, "init", "-q", "-b", "main")
        _git(root, "add", ".")
        _git(root, "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-q", "-m", "base")
        changed = change_every_staging(root)
        _git(root, "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qam", "head")
        print(f"{args.models} models, {changed} staging models changed, {args.rows:,} rows per source file")

        floor_s, floor_mb, out = timed([sys.executable, "-c", FLOOR, str(root), str(ROOT)], root)
        print(
            f"floor   {floor_s:7.1f} s  {floor_mb:7.0f} MB   ({out.strip()} head models built once in DuckDB)"
        )
        cmd = [sys.executable, "-m", "app.cli", "check", "--project", str(root), "--base", "HEAD~1", "--head",
               "HEAD", "--format", "json", "--quiet"]  # fmt: skip
        check_s, check_mb, out = timed(cmd, ROOT)
        report = json.loads(out)
        canary = report.get("canary") or {}
        models = canary.get("models", [])
        compared = sum(1 for m in models if m.get("status") == "compared")
        print(
            f"check   {check_s:7.1f} s  {check_mb:7.0f} MB   ({len(models)} models in the canary, {compared} compared; "
            f"canary {canary.get('seconds', 0):.1f} s)   = {check_s / floor_s:.1f}x the floor"
        )
        verdict = "met" if check_s < 60 and check_mb < 1536 else "not met"
        print(f"target  < 60 s and < 1,536 MB: {verdict}")


if __name__ == "__main__":
    main()
