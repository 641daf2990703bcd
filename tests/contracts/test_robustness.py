"""Whatever a contract file holds, parsing ends in a Contract or a ContractError at a line, not a crash."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.contracts.parse import parse_contract
from app.errors import ContractError
from tests.contracts.conftest import base_doc

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8), st.floats(allow_nan=False)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
KEYS = st.sampled_from([
    "name", "logicalType", "physicalType", "required", "unique", "primaryKey", "primaryKeyPosition",
    "quality", "customProperties", "logicalTypeOptions", "enum", "properties", "classification", "id",
    "examples", "tags",
])  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 4), KEYS, VALUES), min_size=1, max_size=4))
def test_corrupted_contracts_fail_cleanly(edits: list[tuple[int, str, Any]]) -> None:
    doc = copy.deepcopy(base_doc())
    props = doc["schema"][0]["properties"]
    for index, key, value in edits:
        props[index % len(props)][key] = value
    try:
        contract = parse_contract(yaml.safe_dump(doc), "contracts/fuzz.odcs.yaml")
    except ContractError as exc:
        assert exc.location is not None and exc.location.path == "contracts/fuzz.odcs.yaml"
        assert exc.location.line is not None and exc.location.line >= 1
        assert exc.hint
    else:
        assert contract.datasets


TOP_KEYS = st.sampled_from([
    "schema", "slaProperties", "customProperties", "team", "version", "id", "apiVersion", "kind", "status",
])  # fmt: skip
DATASET_KEYS = st.sampled_from(
    ["name", "physicalName", "physicalType", "quality", "properties", "customProperties", "tags", "id"]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(TOP_KEYS, VALUES), max_size=2),
    st.lists(st.tuples(DATASET_KEYS, VALUES), max_size=2),
)
def test_corrupted_top_level_and_datasets_fail_cleanly(
    top: list[tuple[str, Any]], dataset: list[tuple[str, Any]]
) -> None:
    doc = copy.deepcopy(base_doc())
    for key, value in dataset:
        doc["schema"][0][key] = value
    for key, value in top:
        doc[key] = value
    try:
        parse_contract(yaml.safe_dump(doc), "contracts/fuzz.odcs.yaml")
    except ContractError as exc:
        assert exc.location is not None and exc.location.line is not None


def test_valid_values_that_are_not_a_list_are_a_contract_error_at_their_line() -> None:
    """Found by tests/fuzz: `validValues:` left empty made parsing raise TypeError."""
    text = (
        "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: active\nschema:\n"
        "  - name: t\n    properties:\n      - name: s\n        logicalType: string\n        quality:\n"
        "          - metric: invalidValues\n            arguments:\n              validValues:\n"
        "            mustBe: 0\n"
    )
    try:
        parse_contract(text, "t.odcs.yaml")
    except ContractError as exc:
        assert "validValues must be a list" in exc.message and exc.location.line == 14
    else:
        raise AssertionError("accepted validValues: null")
