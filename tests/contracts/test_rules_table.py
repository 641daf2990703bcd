"""One case per contract rule, in both directions: base -> head gives the rule, head -> base its inverse."""

from __future__ import annotations

from typing import Any

import pytest

from app.contracts.diff import diff_contracts
from app.contracts.rules import RULES, ChangeKind
from app.types import Impact
from tests.contracts.conftest import Mutation, base_doc, mutated, prop, to_contract

K = ChangeKind


def _set(name: str, key: str, value: Any) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        prop(doc, name)[key] = value
        if key in ("enum", "deprecated"):  # keys ODCS added in v3.2.0: the file must declare it
            doc["apiVersion"] = "v3.2.0"

    return apply


def _drop(name: str, key: str) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        prop(doc, name).pop(key)

    return apply


def _option(name: str, key: str, value: Any) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        prop(doc, name).setdefault("logicalTypeOptions", {})[key] = value

    return apply


def _valid_values(values: list[Any]) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        prop(doc, "status")["quality"][0]["arguments"]["validValues"] = values

    return apply


def _remove_column(name: str) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        cols = doc["schema"][0]["properties"]
        cols[:] = [c for c in cols if c["name"] != name]

    return apply


def _rename_column(old: str, new: str, **extra: Any) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        prop(doc, old).update(name=new, **extra)

    return apply


def _both(*mutations: Mutation) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        for m in mutations:
            m(doc)

    return apply


def _second_dataset(doc: dict[str, Any]) -> None:
    doc["schema"].append({"name": "refunds", "properties": [{"name": "refund_id", "logicalType": "integer"}]})


def _dataset(key: str, value: Any) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        doc["schema"][0][key] = value

    return apply


def _sla(prop_name: str, value: Any, unit: str) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        sla = next(s for s in doc["slaProperties"] if s["property"] == prop_name)
        sla.update(value=value, unit=unit)

    return apply


def _null_rule(**operator: Any) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        prop(doc, "amount")["quality"] = [{"metric": "nullValues", **operator}]

    return apply


def _reorder(doc: dict[str, Any]) -> None:
    cols = doc["schema"][0]["properties"]
    cols[0], cols[1] = cols[1], cols[0]


def _noop(doc: dict[str, Any]) -> None:
    return None


