"""Benchmark: SQL analysis of a generated 1,000-model project (staging over 20 sources, intermediate
models with joins, CTEs and window functions, marts with aggregates; 20-40 columns each) in a real git
repository whose head commit renames and drops a column of a ROOT staging model.

Reports: loading both revisions from git, analysis (parse + type inference + lineage), lineage alone,
the head analysis reusing the base one, drift + output changes + blast radius, and
`datacanary check --base HEAD~1 --head HEAD --no-canary` as a whole process, each with a ratio to a
baseline measured in the same run: plain `sqlglot.parse_one` of every model file.

    python benchmarks/lineage.py                # 1,000 models
    python benchmarks/lineage.py --models 200   # quicker
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TYPES = ["bigint", "varchar", "timestamp", "decimal(12, 2)", "integer", "date", "boolean", "double"]


def _source_columns(rng: random.Random, i: int) -> dict[str, str]:
    cols = {"id": "bigint", "customer_id": "bigint", "created_at": "timestamp", "status": "varchar"}
    for j in range(rng.randint(22, 32)):
        cols[f"s{i}_c{j}"] = rng.choice(TYPES)
    cols["legacy_a"] = "varchar"
    cols["legacy_b"] = "integer"
    return cols


def _staging(name: str, source: str, cols: dict[str, str]) -> tuple[str, dict[str, str]]:
    lines, out = [], {}
    for c, t in cols.items():
        if t == "varchar" and c not in ("status", "legacy_a"):
            lines.append(f"trim({c}) as {c}")
        elif t == "double":
            lines.append(f"cast({c} as decimal(18, 4)) as {c}")
            t = "decimal(18, 4)"
        else:
            lines.append(c)
        out[c] = t
    sql = (
        f"-- staging: {source}\nselect\n    "
        + ",\n    ".join(lines)
        + f"\nfrom {source}\nwhere id is not null\n"
    )
    return sql, out


def _intermediate(
    rng: random.Random, name: str, pool: list[tuple[str, dict[str, str]]]
) -> tuple[str, dict[str, str]]:
    (main, mcols), (other, ocols) = rng.sample(pool, 2)
    picked = [c for c in mcols if c not in ("id", "customer_id", "created_at", "legacy_a", "legacy_b")]
    picked = rng.sample(picked, min(len(picked), rng.randint(14, 24)))
    extra = [c for c in ocols if c not in mcols and c not in ("legacy_a", "legacy_b")][: rng.randint(2, 5)]
    out = {"id": mcols["id"], "customer_id": mcols["customer_id"], "created_at": mcols["created_at"]}
    select = ["b.id", "b.customer_id", "b.created_at"]
    select += [f"b.{c}" for c in picked]
    out.update({c: mcols[c] for c in picked})
    select += [f"o.{c}" for c in extra]
    out.update({c: ocols[c] for c in extra})
    select.append("row_number() over (partition by b.customer_id order by b.created_at desc) as recency_rank")
    select.append("count(*) over (partition by b.customer_id) as customer_rows")
    select.append("case when b.created_at >= o.created_at then 'after' else 'before' end as relative_order")
    out.update({"recency_rank": "bigint", "customer_rows": "bigint", "relative_order": "varchar"})
    star = rng.random() < 0.3
    cte = f"with base as (\n    select {'*' if star else ', '.join(['id', 'customer_id', 'created_at', *picked])}\n    from {main}\n    where created_at is not null\n)"  # noqa: E501
    sql = (
        f"{cte}\nselect\n    " + ",\n    ".join(select) + f"\nfrom base as b\n"
        f"left join {other} as o on o.id = b.id and o.customer_id = b.customer_id\n"
    )
    return sql, out


def _mart(
    rng: random.Random, name: str, pool: list[tuple[str, dict[str, str]]]
) -> tuple[str, dict[str, str]]:
    upstream, cols = rng.choice(pool)
    numeric = [
        c
        for c, t in cols.items()
        if t in ("bigint", "integer", "decimal(12, 2)", "decimal(18, 4)") and c not in ("id", "customer_id")
    ]
    dims = [c for c, t in cols.items() if t in ("varchar", "date", "boolean")][:3]
    aggs = numeric[: rng.randint(16, 30)]
    select = ["customer_id", "date_trunc('day', created_at) as activity_day", *dims, "count(*) as row_count"]
    out = {
        "customer_id": "bigint",
        "activity_day": "timestamp",
        **{d: cols[d] for d in dims},
        "row_count": "bigint",
    }
    for c in aggs:
        select.append(f"sum({c}) as total_{c}")
        out[f"total_{c}"] = "decimal(38, 4)"
    group = ", ".join(str(i + 1) for i in range(2 + len(dims)))
    sql = "select\n    " + ",\n    ".join(select) + f"\nfrom {upstream}\ngroup by {group}\n"
    return sql, out


def generate(root: Path, models: int, seed: int = 7) -> None:
    """Write the base revision of the project under `root`."""
    rng = random.Random(seed)
    n_sources = 20
    n_staging = max(n_sources, models // 10)
    n_marts = max(1, models * 28 // 100)
    n_inter = models - n_staging - n_marts
    sources = {f"raw_{i}": _source_columns(rng, i) for i in range(n_sources)}
    config = ["name: bench", "dialect: duckdb", "sources:"]
    for s, cols in sources.items():
        config.append(f"  {s}:")
        config.append("    columns: {" + ", ".join(f"{c}: '{t}'" for c, t in cols.items()) + "}")
    (root / "models" / "staging").mkdir(parents=True)
    (root / "models" / "intermediate").mkdir()
    (root / "models" / "marts").mkdir()
    (root / "contracts").mkdir()
    (root / "datacanary.yml").write_text("\n".join(config) + "\n")
    pool: list[tuple[str, dict[str, str]]] = []
    for i in range(n_staging):
        src = f"raw_{i % n_sources}"
        sql, out = _staging(f"stg_{i}", src, sources[src])
        (root / "models" / "staging" / f"stg_{i}.sql").write_text(sql)
        pool.append((f"stg_{i}", out))
    inter_pool = list(pool)
    for i in range(n_inter):
        sql, out = _intermediate(rng, f"int_{i}", inter_pool[-60:] + pool[:20])
        (root / "models" / "intermediate" / f"int_{i}.sql").write_text(sql)
        inter_pool.append((f"int_{i}", out))
    for i in range(n_marts):
        sql, out = _mart(rng, f"mart_{i}", inter_pool[len(pool) :] or pool)
        (root / "models" / "marts" / f"mart_{i}.sql").write_text(sql)
        if i % 10 == 0:
            _contract(root / "contracts" / f"mart_{i}.odcs.yaml", f"mart_{i}", out)


def _contract(path: Path, name: str, cols: dict[str, str]) -> None:
    logical = {
        "bigint": "integer",
        "integer": "integer",
        "varchar": "string",
        "timestamp": "timestamp",
        "date": "date",
        "boolean": "boolean",
    }
    props = "\n".join(
        f"      - name: {c}\n        logicalType: {logical.get(t, 'number')}\n        physicalType: '{t}'"
        for c, t in cols.items()
    )
    path.write_text(
        f"apiVersion: v3.1.0\nkind: DataContract\nid: {name}\nversion: 1.0.0\nstatus: active\n"
        f"schema:\n  - name: {name}\n    properties:\n{props}\n"
    )


def change_root(root: Path) -> None:
    """The head commit: a root staging model renames one column and drops another."""
    path = root / "models" / "staging" / "stg_0.sql"
    sql = (
        path.read_text()
        .replace("    legacy_a,", "    legacy_a as legacy_a_v2,")
        .replace(",\n    legacy_b", "")
    )
    path.write_text(sql)


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def build_repo(root: Path, models: int) -> None:
    generate(root, models)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", ".")
    _git(root, "-c", "user.name=bench", "-c", "user.email=b@example.com", "commit", "-q", "-m", "base")
    change_root(root)
    _git(
        root,
        "-c",
        "user.name=bench",
        "-c",
        "user.email=b@example.com",
        "commit",
        "-qam",
        "head: rename/drop a root column",
    )


def _timed(label: str, fn, results: dict[str, tuple[float, float]], pause_gc: bool = False):  # type: ignore[no-untyped-def]
    """Wall and CPU seconds of `fn()`: CPU time stays meaningful on a busy machine."""
    if pause_gc:  # as analyze() does, so the comparison is fair
        gc.disable()
    t, c = time.perf_counter(), time.process_time()
    try:
        value = fn()
    finally:
        gc.enable()
    results[label] = (time.perf_counter() - t, time.process_time() - c)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument(
        "--keep", action="store_true", help="keep the generated repository and print its path"
    )
    args = parser.parse_args()

    import sqlglot

    from app.contracts.rules import Change
    from app.project.git import GitTree
    from app.project.load import load_project
    from app.sql.analyze import analyze
    from app.sql.blast import blast_radius
    from app.sql.changes import output_changes
    from app.sql.drift import drift
    from app.sql.lineage import column_lineage

    tmp = Path(tempfile.mkdtemp(prefix="dc-bench-lineage-"))
    r: dict[str, tuple[float, float]] = {}
    _timed("generate + git", lambda: build_repo(tmp, args.models), r)
    base_p = _timed("load base (git)", lambda: load_project(GitTree(tmp, "HEAD~1")), r)
    head_p = _timed("load head (git)", lambda: load_project(GitTree(tmp, "HEAD")), r)
    _timed(
        "baseline: sqlglot.parse_one x all",
        lambda: [sqlglot.parse_one(m.sql, read="duckdb") for m in base_p.models.values()],
        r,
        pause_gc=True,
    )
    base_a = _timed("analyze base (parse+types+lineage)", lambda: analyze(base_p), r)
    for m in base_a.models.values():
        m.qualified  # noqa: B018 - rebuilt on first use; not part of what is timed next
    _timed(
        "lineage alone (all models)",
        lambda: [column_lineage(m.qualified, m.reads_tables) for m in base_a.models.values()],
        r,
        pause_gc=True,
    )
    head_a = _timed("analyze head (reusing base)", lambda: analyze(head_p, reuse=base_a), r)
    reanalysed = sum(1 for n, m in head_a.models.items() if base_a.models.get(n) is not m)

    def changes() -> list[Change]:
        found = drift(head_a, head_p) + output_changes(base_a, head_a, base_p, head_p)
        blast_radius(
            head_a,
            head_p,
            sorted({(c.dataset, c.column) for c in found if c.impact.value != "info"}, key=str),
            base=base_a,
        )
        return found

    found = _timed("drift + output changes + blast radius", changes, r)
    check = [
        sys.executable,
        "-m",
        "app.cli",
        "check",
        "--base",
        "HEAD~1",
        "--head",
        "HEAD",
        "--no-canary",
        "--quiet",
        "--format",
        "json",
    ]
    t, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(check, cwd=tmp, capture_output=True, text=True, env=None)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    r["datacanary check --no-canary (process)"] = (time.perf_counter() - t, cpu)

    base_cpu = r["baseline: sqlglot.parse_one x all"][1]
    print(
        f"models: {len(base_p.models)}, columns: {sum(len(m.columns) for m in base_a.models.values())}, "
        f"lineage edges: {len(base_a.lineage)}, re-analysed in head: {reanalysed}, changes found: {len(found)}"
    )
    print(f"  {'phase':<42} {'wall':>8} {'cpu':>8}   cpu vs baseline")
    for label, (wall, cpu_s) in r.items():
        print(f"  {label:<42} {wall:7.2f}s {cpu_s:7.2f}s   x{cpu_s / base_cpu:5.1f}")
    print(
        f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; wall times include waiting for them)"
    )
    print(
        f"  check exit code: {proc.returncode}"
        + (f" ({proc.stderr.strip().splitlines()[-1]})" if proc.returncode == 2 else "")
    )
    if args.keep:
        print(f"  repository: {tmp}")
    else:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
