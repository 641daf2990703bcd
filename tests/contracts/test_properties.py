"""Properties of the contract diff over generated contracts: identity, order independence, mutations."""

from __future__ import annotations

import copy
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.contracts.diff import diff_contracts
from app.contracts.policy import INVERSE
from app.contracts.rules import ChangeKind
from tests.contracts.conftest import to_contract

K = ChangeKind
TYPES = [
    ("integer", "int"),
    ("integer", "bigint"),
    ("string", "varchar(40)"),
    ("string", "varchar"),
    ("number", "decimal(12,2)"),
    ("number", "double"),
    ("timestamp", "timestamp"),
    ("date", "date"),
    ("boolean", "boolean"),
]
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@st.composite
def columns(draw: st.DrawFn, name: str) -> dict[str, Any]:
    logical, physical = draw(st.sampled_from(TYPES))
    col: dict[str, Any] = {
        "name": name,
        "logicalType": logical,
        "physicalType": physical,
        "required": draw(st.booleans()),
        "unique": draw(st.booleans()),
    }
    if draw(st.booleans()):
        col["description"] = draw(st.text(min_size=1, max_size=20))
    if logical == "string" and draw(st.booleans()):
        values = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
        col["quality"] = [{"metric": "invalidValues", "mustBe": 0, "arguments": {"validValues": values}}]
    if logical in ("integer", "number") and draw(st.booleans()):
        col["logicalTypeOptions"] = {"minimum": draw(st.integers(-5, 5))}
        col["quality"] = [
            {"metric": "nullValues", "mustBeLessThan": draw(st.integers(1, 100))},
            {"name": "dupes", "metric": "duplicateValues", "mustBe": 0},
        ]
    if draw(st.booleans()):
        col["customProperties"] = [{"property": "unit", "value": draw(st.sampled_from(["EUR", "USD", "kg"]))}]
    return col


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(NAMES, min_size=2, max_size=8, unique=True))
    props = [draw(columns(n)) for n in names]
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "gen",
        "version": "1.0.0",
        "status": "active",
        "schema": [
            {
                "name": "ds",
                "properties": props,
                "quality": [
                    {"metric": "rowCount", "mustBeGreaterThan": 0},
                    {"name": "fresh", "type": "sql", "query": "select 1", "mustBe": 1},
                ],
            }
        ],
        "slaProperties": [{"property": "latency", "value": draw(st.integers(1, 48)), "unit": "h"}],
    }


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(documents())
def test_diffing_a_contract_with_itself_yields_no_change(doc: dict[str, Any]) -> None:
    c = to_contract(doc)
    assert diff_contracts(c, c) == []


@SETTINGS
@given(documents(), st.randoms(use_true_random=False))
def test_reordering_columns_and_rules_only_reports_reordering(
    doc: dict[str, Any], rnd: random.Random
) -> None:
    shuffled = copy.deepcopy(doc)
    ds = shuffled["schema"][0]
    rnd.shuffle(ds["properties"])
    rnd.shuffle(ds["quality"])
    for col in ds["properties"]:
        rnd.shuffle(col.get("quality", []))
    kinds = {c.kind for c in diff_contracts(to_contract(doc), to_contract(shuffled))}
    assert kinds <= {K.COLUMN_REORDERED}
    order_changed = [p["name"] for p in ds["properties"]] != [
        p["name"] for p in doc["schema"][0]["properties"]
    ]
    assert (K.COLUMN_REORDERED in kinds) == order_changed


@SETTINGS
@given(documents(), st.data())
def test_dropping_a_column_is_column_removed(doc: dict[str, Any], data: st.DataObject) -> None:
    props = doc["schema"][0]["properties"]
    i = data.draw(st.integers(0, len(props) - 1))
    head = copy.deepcopy(doc)
    dropped = head["schema"][0]["properties"].pop(i)
    changes = diff_contracts(to_contract(doc), to_contract(head))
    assert [(c.kind, c.column) for c in changes if c.kind is not K.COLUMN_REORDERED] == [
        (K.COLUMN_REMOVED, dropped["name"])
    ]