# (id, base mutation, head mutation, kinds base->head, kinds head->base)
CASES: list[tuple[str, Mutation, Mutation, set[ChangeKind], set[ChangeKind]]] = [
    ("dataset-removed", _second_dataset, _noop, {K.DATASET_REMOVED}, {K.DATASET_ADDED}),
    ("dataset-renamed", _noop, _dataset("name", "orders_v2"), {K.DATASET_RENAMED}, {K.DATASET_RENAMED}),
    (
        "dataset-physical-name",
        _noop,
        _dataset("physicalName", "orders_tbl"),
        {K.DATASET_RENAMED},
        {K.DATASET_RENAMED},
    ),
    ("column-removed", _noop, _remove_column("email"), {K.COLUMN_REMOVED}, {K.COLUMN_ADDED}),
    (
        "column-renamed-by-id",
        _set("email", "id", "email_id"),
        _both(
            _set("email", "id", "email_id"),
            _rename_column("email", "contact_email", physicalType="varchar(100)"),
        ),
        {K.COLUMN_RENAMED, K.PHYSICAL_TYPE_NARROWED},
        {K.COLUMN_RENAMED, K.PHYSICAL_TYPE_WIDENED},
    ),
    (
        "column-renamed-by-physical-name",
        _set("email", "physicalName", "email_addr"),
        _both(
            _set("email", "physicalName", "email_addr"), _rename_column("email", "contact_email"), _reorder
        ),
        {K.COLUMN_RENAMED, K.COLUMN_REORDERED},
        {K.COLUMN_RENAMED, K.COLUMN_REORDERED},
    ),
    (
        "column-renamed-same-shape",
        _noop,
        _rename_column("ordered_at", "placed_at"),
        {K.COLUMN_RENAMED},
        {K.COLUMN_RENAMED},
    ),
    (
        "column-physical-name",
        _noop,
        _set("email", "physicalName", "email_address"),
        {K.COLUMN_RENAMED},
        {K.COLUMN_RENAMED},
    ),
    (
        "logical-type",
        _noop,
        _both(_set("order_id", "logicalType", "string"), _set("order_id", "physicalType", "varchar")),
        {K.LOGICAL_TYPE_CHANGED},
        {K.LOGICAL_TYPE_CHANGED},
    ),
    (
        "varchar-narrowed",
        _noop,
        _set("email", "physicalType", "varchar(100)"),
        {K.PHYSICAL_TYPE_NARROWED},
        {K.PHYSICAL_TYPE_WIDENED},
    ),
    (
        "collation-declared",  # sqlglot's type parser drops COLLATE: read apart, a change of meaning
        _noop,
        _set("status", "physicalType", "varchar(20) COLLATE nocase"),
        {K.SEMANTICS_CHANGED},
        {K.SEMANTICS_CHANGED},
    ),
    (
        "collation-and-length",
        _noop,
        _set("status", "physicalType", 'varchar(10) collate "und-x-icu"'),
        {K.SEMANTICS_CHANGED, K.PHYSICAL_TYPE_NARROWED},
        {K.SEMANTICS_CHANGED, K.PHYSICAL_TYPE_WIDENED},
    ),
    (
        "collation-respelled",
        _set("status", "physicalType", 'VARCHAR(20) COLLATE "NOCASE"'),
        _set("status", "physicalType", "varchar(20) collate nocase"),
        set(),
        set(),
    ),
    (
        "int-narrowed",
        _noop,
        _set("order_id", "physicalType", "int"),
        {K.PHYSICAL_TYPE_NARROWED},
        {K.PHYSICAL_TYPE_WIDENED},
    ),
    (
        "decimal-precision-widened",
        _noop,
        _set("amount", "physicalType", "decimal(14,2)"),
        {K.PHYSICAL_TYPE_WIDENED},
        {K.PHYSICAL_TYPE_NARROWED},
    ),
    (
        "decimal-scale-reduced",
        _noop,
        _set("amount", "physicalType", "decimal(11,1)"),
        {K.PHYSICAL_TYPE_NARROWED},
        {K.PHYSICAL_TYPE_WIDENED},
    ),
    (
        "timestamp-to-date-physical",
        _noop,
        _set("ordered_at", "physicalType", "date"),
        {K.PHYSICAL_TYPE_NARROWED},
        {K.PHYSICAL_TYPE_CHANGED},
    ),
    (
        "timestamp-to-date-logical",
        _noop,
        _both(_set("ordered_at", "logicalType", "date"), _set("ordered_at", "physicalType", "date")),
        {K.LOGICAL_TYPE_CHANGED},
        {K.LOGICAL_TYPE_CHANGED},
    ),
    (
        "physical-type-no-direction",
        _noop,
        _set("ordered_at", "physicalType", "timestamptz"),
        {K.PHYSICAL_TYPE_CHANGED},
        {K.PHYSICAL_TYPE_CHANGED},
    ),
    (
        "required-relaxed",
        _noop,
        _set("status", "required", False),
        {K.REQUIRED_RELAXED},
        {K.REQUIRED_TIGHTENED},
    ),
    ("unique-dropped", _noop, _set("order_id", "unique", False), {K.UNIQUE_DROPPED}, {K.UNIQUE_ADDED}),
    (
        "primary-key-column-renamed",
        _set("order_id", "id", "order_key"),
        _both(_set("order_id", "id", "order_key"), _rename_column("order_id", "order_no")),
        {K.COLUMN_RENAMED},
        {K.COLUMN_RENAMED},
    ),
    (
        "primary-key-moved",
        _noop,
        _both(_set("order_id", "primaryKey", False), _set("email", "primaryKey", True)),
        {K.PRIMARY_KEY_CHANGED},
        {K.PRIMARY_KEY_CHANGED},
    ),
    (
        "enum-value-added",
        _noop,
        _valid_values(["placed", "shipped", "cancelled", "refunded"]),
        {K.ENUM_VALUE_ADDED},
        {K.ENUM_VALUE_REMOVED},
    ),
    (
        "native-enum-value-added",
        _set("status", "enum", [{"value": "a"}]),
        _set("status", "enum", [{"value": "a"}, {"value": "b"}]),
        {K.ENUM_VALUE_ADDED},
        {K.ENUM_VALUE_REMOVED},
    ),
    (
        "native-enum-value-renamed",
        _set("status", "enum", [{"value": "a", "id": "v1"}, {"value": "b"}]),
        _set("status", "enum", [{"value": "c", "id": "v1"}, {"value": "b"}]),
        {K.ENUM_VALUE_RENAMED},
        {K.ENUM_VALUE_RENAMED},
    ),
    (
        "allowed-values-undeclared",
        _noop,
        _set("status", "quality", []),
        {K.CONSTRAINT_LOOSENED, K.QUALITY_RULE_REMOVED},
        {K.CONSTRAINT_TIGHTENED, K.QUALITY_RULE_ADDED},
    ),
    (
        "max-length-raised",
        _noop,
        _option("status", "maxLength", 30),
        {K.CONSTRAINT_LOOSENED},
        {K.CONSTRAINT_TIGHTENED},
    ),
    (
        "minimum-lowered",
        _noop,
        _option("amount", "minimum", -10),
        {K.CONSTRAINT_LOOSENED},
        {K.CONSTRAINT_TIGHTENED},
    ),
    (
        "maximum-added",
        _noop,
        _option("amount", "maximum", 10_000),
        {K.CONSTRAINT_TIGHTENED},
        {K.CONSTRAINT_LOOSENED},
    ),
    (
        "pattern-changed",
        _noop,
        _option("status", "pattern", "^[a-z_]+$"),
        {K.CONSTRAINT_LOOSENED},
        {K.CONSTRAINT_LOOSENED},
    ),
    (
        "unit-changed",
        _noop,
        _set("amount", "customProperties", [{"property": "unit", "value": "USD"}]),
        {K.SEMANTICS_CHANGED},
        {K.SEMANTICS_CHANGED},
    ),
    (
        "quality-rule-removed",
        _noop,
        _set("amount", "quality", []),
        {K.QUALITY_RULE_REMOVED},
        {K.QUALITY_RULE_ADDED},
    ),
    (
        "quality-rule-loosened",
        _noop,
        _null_rule(mustBeLessThan=10),
        {K.QUALITY_RULE_LOOSENED},
        {K.QUALITY_RULE_TIGHTENED},
    ),
    (
        "quality-rule-changed",
        _noop,
        _null_rule(mustBeBetween=[1, 5]),
        {K.QUALITY_RULE_CHANGED},
        {K.QUALITY_RULE_CHANGED},
    ),
    (
        "dataset-quality-loosened",
        _noop,
        _dataset("quality", [{"metric": "rowCount", "mustBeGreaterThan": -1}]),
        {K.QUALITY_RULE_LOOSENED},
        {K.QUALITY_RULE_TIGHTENED},
    ),
    ("latency-weakened", _noop, _sla("latency", 1, "d"), {K.SLA_WEAKENED}, {K.SLA_STRENGTHENED}),
    ("retention-shortened", _noop, _sla("retention", 30, "days"), {K.SLA_WEAKENED}, {K.SLA_STRENGTHENED}),
    (
        "availability-lowered",
        _noop,
        _sla("availability", 99, "percent"),
        {K.SLA_WEAKENED},
        {K.SLA_STRENGTHENED},
    ),
    (
        "classification-changed",
        _noop,
        _set("email", "classification", "public"),
        {K.CLASSIFICATION_CHANGED},
        {K.CLASSIFICATION_CHANGED},
    ),
    (
        "materialization-changed",
        _noop,
        _dataset("physicalType", "view"),
        {K.MATERIALIZATION_CHANGED},
        {K.MATERIALIZATION_CHANGED},
    ),
    (
        "partitioning-changed",
        _noop,
        _set("ordered_at", "partitioned", True),
        {K.MATERIALIZATION_CHANGED},
        {K.MATERIALIZATION_CHANGED},
    ),
    (
        "description-changed",
        _noop,
        _set("ordered_at", "description", "Order time (UTC)."),
        {K.DOCUMENTATION_CHANGED},
        {K.DOCUMENTATION_CHANGED},
    ),
    ("columns-reordered", _noop, _reorder, {K.COLUMN_REORDERED}, {K.COLUMN_REORDERED}),
    (
        "compatibility-changed",
        _noop,
        lambda d: d.update(customProperties=[{"property": "compatibility", "value": "full"}]),
        {K.COMPATIBILITY_CHANGED},
        {K.COMPATIBILITY_CHANGED},
    ),
    ("version-changed", _noop, lambda d: d.update(version="1.1.0"), {K.VERSION_CHANGED}, {K.VERSION_CHANGED}),
    (
        "relationship-removed",
        _set("email", "relationships", [{"to": "customers.email"}]),
        _noop,
        {K.RELATIONSHIP_REMOVED},
        {K.RELATIONSHIP_ADDED},
    ),
    (
        "relationship-retargeted",
        _set("email", "relationships", [{"to": "customers.email"}]),
        _set("email", "relationships", [{"to": "users.email"}]),
        {K.RELATIONSHIP_CHANGED},
        {K.RELATIONSHIP_CHANGED},
    ),
    (
        "critical-data-element-dropped",
        _set("amount", "criticalDataElement", True),
        _noop,
        {K.CRITICAL_DATA_ELEMENT_DROPPED},
        {K.CRITICAL_DATA_ELEMENT_ADDED},
    ),
    ("status-retired", _noop, lambda d: d.update(status="retired"), {K.STATUS_RETIRED}, {K.STATUS_CHANGED}),
    (
        "status-deprecated",
        _noop,
        lambda d: d.update(status="deprecated"),
        {K.STATUS_DEPRECATED},
        {K.STATUS_CHANGED},
    ),
    (
        "dataset-status-retired",
        _dataset("customProperties", [{"property": "status", "value": "deprecated"}]),
        _dataset("customProperties", [{"property": "status", "value": "retired"}]),
        {K.STATUS_RETIRED},
        {K.STATUS_CHANGED},  # served again, if only until it is retired for good
    ),
]


