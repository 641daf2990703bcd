"""`check` end to end on the dbt demo in a real git repository: both gates over dbt's manifests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from app.gate.result import RunReport
from app.pipeline import run_check
from app.types import Verdict


@pytest.fixture(scope="module")
def report(dbt_repo: Path) -> RunReport:
    return run_check(dbt_repo, "HEAD~1", "HEAD", "transform", today=dt.date(2026, 1, 15))


def test_contract_breaks_block_and_the_new_model_version_is_accepted(report: RunReport) -> None:
    contracts = report.gate("contracts")
    assert contracts is not None and contracts.verdict is Verdict.FAIL
    blocking = {(f.dataset, f.rule, f.column) for f in contracts.blocking}
    assert ("fct_orders", "column-removed", "discount_amount") in blocking
    assert ("fct_orders", "physical-type-narrowed", "status") in blocking
    assert ("fct_orders", "required-relaxed", "customer_id") in blocking
    assert not any(f.dataset == "dim_customers" for f in contracts.blocking)
    assert any(f.dataset == "dim_customers" and f.accepted for f in contracts.findings)


def test_model_rename_and_equivalent_change_are_recognised(report: RunReport) -> None:
    rules = {(f.dataset, f.rule) for f in report.findings}
    assert ("customer_revenue", "dataset-renamed") in rules
    assert ("orders_daily", "column-reordered") in rules  # equivalent: reported as info, not as a change
    assert not any(f.gate == "canary" and f.dataset == "orders_daily" for f in report.findings)


def test_canary_catches_the_data_change_the_contract_cannot_see(report: RunReport) -> None:
    changed = {f.dataset for f in report.findings if f.gate == "canary" and f.rule == "canary-changed-rows"}
    assert {"stg_orders", "fct_orders"} <= changed


def test_check_command_with_manifest_flags_exits_1_on_the_breaking_change(dbt_repo: Path) -> None:
    import json
    import subprocess
    import sys

    from tests.dbt.conftest import DEMO

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "check",
            "--base",
            "HEAD~1",
            "--project",
            str(dbt_repo / "transform"),
            "--base-manifest",
            str(DEMO / "target-base" / "manifest.json"),
            "--manifest",
            str(DEMO / "target" / "manifest.json"),
            "--no-canary",
            "--format",
            "json",
            "-q",
        ],
        capture_output=True,
        text=True,
        cwd=dbt_repo,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    blocking = [f for g in report["gates"] for f in g["findings"] if f["blocking"]]
    assert {(f["dataset"], f["rule"]) for f in blocking} >= {("fct_orders", "column-removed")}
    assert all(f["file"].startswith("transform/") for f in blocking)
    verdicts = {m["model"]: (m["verdict"], m["detail"], m["renamed_from"]) for m in report["models"]}
    assert verdicts["customer_revenue"] == ("rename", None, "customer_payments")
    assert verdicts["orders_daily"] == ("equivalent", None, None)
    assert verdicts["fct_orders"] == ("schema_change", "breaking", None)
    assert verdicts["stg_orders"] == ("logic_change", None, None)  # ordered_at truncated to the day
    assert all(m["file"].startswith("transform/") for m in report["models"])


def test_breaking_findings_name_the_exposures_they_hit(report: RunReport) -> None:
    # dbt's own rules run on top of datacanary's: a breaking change says which exposures read it
    hit = [f for f in report.findings if f.gate == "contracts" and f.dataset == "fct_orders" and f.blocking]
    assert hit and all("Weekly revenue" in str(f.data.get("exposures")) for f in hit)


def test_a_head_manifest_without_a_base_manifest_is_refused(dbt_repo: Path) -> None:
    import subprocess
    import sys

    from tests.dbt.conftest import DEMO

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "check",
            "--base",
            "HEAD~1",
            "--project",
            str(dbt_repo / "transform"),
            "--manifest",
            str(DEMO / "target" / "manifest.json"),
            "--no-canary",
            "-q",
        ],
        capture_output=True,
        text=True,
        cwd=dbt_repo,
        check=False,
    )
    assert proc.returncode == 2
    assert "--base-manifest" in proc.stderr and "Traceback" not in proc.stderr
