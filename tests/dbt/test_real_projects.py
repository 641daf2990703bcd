"""`check` on a real public dbt project (dbt-labs/jaffle_shop_duckdb, fixtures/dbt_jaffle) with
manifests compiled by dbt itself: what a data team's first PRs look like, and nothing that must never
happen (an aborted gate, a false blocker, a false "100% of rows differ")."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from app.gate.result import RunReport
from app.pipeline import run_check
from app.project.dbt import load_manifest
from app.project.git import GitTree
from app.types import Verdict
from tests.dbt.conftest import jaffle_manifest, jaffle_repo


def _check(tmp: Path, scenario: str) -> RunReport:
    repo = jaffle_repo(tmp, scenario)
    return run_check(
        repo,
        "HEAD~1",
        "HEAD",
        "dbt",
        today=dt.date(2026, 12, 1),
        base_manifest=jaffle_manifest(scenario, "base"),
        head_manifest=jaffle_manifest(scenario, "head"),
    )


@pytest.fixture(scope="module")
def incremental(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    return _check(tmp_path_factory.mktemp("incremental"), "incremental")


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    return _check(tmp_path_factory.mktemp("sources"), "sources")


@pytest.fixture(scope="module")
def volatile(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    return _check(tmp_path_factory.mktemp("volatile"), "volatile")


def test_the_head_manifest_really_has_the_is_incremental_branch() -> None:
    head = json.loads(jaffle_manifest("incremental", "head").read_text())
    base = json.loads(jaffle_manifest("incremental", "base").read_text())
    orders = "model.jaffle_shop.orders"
    assert (
        '(select max(order_date) from "warehouse"."main"."orders")' in head["nodes"][orders]["compiled_code"]
    )
    assert "max(order_date)" not in base["nodes"][orders]["compiled_code"]
    assert head["nodes"][orders]["checksum"] == base["nodes"][orders]["checksum"]  # same raw code


def test_an_incremental_model_compiled_against_a_built_warehouse_is_analysed_and_canaried(
    incremental: RunReport,
) -> None:
    assert not [f for f in incremental.findings if f.blocking]
    assert not any(f.rule.startswith("sql-") and f.dataset == "orders" for f in incremental.findings)
    assert incremental.canary is not None
    runs = {m.name: m for m in incremental.canary.models}
    assert runs["orders"].status == "compared"  # downstream of stg_payments, built as a full refresh
    assert runs["orders"].reconciliation is not None and runs["orders"].reconciliation.rows_left == 99
    assert any("orders: compiled with its is_incremental() branch" in n for n in incremental.notes)


def test_state_modified_follows_the_raw_code_not_the_incremental_branch(tmp_path: Path) -> None:
    from app.dbt.select import state_modified
    from app.sql.analyze import analyze
    from app.sql.changes import classify_models

    repo = jaffle_repo(tmp_path, "incremental")
    base = load_manifest(jaffle_manifest("incremental", "base"), GitTree(repo, "HEAD~1"), "dbt")
    head = load_manifest(jaffle_manifest("incremental", "head"), GitTree(repo, "HEAD"), "dbt")
    kinds = {n: c.kind for n, c in classify_models(analyze(base.project), analyze(head.project)).items()}
    selection = state_modified(base, head, kinds)
    assert "orders" not in selection.modified  # its raw code is the same: only the branch differs
    assert selection.modified["stg_payments"] == ("sql changed",)
    assert selection.selected == ("stg_payments", "customers", "orders")


def test_sources_without_declared_columns_do_not_block_a_pr_that_reorders_columns(sources: RunReport) -> None:
    assert [f for f in sources.findings if f.blocking] == []
    assert sources.verdict is not Verdict.FAIL
    rules = {(f.dataset, f.rule) for f in sources.findings}
    assert ("stg_orders", "column-reordered") in rules and ("customers", "column-reordered") in rules
    said = "\n".join(sources.notes)
    # with sample data, the data tells the columns and types; without, the models' references are taken
    assert (
        "raw_orders: no declared columns (no yml columns or catalog.json); typed from its sample data" in said
    )
    assert said.count("raw_orders: no declared columns") == 1  # base and head say it once
    assert "raw_payments: no declared columns" in said and "amount, id, order_id, payment_method" in said
    # a reorder is an equivalent change (issue 14's verdicts): no model's rows can change, no canary
    assert {(v.model, v.verdict) for v in sources.models} == {
        ("stg_orders", "equivalent"),
        ("customers", "equivalent"),
    }
    assert sources.canary is None


def test_the_canary_reads_sources_without_declared_columns(tmp_path: Path) -> None:
    """Run on the same revisions (as `datacanary canary --models` would), the canary builds on a source
    nobody declared: its sample data where there is some, else an empty table of the columns the models
    read, and the report says which."""
    from app.canary.run import run_canary
    from app.pipeline import _load_dbt
    from app.sql.analyze import analyze

    repo = jaffle_repo(tmp_path, "sources")
    base_tree, head_tree = GitTree(repo, "HEAD~1"), GitTree(repo, "HEAD")
    loaded = _load_dbt(
        base_tree, head_tree, "", jaffle_manifest("sources", "base"), jaffle_manifest("sources", "head")
    )
    assert loaded is not None
    base, head = loaded[0].project, loaded[1].project
    result = run_canary(
        base,
        head,
        analyze(base),
        analyze(head),
        head_tree=head_tree,
        selected=["stg_orders", "customers", "orders"],
    )
    assert {m.name: m.status for m in result.models} == {
        "stg_orders": "compared",
        "customers": "compared",
        "orders": "compared",
    }
    assert all(m.reconciliation is not None and m.reconciliation.identical for m in result.models)
    coverage = {c.name: c for c in result.sources}
    assert "the columns the models read" in (coverage["raw_payments"].note or "")


def test_volatile_columns_are_left_out_of_the_data_diff_and_reported(volatile: RunReport) -> None:
    assert volatile.canary is not None
    customers = next(m for m in volatile.canary.models if m.name == "customers")
    assert customers.reconciliation is not None
    assert customers.reconciliation.changed == 38  # the coalesce, not the build timestamp
    assert dict(customers.excluded) == {
        "loaded_at": "current_timestamp",
        "dbt_invocation_id": "dbt's invocation_id",
        "extracted_on": "stg_customers.extracted_on: current_date",
    }
    shares = [f.message for f in volatile.findings if f.rule == "canary-changed-rows"]
    assert shares == [
        "customers: 38.0% of rows differ between base and head (0 added, 0 removed, 38 changed)"
    ]
    as_json = volatile.to_json()
    model = next(m for m in as_json["canary"]["models"] if m["name"] == "customers")
    assert {e["column"] for e in model["excluded"]} == {"loaded_at", "dbt_invocation_id", "extracted_on"}
    from app.report import render_report

    shown = "not compared, their values differ on every run: loaded_at (current_timestamp)"
    assert shown in render_report(volatile, "text")
    assert shown.replace("_", "\\_") in render_report(volatile, "markdown")  # markdown escapes the _


def test_select_star_from_an_undeclared_source_is_a_notice_and_its_readers_are_checked() -> None:
    from app.dbt.manifest import parse_manifest
    from app.dbt.project import build_project
    from app.pipeline import evaluate
    from app.project.tree import MemoryTree
    from tests.dbt.conftest import manifest_doc, model, rel

    source = {
        "source.shop.app.events": {
            "source_name": "app",
            "name": "events",
            "identifier": "events",
            "database": "warehouse",
            "schema": "raw",
            "relation_name": '"warehouse"."raw"."events"',
            "resource_type": "source",
            "columns": {},
        }
    }

    def project(reader: str) -> object:
        doc = manifest_doc(
            model("stg_events", 'select * from "warehouse"."raw"."events"'),
            model("daily", f"select {reader} from {rel('stg_events')} group by 1", depends=("stg_events",)),
            sources=source,
        )
        return build_project(
            parse_manifest(json.dumps(doc), "m"), root="", label="x", read=lambda p: None
        ).project

    base, head = project("id, count(*) as n"), project("count(*) as n, id")
    report = evaluate(base, head, head_tree=MemoryTree({}), canary=False, today=dt.date(2026, 12, 1))  # type: ignore[arg-type]
    assert [f for f in report.findings if f.blocking] == []
    notices = {(f.dataset, f.rule) for f in report.findings}
    assert ("stg_events", "sql-columns-unknown") in notices
    assert ("daily", "column-reordered") in notices  # the reader is still analysed and classified


def test_sample_data_types_a_source_nobody_declared(tmp_path: Path) -> None:
    from app.sql.analyze import analyze

    repo = jaffle_repo(tmp_path, "sources")
    head = load_manifest(jaffle_manifest("sources", "head"), GitTree(repo, "HEAD"), "dbt")
    columns = analyze(head.project).models["stg_orders"].columns
    assert [(c.name, c.type) for c in columns] == [
        ("order_id", "BIGINT"),
        ("status", "VARCHAR"),
        ("order_date", "DATE"),
        ("customer_id", "BIGINT"),
    ]
