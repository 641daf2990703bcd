"""A contract's (or a schema object's) lifecycle `status`: retiring breaks readers, deprecating warns them,
other moves are info; each at the `status:` line of the edited real file."""

from __future__ import annotations

import datetime as dt

import pytest

from app.contracts.diff import diff_contracts
from app.contracts.model import Contract
from app.contracts.parse import parse_contract
from app.contracts.policy import apply_policy
from app.findings import Finding
from app.project.config import PolicyConfig
from app.types import Impact, Severity
from tests.contracts.test_real_edits import FULL, REAL

_TODAY = dt.date(2026, 6, 1)
_CUSTOM, _KEY = "    customProperties:\n", "      - property: business-key\n"


def _edit(old: str, new: str) -> tuple[str, str]:
    text = (REAL / FULL).read_text()
    assert old in text
    return text, text.replace(old, new, 1)


def _findings(old: Contract, new: Contract) -> list[Finding]:
    """The findings of the default policy."""
    changes = diff_contracts(old, new)
    return apply_policy(changes, base=old, head=new, policy=PolicyConfig(), waivers=[], today=_TODAY)


@pytest.mark.parametrize(
    ("base", "head", "rule", "impact", "severity"),
    [
        ("active", "retired", "status-retired", Impact.BREAKING, Severity.ERROR),
        ("active", "deprecated", "status-deprecated", Impact.UNKNOWN, Severity.WARNING),
        ("active", "draft", "status-changed", Impact.UNKNOWN, Severity.WARNING),
        ("deprecated", "retired", "status-retired", Impact.BREAKING, Severity.ERROR),
        ("retired", "active", "status-changed", Impact.INFO, Severity.NOTICE),
        ("draft", "active", "status-changed", Impact.INFO, Severity.NOTICE),
        ("active", "Active", None, None, None),  # the same status spelled in capitals
    ],
)
def test_contract_status_change_is_reported_at_the_status_line(
    base: str, head: str, rule: str | None, impact: Impact | None, severity: Severity | None
) -> None:
    before, after = _edit("status: active", f"status: {head}")
    before = before.replace("status: active", f"status: {base}", 1)
    old, new = parse_contract(before, FULL), parse_contract(after, FULL)
    findings = _findings(old, new)
    if rule is None:
        assert findings == []
        return
    assert [(f.rule, f.impact, f.severity) for f in findings] == [(rule, impact, severity)]
    [f] = findings
    assert after.splitlines()[f.location.line - 1] == f"status: {head}"  # type: ignore[union-attr]
    assert (f.old, f.new) == (base, head) and f.data["base_line"] == 5
    assert "datasets tbl, receivers" in f.message


def test_retiring_the_contract_is_accepted_by_a_major_version_bump() -> None:
    before, after = _edit("status: active", "status: retired")
    old = parse_contract(before, FULL)
    new = parse_contract(after.replace("version: 1.1.0", "version: 2.0.0"), FULL)
    findings = _findings(old, new)
    [retired] = [f for f in findings if f.rule == "status-retired"]
    assert retired.accepted is not None and retired.accepted.by == "major-version"


def test_a_schema_objects_status_custom_property_is_compared() -> None:
    def declared(status: str) -> str:
        return f"{_CUSTOM}      - property: status\n        value: {status}\n{_KEY}"

    text = (REAL / FULL).read_text()
    base, head = (text.replace(_CUSTOM + _KEY, declared(s), 1) for s in ("active", "deprecated"))
    changes = diff_contracts(parse_contract(base, FULL), parse_contract(head, FULL))
    assert [(c.kind.value, c.dataset, c.impact) for c in changes] == [
        ("status-deprecated", "tbl", Impact.UNKNOWN)
    ]
    line = head.splitlines()[changes[0].location.line - 1]  # type: ignore[union-attr]
    assert line == "      - property: status"
    assert changes[0].message.startswith("dataset tbl status active -> deprecated")
