"""One report value, three views: text for terminals, markdown for GitHub, JSON for machines."""

from __future__ import annotations

import json

import pytest

from app.errors import UsageError
from app.findings import Acceptance, Finding
from app.gate.result import GateResult, RunReport
from app.report import render_report
from app.types import Impact, Location, Severity


def _finding(rule: str, severity: Severity, accepted: bool = False, message: str = "m") -> Finding:
    return Finding(
        gate="contracts",
        rule=rule,
        severity=severity,
        message=message,
        dataset="orders",
        column="status",
        location=Location("contracts/orders.odcs.yaml", 12),
        impact=Impact.BREAKING if severity is Severity.ERROR else Impact.COMPATIBLE,
        accepted=Acceptance("waiver", "agreed", "2027-01-31") if accepted else None,
    )


REPORT = RunReport(
    project="shop",
    base="main",
    head="HEAD",
    gates=(
        GateResult(
            "contracts",
            (
                _finding("column-added", Severity.NOTICE),
                _finding("column-removed", Severity.ERROR, accepted=True),
                _finding("enum-value-added", Severity.ERROR, message="value 'a|b' added"),
            ),
        ),
        GateResult("canary", skipped_reason="--no-canary"),
    ),
)


def test_text_lists_blocking_findings_first_then_accepted_then_notices() -> None:
    text = render_report(REPORT, "text")
    order = [text.index(rule) for rule in ("enum-value-added", "column-removed", "column-added")]
    assert order == sorted(order)
    assert "verdict: FAIL · 1 blocking finding · 2 breaking changes (1 accepted)" in text
    assert "canary: SKIPPED (--no-canary)" in text
    assert "accepted by waiver: agreed (until 2027-01-31)" in text


def test_markdown_escapes_table_cells_and_names_the_location() -> None:
    md = render_report(REPORT, "markdown")
    assert "value 'a\\|b' added" in md  # a pipe in a message must not split the table row
    assert "`contracts/orders.odcs.yaml:12`" in md
    assert md.index("enum-value-added") < md.index("column-added")


def test_json_is_the_documented_shape() -> None:
    data = json.loads(render_report(REPORT, "json"))
    assert data["schema_version"] == 1 and data["verdict"] == "fail" and data["breaking_count"] == 2
    assert data["accepted_breaking_count"] == 1 and data["blocking_count"] == 1
    contracts = data["gates"][0]
    assert contracts["counts"] == {"blocking": 1, "error": 1, "warning": 0, "notice": 1, "accepted": 1}
    blocking = [f for f in contracts["findings"] if f["blocking"]]
    assert [(f["rule"], f["file"], f["line"]) for f in blocking] == [
        ("enum-value-added", "contracts/orders.odcs.yaml", 12)
    ]


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown format"):
        render_report(REPORT, "html")
