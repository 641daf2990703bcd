"""Output changes of uncontracted models: removals, additions, renames (not drop + add), retypes, order."""

from __future__ import annotations

from app.contracts.rules import ChangeKind as K
from app.sql.analyze import analyze
from app.sql.changes import output_changes
from app.types import Impact
from tests.sql.conftest import SHOP_SOURCES, build_project, contract_yaml


def changes(base_models, head_models, contracts=None):  # type: ignore[no-untyped-def]
    bp = build_project(base_models, SHOP_SOURCES, contracts=contracts)
    hp = build_project(head_models, SHOP_SOURCES, contracts=contracts)
    return output_changes(analyze(bp), analyze(hp), bp, hp)


def kinds(found):  # type: ignore[no-untyped-def]
    return sorted((c.kind.value, c.dataset, c.column, c.old, c.new) for c in found)


def test_no_base_means_no_output_changes():
    hp = build_project({"m": "select id from raw_orders"}, SHOP_SOURCES)
    assert output_changes(None, analyze(hp), None, hp) == []


def test_removed_added_and_retyped_columns():
    found = changes(
        {"m": "select id, status, amount from raw_orders"},
        {"m": "select id, cast(amount as double) as amount, customer_id from raw_orders"},
    )
    assert kinds(found) == [
        ("model-output-column-added", "m", "customer_id", None, "customer_id"),
        ("model-output-column-removed", "m", "status", "status", None),
        ("model-output-type-changed", "m", "amount", "DECIMAL(10, 2)", "DOUBLE"),
    ]
    removed = next(c for c in found if c.kind is K.MODEL_OUTPUT_COLUMN_REMOVED)
    assert removed.impact is Impact.BREAKING and removed.source == "sql"
    assert removed.location.path == "models/m.sql" and removed.base_location.line == 1


def test_alias_change_of_the_same_expression_is_a_rename():
    (change,) = changes(
        {"m": "select id, amount * 100 as cents from raw_orders"},
        {"m": "select id, amount * 100 as amount_cents from raw_orders"},
    )
    assert (change.kind, change.old, change.new) == (K.COLUMN_RENAMED, "cents", "amount_cents")
    assert "renamed to amount_cents" in change.message


def test_same_lineage_unambiguously_is_a_rename():
    (change,) = changes(
        {"m": "select id, upper(status) as s from raw_orders"},
        {"m": "select id, lower(status) as status_lower from raw_orders"},
    )
    assert change.kind is K.COLUMN_RENAMED


def test_reordered_columns_are_reported_as_info():
    (change,) = changes(
        {"m": "select id, status from raw_orders"}, {"m": "select status, id from raw_orders"}
    )
    assert change.kind is K.COLUMN_REORDERED and change.impact is Impact.INFO


def test_removed_and_renamed_models():
    found = changes(
        {"gone": "select id from raw_orders", "old_name": "select id, status from raw_orders"},
        {"new_name": "select id, status from raw_orders"},
    )
    assert kinds(found) == [
        ("dataset-renamed", "new_name", None, "old_name", "new_name"),
        ("model-removed", "gone", None, "gone", None),
    ]


def test_contracted_models_are_left_to_the_contract_gate():
    contract = {"m.odcs.yaml": contract_yaml("m", [("id", "integer", "bigint")])}
    assert (
        changes({"m": "select id, status from raw_orders"}, {"m": "select id from raw_orders"}, contract)
        == []
    )