@pytest.mark.parametrize(
    ("base_m", "head_m", "forward", "backward"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_change_is_classified_in_both_directions(
    base_m: Mutation, head_m: Mutation, forward: set[ChangeKind], backward: set[ChangeKind]
) -> None:
    base = to_contract(mutated(base_m))
    head = to_contract(mutated(head_m))
    assert {c.kind for c in diff_contracts(base, head)} == forward
    assert {c.kind for c in diff_contracts(head, base)} == backward


def test_every_contract_rule_has_a_case() -> None:
    covered = set().union(*(c[3] | c[4] for c in CASES))
    contract_kinds = {k for k in ChangeKind if not k.value.startswith(("sql-", "model-"))}
    assert contract_kinds - covered == set()


def test_a_collation_change_is_breaking_and_says_how_values_compare() -> None:
    base = to_contract(base_doc())
    head = to_contract(mutated(_set("status", "physicalType", "varchar(20) COLLATE nocase")))
    [change] = diff_contracts(base, head)
    assert (change.kind, change.impact) == (K.SEMANTICS_CHANGED, Impact.BREAKING)
    assert change.message.startswith("collation default -> nocase: ") and "equality" in change.message
    assert change.location == head.datasets[0].column("status").key_location("physicalType")  # type: ignore[union-attr]


def test_column_removed_is_breaking_and_located_at_its_dataset_in_head() -> None:
    base = to_contract(base_doc())
    head = to_contract(mutated(_remove_column("email")))
    [change] = diff_contracts(base, head)
    assert change.impact is Impact.BREAKING
    # annotations land in the head file: the base's line of the column is another line there
    assert change.location == head.datasets[0].location
    assert change.base_location == base.datasets[0].column("email").location  # type: ignore[union-attr]


def test_rename_reports_old_and_new_names_not_remove_plus_add() -> None:
    base = to_contract(base_doc())
    head = to_contract(mutated(_rename_column("ordered_at", "placed_at")))
    [change] = diff_contracts(base, head)
    assert (change.kind, change.old, change.new) == (K.COLUMN_RENAMED, "ordered_at", "placed_at")
    assert "ordered_at -> placed_at" in change.message


def test_each_added_enum_value_is_reported() -> None:
    base = to_contract(base_doc())
    head = to_contract(mutated(_valid_values(["placed", "shipped", "cancelled", "refunded", "lost"])))
    added = sorted(c.new for c in diff_contracts(base, head) if c.kind is K.ENUM_VALUE_ADDED)
    assert added == ["lost", "refunded"]


def test_removed_deprecated_column_mentions_the_dual_write_window() -> None:
    base = to_contract(mutated(_set("email", "deprecated", True)))
    head = to_contract(mutated(_remove_column("email")))
    [change] = diff_contracts(base, head)
    assert "deprecated" in change.message and "dual-write" in change.message


def test_changes_in_head_point_at_head_lines() -> None:
    base = to_contract(base_doc())
    head_doc = mutated(_set("status", "required", False))
    head_doc["schema"][0]["properties"].insert(0, {"name": "note", "logicalType": "string"})
    head = to_contract(head_doc)
    relaxed = next(c for c in diff_contracts(base, head) if c.kind is K.REQUIRED_RELAXED)
    # at the `required:` line of each side, not the column's `- name:` line
    assert relaxed.location == head.datasets[0].column("status").key_location("required")  # type: ignore[union-attr]
    assert relaxed.base_location == base.datasets[0].column("status").key_location("required")  # type: ignore[union-attr]
    assert relaxed.location != head.datasets[0].column("status").location  # type: ignore[union-attr]


def test_contract_added_and_removed() -> None:
    c = to_contract(base_doc())
    assert [x.kind for x in diff_contracts(None, c)] == [K.DATASET_ADDED]
    assert [x.kind for x in diff_contracts(c, None)] == [K.DATASET_REMOVED]


def test_sla_units_are_normalized_before_comparing() -> None:
    base = to_contract(base_doc())
    same = to_contract(mutated(_sla("latency", 240, "minutes")))
    assert diff_contracts(base, same) == []


def test_sla_unit_dropped_is_weakened_unknown_never_compatible() -> None:
    def drop_unit(doc: dict[str, Any]) -> None:
        sla = next(s for s in doc["slaProperties"] if s["property"] == "latency")
        sla.pop("unit")
        sla["value"] = 6

    changes = diff_contracts(to_contract(base_doc()), to_contract(mutated(drop_unit)))
    assert [(c.kind, c.impact) for c in changes] == [(K.SLA_WEAKENED, Impact.UNKNOWN)]
    assert "unit went missing" in changes[0].message


@pytest.mark.parametrize(
    ("old", "new", "added", "removed"),
    [
        ([1, 2], [True, 2], [True], [1]),
        ([0, 1], [False, True], [False, True], [0, 1]),
        (["1", 2], [1, 2], [1], ["1"]),
    ],
)
def test_allowed_values_compare_by_type_not_python_equality(
    old: list[Any], new: list[Any], added: list[Any], removed: list[Any]
) -> None:
    changes = diff_contracts(
        to_contract(mutated(_valid_values(old))), to_contract(mutated(_valid_values(new)))
    )
    typed = [(type(v), v) for v in added], [(type(v), v) for v in removed]
    assert [(type(c.new), c.new) for c in changes if c.kind is K.ENUM_VALUE_ADDED] == typed[0]
    assert [(type(c.old), c.old) for c in changes if c.kind is K.ENUM_VALUE_REMOVED] == typed[1]


def test_allowed_values_same_numbers_as_int_and_float_are_unchanged() -> None:
    base = to_contract(mutated(_valid_values([1, 2])))
    assert diff_contracts(base, to_contract(mutated(_valid_values([1.0, 2])))) == []


def test_quality_rule_changed_has_its_own_rule_id_for_waivers() -> None:
    changes = diff_contracts(to_contract(base_doc()), to_contract(mutated(_null_rule(mustBeBetween=[1, 5]))))
    assert [(c.kind.value, c.impact) for c in changes] == [("quality-rule-changed", Impact.UNKNOWN)]


def test_widened_default_impact_is_compatible() -> None:
    assert RULES[K.PHYSICAL_TYPE_WIDENED] is Impact.COMPATIBLE


def test_allowed_value_changes_point_at_the_values_list() -> None:
    base = to_contract(base_doc())
    head = to_contract(mutated(_valid_values(["placed", "shipped", "refunded"])))
    status = head.datasets[0].column("status")
    assert status is not None and status.allowed_values_location is not None
    for change in diff_contracts(base, head):
        assert change.location == status.allowed_values_location
    assert status.allowed_values_location.line != status.location.line  # type: ignore[union-attr]
