"""An SLA entry whose `element` (or, under a stable ODCS 3.1 `id`, whose property) is edited is one changed
SLA, old -> new, never a removal plus an addition; looser for its readers is breaking, tighter is not."""

from __future__ import annotations

import pytest

from app.contracts.diff import diff_contracts
from app.contracts.parse import parse_contract
from app.types import Impact
from tests.contracts.test_real_edits import FULL, REAL

# the standard's full example: its latency SLA of `tab1.txn_ref_dt` (a table the file does not declare)
_LATENCY = (
    "    value: 4\n    unit: d # d, day, days for days; y, yr, years for years\n    element: tab1.txn_ref_dt"
)
_OWN = _LATENCY.replace("tab1.txn_ref_dt", "tbl.transaction_reference_date")  # one of its own columns


def _changes(base: str, head: str) -> list[tuple[str, Impact, str, str]]:
    """(rule, impact, message, head line) of each change."""
    lines = head.splitlines()
    return [
        (
            c.kind.value,
            c.impact,
            c.message,
            lines[c.location.line - 1] if c.location and c.location.line else "",
        )
        for c in diff_contracts(parse_contract(base, FULL), parse_contract(head, FULL))
    ]


@pytest.mark.parametrize(
    ("value", "impact", "says"),
    [
        ("4", Impact.UNKNOWN, "element tab1.txn_ref_dt -> tbl.txn_ref_dt: readers of the old one may"),
        ("8", Impact.BREAKING, "weakened: element tab1.txn_ref_dt -> tbl.txn_ref_dt, 4 d -> 8 d"),
        (
            "2",
            Impact.UNKNOWN,
            "changed: element tab1.txn_ref_dt -> tbl.txn_ref_dt, 4 d -> 2 d",
        ),  # not breaking
    ],
)
def test_an_sla_moved_to_another_element_is_one_change_at_its_element_line(
    value: str, impact: Impact, says: str
) -> None:
    text = (REAL / FULL).read_text()
    moved = _LATENCY.replace("tab1.txn_ref_dt", "tbl.txn_ref_dt").replace("value: 4", f"value: {value}")
    [(rule, found, message, line)] = _changes(text, text.replace(_LATENCY, moved, 1))
    assert (rule, found) == ("sla-weakened", impact)
    assert says in message and line.startswith("    element: tbl.txn_ref_dt")


def test_an_sla_moved_off_a_column_that_is_still_there_is_weakened() -> None:
    base = (REAL / FULL).read_text().replace(_LATENCY, _OWN, 1)
    head = base.replace("element: tbl.transaction_reference_date", "element: tbl.rcvr_id", 1)
    [(rule, impact, message, _)] = _changes(base, head)
    assert (rule, impact) == ("sla-weakened", Impact.BREAKING)
    assert message.endswith("tbl.transaction_reference_date is still there, no longer covered")


@pytest.mark.parametrize(("value", "expected"), [("4", []), ("8", [("sla-weakened", Impact.BREAKING)])])
def test_an_sla_following_its_renamed_column_is_compared_by_value(
    value: str, expected: list[tuple[str, Impact]]
) -> None:
    base = (REAL / FULL).read_text().replace(_LATENCY, _OWN, 1)
    head = (
        base.replace("        name: transaction_reference_date\n", "        name: txn_date\n", 1)
        .replace("element: tbl.transaction_reference_date", "element: tbl.txn_date", 1)
        .replace("    value: 4\n", f"    value: {value}\n", 1)
    )
    found = [(rule, impact) for rule, impact, _, _ in _changes(base, head) if rule != "column-renamed"]
    assert found == expected


def test_an_sla_under_a_stable_id_whose_property_changed_is_one_change() -> None:
    base = (
        (REAL / FULL).read_text().replace("  - property: latency #", "  - id: lat\n    property: latency #")
    )
    head = base.replace("    property: latency #", "    property: freshness #", 1)
    [(rule, impact, message, line)] = _changes(base, head)
    assert (rule, impact) == ("sla-weakened", Impact.UNKNOWN)
    assert "property latency -> freshness" in message and line.startswith("    property: freshness")
