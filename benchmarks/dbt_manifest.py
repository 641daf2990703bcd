"""Benchmark: `check` over dbt manifests of a generated 1,000-model dbt project.

The project: 20 dbt sources (25-35 typed columns), one staging model per source, intermediate models
joining two upstream models through CTEs with a window function, marts with aggregates; every 4th mart
has an enforced contract (data types, not_null/primary_key constraints, not_null/unique/accepted_values
tests). Compiled SQL reads fully qualified relations ("warehouse"."analytics"."x"), as dbt writes it.
Head drops one column and renames another in a ROOT staging model, and drops a contracted column.

`--realistic` makes it look like a real project's first PR instead: the sources declare no columns
(and there is no catalog.json), every 7th intermediate model is incremental and head's manifest was
compiled against a built warehouse (its `is_incremental()` filter on `{{ this }}`), and every mart
selects `current_timestamp`. The gate must still give every model its verdict: the run prints the
exit code and the sql-invalid / sql-unresolved-column counts (0 is right).

Reports, each with its ratio to the baseline (`json.load` of both manifests, measured in the same run):
  1. load: parse both manifests into Projects (relations rewritten, contracts, tests, exposures)
  2. analyze: app/sql type inference + column lineage of base and head
  3. findings: dbt contract rules + SQL drift + output changes + state:modified+ (in-process)
  4. `datacanary check --base-manifest B --manifest H --no-canary` as a whole process (the lead's
     pipeline, app.pipeline.run_check with manifests), in a git repository holding dbt_project.yml

    python benchmarks/dbt_manifest.py               # 1,000 models
    python benchmarks/dbt_manifest.py --models 200  # quicker
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TYPES = ["bigint", "varchar", "timestamp", "decimal(12,2)", "integer", "date", "boolean"]
N_SOURCES = 20


def rel(name: str) -> str:
    return f'"warehouse"."analytics"."{name}"'


def _col(name: str, data_type: str | None, *constraints: str) -> dict[str, Any]:
    return {
        "name": name,
        "data_type": data_type,
        "description": "",
        "meta": {},
        "quote": None,
        "tags": [],
        "constraints": [
            {"type": c, "name": None, "expression": None, "to": None, "to_columns": []} for c in constraints
        ],
    }


def _node(
    name: str,
    sql: str,
    deps: list[str],
    materialized: str,
    columns: dict[str, Any] | None = None,
    enforced: bool = False,
    folder: str = "models",
    raw: str | None = None,
) -> tuple[str, dict[str, Any]]:
    uid = f"model.bench.{name}"
    return uid, {
        "resource_type": "model",
        "unique_id": uid,
        "name": name,
        "package_name": "bench",
        "original_file_path": f"{folder}/{name}.sql",
        "patch_path": f"bench://{folder}/schema.yml",
        "database": "warehouse",
        "schema": "analytics",
        "alias": name,
        "relation_name": rel(name),
        "raw_code": raw if raw is not None else "-- jinja elided",
        "compiled_code": sql,
        "language": "sql",
        "config": {"enabled": True, "materialized": materialized, "contract": {"enforced": enforced}},
        "contract": {"enforced": enforced, "alias_types": True, "checksum": None},
        "columns": columns or {},
        "constraints": [],
        "version": None,
        "latest_version": None,
        "depends_on": {"macros": [], "nodes": deps},
        "description": f"{name} model",
    }


def generate(n_models: int, seed: int = 7, realistic: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Base and head manifests (dicts in dbt's v12 shape); `realistic`: see the module docstring."""
    rng = random.Random(seed)
    sources: dict[str, Any] = {}
    schemas: dict[str, dict[str, str]] = {}
    for i in range(N_SOURCES):
        cols = {
            "id": "bigint",
            "customer_id": "bigint",
            "created_at": "timestamp",
            "status": "varchar",
            "legacy_a": "varchar",
            "legacy_b": "integer",
        }
        cols.update({f"s{i}_c{j}": rng.choice(TYPES) for j in range(rng.randint(20, 30))})
        uid = f"source.bench.app.src_{i}"
        sources[uid] = {
            "source_name": "app",
            "name": f"src_{i}",
            "identifier": f"src_{i}",
            "database": "warehouse",
            "schema": "raw",
            "relation_name": f'"warehouse"."raw"."src_{i}"',
            "resource_type": "source",
            "original_file_path": "models/sources.yml",
            "columns": {} if realistic else {c: _col(c, t) for c, t in cols.items()},
        }
        schemas[f"src_{i}"] = cols

    def staging(i: int, head: bool) -> tuple[str, dict[str, Any]]:
        cols = dict(schemas[f"src_{i}"])
        lines = []
        for c, t in cols.items():
            if head and i == 0 and c == "legacy_a":
                continue  # head drops it in the root model
            alias = "legacy_b2" if head and i == 0 and c == "legacy_b" else c
            lines.append(f"trim({c}) as {alias}" if t == "varchar" and c != "status" else f"{c} as {alias}")
        sql = (
            "select\n    "
            + ",\n    ".join(lines)
            + f'\nfrom "warehouse"."raw"."src_{i}"\nwhere id is not null'
        )
        return _node(f"stg_{i}", sql, [f"source.bench.app.src_{i}"], "view", folder="models/staging")

    base_nodes: dict[str, Any] = {}
    head_nodes: dict[str, Any] = {}
    outputs: dict[str, dict[str, str]] = {}
    for i in range(N_SOURCES):
        for nodes, head in ((base_nodes, False), (head_nodes, True)):
            uid, node = staging(i, head)
            nodes[uid] = node
        outputs[f"stg_{i}"] = schemas[f"src_{i}"]

    n_marts = max(1, (n_models - N_SOURCES) // 4)
    n_int = n_models - N_SOURCES - n_marts
    pool = [f"stg_{i}" for i in range(N_SOURCES)]
    for k in range(n_int):
        # each staging model feeds at least one intermediate, so the root change has a downstream
        a = pool[k] if k < N_SOURCES else rng.choice(pool[-60:])
        b = rng.choice([p for p in pool[-60:] if p != a])
        # legacy_* are what head drops/renames in the root: nothing downstream reads them
        acols = [
            c for c in outputs[a] if c not in ("id", "customer_id", "created_at", "legacy_a", "legacy_b")
        ]
        picked = rng.sample(acols, min(len(acols), rng.randint(12, 22)))
        extra = [c for c in outputs[b] if c not in outputs[a] and not c.startswith("legacy_")][:3]
        name = f"int_{k}"
        select = [
            "m.id",
            "m.customer_id",
            "m.created_at",
            *(f"m.{c}" for c in picked),
            *(f"o.{c}" for c in extra),
            "row_number() over (partition by m.customer_id order by m.created_at) as seq",
        ]
        sql = (
            f"with m as (\n    select * from {rel(a)}\n),\no as (\n    select * from {rel(b)}\n)\n"
            "select\n    " + ",\n    ".join(select) + "\nfrom m\nleft join o on o.id = m.id"
        )
        out = {"id": "bigint", "customer_id": "bigint", "created_at": "timestamp"}
        out.update({c: outputs[a][c] for c in picked})
        out.update({c: outputs[b][c] for c in extra})
        out["seq"] = "bigint"
        outputs[name] = out
        deps = [f"model.bench.{a}", f"model.bench.{b}"]
        incremental = realistic and k % 7 == 3
        branch = f"\nwhere m.created_at >= (select max(created_at) from {rel(name)})"
        raw = sql + "\n{% if is_incremental() %}" + branch + "\n{% endif %}" if incremental else None
        for nodes, head in ((base_nodes, False), (head_nodes, True)):
            compiled = (
                sql + branch if incremental and head else sql
            )  # head: compiled against a built warehouse
            materialized = "incremental" if incremental else "table"
            uid, node = _node(name, compiled, deps, materialized, folder="models/intermediate", raw=raw)
            nodes[uid] = node
        pool.append(name)

    for k in range(n_marts):
        src = rng.choice(pool)
        usable = {c: t for c, t in outputs[src].items() if not c.startswith("legacy_")}
        nums = [c for c, t in usable.items() if t in ("integer", "decimal(12,2)")][:4]
        dims = [c for c, t in usable.items() if t in ("varchar", "date")][:3]
        name = f"mart_{k}"
        aggs = [f"cast(sum({c}) as decimal(18,2)) as total_{c}" for c in nums]
        sql = (
            "select\n    customer_id,\n    "
            + "".join(f"{d},\n    " for d in dims)
            + "count(*) as n_rows"
            + "".join(f",\n    {a}" for a in aggs)
            + (",\n    current_timestamp as _loaded_at" if realistic and k % 4 else "")
            + f"\nfrom {rel(src)}\ngroup by customer_id"
            + "".join(f", {d}" for d in dims)
        )
        enforced = k % 4 == 0
        for nodes, head in ((base_nodes, False), (head_nodes, True)):
            cols = None
            if enforced:
                cols = {"customer_id": _col("customer_id", "bigint", "not_null")}
                cols.update({d: _col(d, outputs[src][d]) for d in dims})
                cols["n_rows"] = _col("n_rows", "bigint")
                cols.update({f"total_{c}": _col(f"total_{c}", "decimal(18,2)") for c in nums})
                if head and k == 0 and dims:
                    del cols[dims[-1]]  # a contracted column dropped
            uid, node = _node(
                name, sql, [f"model.bench.{src}"], "table", cols, enforced, folder="models/marts"
            )
            nodes[uid] = node
        if enforced:
            for nodes in (base_nodes, head_nodes):
                tid = f"test.bench.not_null_{name}_customer_id"
                nodes[tid] = {
                    "resource_type": "test",
                    "unique_id": tid,
                    "name": tid,
                    "attached_node": f"model.bench.{name}",
                    "column_name": "customer_id",
                    "config": {"severity": "ERROR"},
                    "test_metadata": {
                        "name": "not_null",
                        "namespace": None,
                        "kwargs": {"column_name": "customer_id", "model": "{{ ref() }}"},
                    },
                    "depends_on": {"nodes": [f"model.bench.{name}"]},
                }
    exposures = {
        "exposure.bench.board": {
            "name": "board",
            "label": "Board",
            "type": "dashboard",
            "owner": {"email": "cfo@example.com"},
            "depends_on": {"nodes": [f"model.bench.mart_{k}" for k in range(0, n_marts, 10)]},
        }
    }
    meta = {
        "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
        "dbt_version": "1.10.0",
        "project_name": "bench",
        "adapter_type": "duckdb",
    }

    def doc(nodes: dict[str, Any]) -> dict[str, Any]:
        return {"metadata": meta, "nodes": nodes, "sources": sources, "exposures": exposures, "macros": {}}

    return doc(base_nodes), doc(head_nodes)


class Clock:
    """Wall and CPU seconds since the last lap; CPU includes finished child processes."""

    def __init__(self) -> None:
        self._last = self._now()

    @staticmethod
    def _now() -> tuple[float, float]:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.perf_counter(), time.process_time() + kids.ru_utime + kids.ru_stime

    def lap(self) -> tuple[float, float]:
        now = self._now()
        lap = (now[0] - self._last[0], now[1] - self._last[1])
        self._last = now
        return lap


def _sum(*laps: tuple[float, float]) -> tuple[float, float]:
    return sum(w for w, _ in laps), sum(c for _, c in laps)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--realistic", action="store_true", help="undeclared sources, incremental models")
    args = parser.parse_args()

    from app.dbt.rules import dbt_contract_findings
    from app.dbt.select import state_modified
    from app.project.dbt import load_manifest
    from app.sql.analyze import analyze
    from app.sql.changes import output_changes
    from app.sql.classify import classify_models
    from app.sql.drift import drift

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        base_doc, head_doc = generate(args.models, realistic=args.realistic)
        base_path, head_path = repo / "target-base" / "manifest.json", repo / "target" / "manifest.json"
        for path, doc in ((base_path, base_doc), (head_path, head_doc)):
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(doc))
        size = (base_path.stat().st_size + head_path.stat().st_size) / 1e6
        n = sum(1 for v in head_doc["nodes"].values() if v["resource_type"] == "model")
        print(f"dbt manifests: {n} models, {len(head_doc['sources'])} sources, {size:.1f} MB (base + head)")

        clock = Clock()
        for p in (base_path, head_path):
            json.loads(p.read_bytes())
        baseline = clock.lap()

        base, head = load_manifest(base_path), load_manifest(head_path)
        t_load = clock.lap()

        base_an, head_an = analyze(base.project), analyze(head.project)
        t_analyze = clock.lap()

        findings = dbt_contract_findings(base.project, head.project, today=dt.date.today())
        drifted = drift(head_an, head.project)
        outputs = output_changes(base_an, head_an, base.project, head.project)
        kinds = {k: v.kind for k, v in classify_models(base_an, head_an).items()}
        selection = state_modified(base, head, kinds)
        t_findings = clock.lap()

        (repo / "dbt_project.yml").write_text("name: bench\nprofile: bench\n")
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "-c", "user.email=b@b", "-c", "user.name=b", "commit", "-q", "--allow-empty", "-m", "base")
        _git(repo, "add", "dbt_project.yml")
        _git(repo, "-c", "user.email=b@b", "-c", "user.name=b", "commit", "-q", "-m", "head")
        cmd = [
            sys.executable,
            "-m",
            "app.cli",
            "check",
            "--base",
            "HEAD~1",
            "--head",
            "HEAD",
            "--project",
            str(repo),
            "--base-manifest",
            str(base_path),
            "--manifest",
            str(head_path),
            "--no-canary",
            "--format",
            "json",
            "-q",
        ]
        clock.lap()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        t_check = clock.lap()
        check_ok = proc.returncode in (0, 1)

    blocking = sum(1 for f in findings if f.blocking)
    print(
        f"found: {len(findings)} contract findings ({blocking} blocking), {len(drifted)} drift, "
        f"{len(outputs)} output changes; state:modified+ = {len(selection.modified)} modified, "
        f"{len(selection.selected)} selected"
    )
    print(f"{'step':<48}{'wall s':>8}{'cpu s':>8}{'x baseline (wall)':>19}")
    rows = [
        ("baseline: json.load of both manifests", baseline),
        ("load both manifests into Projects", t_load),
        ("analyze base + head (types, lineage)", t_analyze),
        ("dbt rules + drift + output changes + selection", t_findings),
        ("in-process total", _sum(t_load, t_analyze, t_findings)),
        ("`datacanary check` whole process" + ("" if check_ok else " (FAILED)"), t_check),
    ]
    for label, (wall, cpu) in rows:
        print(f"{label:<48}{wall:>8.2f}{cpu:>8.2f}{wall / baseline[0]:>19.1f}")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: when busy, cpu s is fairer)")
    if not check_ok:
        print(proc.stderr[-2000:])
    else:
        rules = [f["rule"] for g in json.loads(proc.stdout)["gates"] for f in g["findings"] if f["blocking"]]
        print(
            f"`check` exit {proc.returncode}: {len(rules)} blocking finding(s), "
            f"{rules.count('sql-invalid')} sql-invalid, {rules.count('sql-unresolved-column')} sql-unresolved-column"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
