"""`datacanary check` end to end on the demo shop: a real git repository, real DuckDB, the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


def check_demo(demo_repo, head: str, *extra: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """`datacanary check` of the demo repository from its base to `head`, as a separate process."""
    return run_cli(
        "check", "--project", str(demo_repo.path), "--base", demo_repo.base, "--head", head, *extra
    )


@pytest.fixture(scope="module")
def demo_report(demo_repo):  # type: ignore[no-untyped-def]
    proc = check_demo(demo_repo, demo_repo.head, "--format", "json", "--quiet")
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)


def _finding(report, rule, dataset, column=None):  # type: ignore[no-untyped-def]
    hits = [
        f
        for g in report["gates"]
        for f in g["findings"]
        if f["rule"] == rule and f["dataset"] == dataset and (column is None or f["column"] == column)
    ]
    assert hits, f"no {rule} finding for {dataset}.{column}: " + json.dumps(
        [(f["rule"], f["dataset"], f["column"]) for g in report["gates"] for f in g["findings"]]
    )
    return hits[0]


def test_demo_fails_on_the_unversioned_enum_addition(demo_report) -> None:  # type: ignore[no-untyped-def]
    f = _finding(demo_report, "enum-value-added", "fct_orders", "status")
    assert f["blocking"] is True
    assert f["file"] == "contracts/fct_orders.odcs.yaml"
    assert isinstance(f["line"], int) and f["line"] > 1
    assert "refunded" in f["message"]
    assert demo_report["verdict"] == "fail"


def test_waiver_accepts_the_pii_column_removal(demo_report) -> None:  # type: ignore[no-untyped-def]
    f = _finding(demo_report, "column-removed", "dim_customers", "email")
    assert f["blocking"] is False
    assert f["accepted"]["by"] == "waiver"
    assert "DATA-142" in f["accepted"]["reason"]


def test_major_version_accepts_the_weakened_sla(demo_report) -> None:  # type: ignore[no-untyped-def]
    f = _finding(demo_report, "sla-weakened", "daily_revenue")
    assert f["blocking"] is False
    assert f["accepted"]["by"] == "major-version"


def test_added_column_and_tightened_required_are_compatible(demo_report) -> None:  # type: ignore[no-untyped-def]
    assert _finding(demo_report, "column-added", "dim_customers", "is_repeat_buyer")["impact"] == "compatible"
    assert _finding(demo_report, "required-tightened", "dim_customers", "country")["blocking"] is False


def test_canary_catches_the_join_fan_out_the_contract_gate_misses(demo_report) -> None:  # type: ignore[no-untyped-def]
    canary = next(g for g in demo_report["gates"] if g["name"] == "canary")
    assert canary["verdict"] == "fail"
    fct = [f for f in canary["findings"] if f["dataset"] == "fct_orders"]
    assert fct, canary["findings"]
    assert any(f["blocking"] for f in fct)
    # data findings point at the model; a failed quality rule points at the rule in the contract
    assert {f["file"] for f in fct} <= {"models/marts/fct_orders.sql", "contracts/fct_orders.odcs.yaml"}
    assert any(f["rule"] == "canary-duplicate-keys" for f in fct)


def test_blast_radius_reaches_downstream_consumers(demo_report) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps(demo_report["blast_radius"])
    assert "dim_customers" in text and "crm-sync" in text


def test_text_and_markdown_reports_name_the_blocking_change(demo_repo) -> None:  # type: ignore[no-untyped-def]
    for fmt, needle in (("text", "enum-value-added"), ("markdown", "`enum-value-added`")):
        proc = check_demo(demo_repo, demo_repo.head, "--format", fmt, "--quiet", "--no-canary")
        assert proc.returncode == 1, proc.stderr
        assert needle in proc.stdout
        assert "Traceback" not in proc.stderr


def test_unchanged_revision_passes(demo_repo) -> None:  # type: ignore[no-untyped-def]
    proc = check_demo(demo_repo, demo_repo.base, "--format", "json", "--quiet")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert json.loads(proc.stdout)["verdict"] in ("pass", "skipped")


def test_unknown_revision_is_a_clear_usage_error(demo_repo, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["check", "--project", str(demo_repo.path), "--base", "no-such-branch", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no-such-branch" in err and "fetch-depth" in err
    assert "Traceback" not in err


def test_unknown_command_exits_2(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err
