"""A list item with a stable `id` (an ODCS 3.2 `enum` value, a relationship) edited under that id is one
change old -> new at the item's line, not an addition plus a removal."""

from __future__ import annotations

import pytest

from app.contracts.diff import diff_contracts
from app.contracts.parse import parse_contract
from app.types import Impact

_STATUS = (
    "apiVersion: v3.2.0\nkind: DataContract\nid: o\nversion: 1.0.0\nstatus: active\nschema:\n"
    "  - name: orders\n    properties:\n      - name: status\n        logicalType: string\n"
    "        enum:\n          - value: pending\n            id: st_pending\n"
    "          - value: shipped\n            id: st_shipped\n            label: Shipped\n"
)


def _changes(base: str, head: str) -> list[tuple[str, Impact, object, object, str]]:
    lines = head.splitlines()
    return [
        (
            c.kind.value,
            c.impact,
            c.old,
            c.new,
            lines[c.location.line - 1] if c.location and c.location.line else "",
        )
        for c in diff_contracts(parse_contract(base, "c"), parse_contract(head, "c"))
    ]


def test_an_enum_value_renamed_under_its_id_is_one_breaking_rename_at_its_line() -> None:
    head = _STATUS.replace("value: shipped", "value: dispatched")
    assert _changes(_STATUS, head) == [
        ("enum-value-renamed", Impact.BREAKING, "shipped", "dispatched", "          - value: dispatched")
    ]
    [change] = diff_contracts(parse_contract(_STATUS, "c"), parse_contract(head, "c"))
    assert change.message.startswith("allowed value 'shipped' renamed to 'dispatched'")
    assert change.base_location is not None and change.base_location.line == 14


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        # an id dropped from its value: the values are the same
        (_STATUS.replace("value: shipped\n            id: st_shipped", "value: shipped"), []),
        # a value replaced under a new id: added and removed, as without ids
        (
            _STATUS.replace(
                "value: shipped\n            id: st_shipped", "value: lost\n            id: st_lost"
            ),
            ["enum-value-added", "enum-value-removed"],
        ),
    ],
)
def test_only_the_same_id_makes_a_rename(head: str, expected: list[str]) -> None:
    assert [c[0] for c in _changes(_STATUS, head) if c[0].startswith("enum-")] == expected


_LINKS = (
    "apiVersion: v3.2.0\nkind: DataContract\nid: o\nversion: 1.0.0\nstatus: active\nschema:\n"
    "  - name: orders\n    relationships:\n      - id: to_customer\n        from: orders.customer_id\n"
    "        to: customers.id\n    properties:\n      - name: customer_id\n        logicalType: string\n"
    "      - name: buyer_id\n        logicalType: string\n"
)


def test_a_relationship_edited_under_its_id_is_one_change() -> None:
    head = _LINKS.replace("from: orders.customer_id", "from: orders.buyer_id").replace(
        "to: customers.id", "to: buyers.id"
    )
    [(rule, impact, old, new, line)] = _changes(_LINKS, head)
    assert (rule, impact, old, new) == (
        "relationship-changed",
        Impact.BREAKING,
        "customer_id -> customers.id",
        "buyer_id -> buyers.id",
    )
    assert line == "        to: buyers.id"
