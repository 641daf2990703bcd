"""ODCS 3.1 relationships (foreign keys), `criticalDataElement` and ODCS 3.2 `semanticType`, edited in the
standard's full example: what a consumer joins on, and which columns carry a CDE's controls."""

from __future__ import annotations

import pytest

from app.contracts.diff import diff_contracts
from app.contracts.parse import parse_contract
from app.types import Impact
from tests.contracts.test_real_edits import FULL, REAL, _diff

_B = Impact.BREAKING
_PROPERTY_LEVEL = (
    "        relationships:\n          - to: receivers.id\n            type: foreignKey\n"
    "            customProperties:\n              - property: description\n"
    '                value: "Links to receiver master data"\n'
)
_COMPOSITE = "          - receivers.country_code\n"
_TYPE_LINK = (
    "        # Example of nested reference\n        relationships:\n          - to: receiver_types.type_code\n"
    "            customProperties:\n              - property: description\n"
    '                value: "Links to receiver type definitions"\n'
)
_TAGS = "    tags: [ 'master-data', 'receivers' ]\n"


@pytest.mark.parametrize(
    ("old", "new", "expected", "line"),
    [
        # a property's own relationship removed: at the property that held it
        (_PROPERTY_LEVEL, "", [("relationship-removed", _B)], "      - id: rcvr_id_prop"),
        (
            "          - to: receivers.id\n",
            "          - to: receivers.receiver_name\n",
            [("relationship-changed", _B)],
            "          - to: receivers.receiver_name",
        ),
        # the schema object's composite key pointed at another column: at its `to:`
        (_COMPOSITE, "          - receivers.receiver_type\n", [("relationship-changed", _B)], "        to:"),
        (
            "        classification: public\n      - id: receiver_name_prop",
            "        classification: public\n        relationships:\n          - to: tbl.rcvr_cntry_code\n"
            "      - id: receiver_name_prop",
            [("relationship-added", Impact.COMPATIBLE)],
            "          - to: tbl.rcvr_cntry_code",
        ),
        (
            "        partitionKeyPosition: -1\n        criticalDataElement: false\n        tags: [ 'uid' ]",
            "        partitionKeyPosition: -1\n        criticalDataElement: true\n        tags: [ 'uid' ]",
            [("critical-data-element-added", Impact.COMPATIBLE)],
            "        criticalDataElement: true",
        ),
    ],
)
def test_a_relationship_or_cde_edit_is_classified_at_its_line(
    old: str, new: str, expected: list[tuple[str, Impact]], line: str
) -> None:
    found, lines = _diff(FULL, old, new)
    assert found == expected
    head = (REAL / FULL).read_text().replace(old, new, 1).splitlines()
    assert head[lines[0] - 1] == line


def test_the_schema_objects_composite_key_removed_is_breaking_at_the_schema_object() -> None:
    text = (REAL / FULL).read_text()
    start, end = text.index("    relationships:\n      - type: foreignKey"), text.index("    properties:\n")
    found, lines = _diff(FULL, text[start:end], "")
    assert found == [("relationship-removed", _B)]
    assert text.replace(text[start:end], "", 1).splitlines()[lines[0] - 1] == "  - id: tbl_obj"


def test_turning_a_critical_data_element_off_is_breaking() -> None:
    text = (REAL / FULL).read_text().replace("criticalDataElement: false", "criticalDataElement: true")
    found, lines = _diff(FULL, "criticalDataElement: true", "criticalDataElement: false", text=text)
    assert found == [("critical-data-element-dropped", _B)]
    assert text.splitlines()[lines[0] - 1].strip() == "criticalDataElement: true"  # the same line in head


def _kinds(base: str, head: str) -> list[str]:
    return [c.kind.value for c in diff_contracts(parse_contract(base, FULL), parse_contract(head, FULL))]


def test_a_relationship_moved_from_its_property_to_the_schema_object_is_no_change() -> None:
    text = (REAL / FULL).read_text()
    moved = (
        "    relationships:\n      - from: receivers.receiver_type\n        to: receiver_types.type_code\n"
    )
    assert _kinds(text, text.replace(_TYPE_LINK, "", 1).replace(_TAGS, _TAGS + moved, 1)) == []


def test_a_renamed_column_whose_reference_follows_it_is_only_renamed() -> None:
    text = (REAL / FULL).read_text()
    head = text.replace("        name: rcvr_id\n", "        name: receiver_id\n", 1)
    assert _kinds(text, head.replace("- tbl.rcvr_id\n", "- tbl.receiver_id\n", 1)) == ["column-renamed"]


def test_a_removed_column_takes_its_relationship_with_it() -> None:
    text = (REAL / FULL).read_text()
    column = text[text.index("      - id: receiver_type_prop") : text.index("# Pricing")]
    assert _TYPE_LINK in column
    assert _kinds(text, text.replace(column, "\n", 1)) == ["column-removed"]


_REVENUE = (
    "apiVersion: v3.2.0\nkind: DataContract\nid: o\nversion: 1.0.0\nstatus: active\nschema:\n"
    "  - name: orders\n    properties:\n      - name: revenue\n        logicalType: number\n"
)


@pytest.mark.parametrize(
    ("base", "head", "changed"),
    [
        ("measure", "dimension", True),
        ("measure", None, True),  # unset is ODCS's default, column
        ("measure", "column", True),
        (None, "column", False),
    ],
)
def test_a_semantic_type_change_is_a_change_of_meaning(
    base: str | None, head: str | None, changed: bool
) -> None:
    def doc(semantic: str | None) -> str:
        return _REVENUE + (f"        semanticType: {semantic}\n" if semantic else "")

    changes = diff_contracts(parse_contract(doc(base), "c"), parse_contract(doc(head), "c"))
    assert [(c.kind.value, c.impact) for c in changes] == ([("semantics-changed", _B)] if changed else [])
    if changed:
        assert changes[0].message.startswith(f"semanticType {base} -> {head or 'column'}")