@SETTINGS
@given(documents(), st.data())
def test_relaxing_required_is_required_relaxed(doc: dict[str, Any], data: st.DataObject) -> None:
    props = doc["schema"][0]["properties"]
    i = data.draw(st.integers(0, len(props) - 1))
    props[i]["required"] = True
    head = copy.deepcopy(doc)
    head["schema"][0]["properties"][i]["required"] = False
    changes = diff_contracts(to_contract(doc), to_contract(head))
    assert [(c.kind, c.column) for c in changes] == [(K.REQUIRED_RELAXED, props[i]["name"])]


@SETTINGS
@given(documents(), st.data())
def test_adding_an_allowed_value_is_enum_value_added(doc: dict[str, Any], data: st.DataObject) -> None:
    props = doc["schema"][0]["properties"]
    i = data.draw(st.integers(0, len(props) - 1))
    props[i].update(logicalType="string", physicalType="varchar", logicalTypeOptions={})
    props[i].pop("logicalTypeOptions")
    props[i]["quality"] = [{"metric": "invalidValues", "mustBe": 0, "arguments": {"validValues": ["a", "b"]}}]
    head = copy.deepcopy(doc)
    head["schema"][0]["properties"][i]["quality"][0]["arguments"]["validValues"] = ["a", "b", "new value"]
    changes = diff_contracts(to_contract(doc), to_contract(head))
    assert [(c.kind, c.column, c.new) for c in changes] == [
        (K.ENUM_VALUE_ADDED, props[i]["name"], "new value")
    ]


# kinds whose reverse is not their inverse: a rename is its own reverse, `timestamp -> date` narrows but
# `date -> timestamp` has no provable direction, a changed pattern loosens both ways
ASYMMETRIC = {
    K.COLUMN_RENAMED, K.PHYSICAL_TYPE_CHANGED, K.PHYSICAL_TYPE_NARROWED, K.PHYSICAL_TYPE_WIDENED,
    K.QUALITY_RULE_LOOSENED, K.QUALITY_RULE_TIGHTENED, K.CONSTRAINT_LOOSENED, K.CONSTRAINT_TIGHTENED,
}  # fmt: skip


@SETTINGS
@given(documents(), documents())
def test_reverse_diff_is_the_inverse_classification(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Forward mode relies on this: diff(head, base) classifies like INVERSE over diff(base, head)."""
    base, head = to_contract(a), to_contract(b)
    forward = sorted(
        (INVERSE.get(c.kind, c.kind).value, c.column or "")
        for c in diff_contracts(base, head)
        if c.kind not in ASYMMETRIC
    )
    backward = sorted(
        (c.kind.value, c.column or "") for c in diff_contracts(head, base) if c.kind not in ASYMMETRIC
    )
    assert forward == backward


MODES = st.sampled_from(["backward", "forward", "full", "none", "backward_transitive", "full_transitive"])


@SETTINGS
@given(documents(), documents(), MODES)
def test_policy_invariants_hold_for_any_pair(a: dict[str, Any], b: dict[str, Any], mode: str) -> None:
    """`none` never blocks; a major version bump accepts every breaking change; errors carry hints."""
    import datetime as dt

    from app.contracts.policy import apply_policy
    from app.project.config import PolicyConfig
    from app.types import Severity

    for doc in (a, b):
        doc["customProperties"] = [{"property": "compatibility", "value": mode}]
    base, head = to_contract(a), to_contract(b)
    b2 = copy.deepcopy(b)
    b2["version"] = "2.0.0"
    bumped = to_contract(b2)
    today = dt.date(2026, 1, 1)
    plain = apply_policy(
        diff_contracts(base, head),
        base=base,
        head=head,
        policy=PolicyConfig(),
        waivers=[],
        today=today,
        history=[base],
    )
    for f in plain:
        assert f.gate == "contracts" and f.location is not None
        if f.blocking:
            assert f.hint and mode != "none"
    major = apply_policy(
        diff_contracts(base, bumped), base=base, head=bumped, policy=PolicyConfig(), waivers=[], today=today
    )
    assert not any(f.blocking for f in major)
    assert all(f.accepted.by == "major-version" for f in major if f.severity is Severity.ERROR and f.accepted)
