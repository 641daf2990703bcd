"""The generated dbt project of benchmarks/dbt_manifest.py, as a real project's first PR looks: sources
without columns, incremental models compiled with their is_incremental() branch, build timestamps.
Every model still gets its verdict: no false blocker, no model left out."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from app.dbt.manifest import parse_manifest
from app.dbt.project import DbtProject, build_project
from app.dbt.select import state_modified
from app.pipeline import evaluate
from app.project.tree import MemoryTree
from app.sql.analyze import analyze
from app.sql.classify import classify_models
from app.sql.volatile import volatile_columns

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "dbt_manifest.py"


def _generate(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = importlib.util.spec_from_file_location("dbt_manifest_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    docs: tuple[dict[str, Any], dict[str, Any]] = module.generate(n, realistic=True)
    return docs


@pytest.fixture(scope="module")
def pair() -> tuple[DbtProject, DbtProject]:
    base_doc, head_doc = _generate(80)

    def build(doc: dict[str, Any], label: str) -> DbtProject:
        return build_project(
            parse_manifest(json.dumps(doc), label), root="", label=label, read=lambda p: None
        )

    return build(base_doc, "base"), build(head_doc, "head")


def test_every_model_gets_a_verdict_and_only_the_real_breaks_block(
    pair: tuple[DbtProject, DbtProject],
) -> None:
    base, head = pair
    incremental = [n for n, m in head.project.models.items() if m.materialized == "incremental"]
    assert len(incremental) >= 5
    report = evaluate(
        base.project, head.project, head_tree=MemoryTree({}), canary=False, today=dt.date(2026, 12, 1)
    )
    left_out = ("sql-invalid", "sql-unresolved-column", "sql-not-analysed", "sql-columns-unknown")
    assert not [f for f in report.findings if f.rule in left_out]
    # head drops a contracted column of mart_0: that, and nothing else, blocks
    assert {(f.dataset, f.rule) for f in report.findings if f.blocking} == {("mart_0", "column-removed")}


def test_incremental_models_are_not_modified_by_their_branch(pair: tuple[DbtProject, DbtProject]) -> None:
    base, head = pair
    base_an, head_an = analyze(base.project), analyze(head.project)
    assert not head_an.broken
    kinds = {n: c.kind for n, c in classify_models(base_an, head_an).items()}
    modified = state_modified(base, head, kinds).modified
    assert set(modified) == {"stg_0"}  # the root staging model the PR changes
    volatile = volatile_columns(head_an)
    assert {m for m, cols in volatile.items() if "_loaded_at" in cols} == {
        n for n in head.project.models if n.startswith("mart_") and int(n.split("_")[1]) % 4
    }
