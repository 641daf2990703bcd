"""Implementation drift: a contracted model's SQL against the contract, at the SQL file and line."""

from __future__ import annotations

from app.contracts.rules import ChangeKind as K
from app.sql.analyze import analyze
from app.sql.drift import drift
from app.types import Impact
from tests.sql.conftest import SHOP_SOURCES, build_project, contract_yaml

CONTRACT = contract_yaml(
    "fct",
    [
        ("order_id", "integer", "bigint"),
        ("amount", "number", "decimal(12, 2)"),
        ("status", "string", "varchar"),
    ],
)


def drift_of(sql: str, contract: str = CONTRACT):  # type: ignore[no-untyped-def]
    p = build_project({"fct": sql}, SHOP_SOURCES, contracts={"fct.odcs.yaml": contract})
    return drift(analyze(p), p)


def test_matching_sql_has_no_drift():
    assert drift_of("select id as order_id, amount, status from raw_orders") == []


def test_dropped_column_is_missing_at_the_select_line():
    (change,) = drift_of("-- fct\n\nselect id as order_id,\n  amount\nfrom raw_orders")
    assert change.kind is K.SQL_COLUMN_MISSING and change.impact is Impact.BREAKING
    assert change.column == "status" and change.source == "sql"
    assert (change.location.path, change.location.line) == ("models/fct.sql", 3)
    assert change.base_location is not None and change.base_location.path == "contracts/fct.odcs.yaml"


def test_renamed_column_is_missing_with_a_rename_guess_and_undeclared():
    changes = drift_of("select id as order_id, amount, status as order_status from raw_orders")
    kinds = {c.kind: c for c in changes}
    assert "renamed to order_status?" in kinds[K.SQL_COLUMN_MISSING].message
    assert kinds[K.SQL_COLUMN_MISSING].new == "order_status"
    assert kinds[K.SQL_COLUMN_UNDECLARED].column == "order_status"
    assert kinds[K.SQL_COLUMN_UNDECLARED].impact is Impact.INFO


def test_narrower_contract_type_is_a_mismatch_at_the_column_line():
    (change,) = drift_of(
        "select id as order_id,\n  cast(amount as decimal(18, 4)) as amount,\n  status\nfrom raw_orders"
    )
    assert change.kind is K.SQL_TYPE_MISMATCH and change.column == "amount"
    assert change.location.line == 2 and change.new == "DECIMAL(18, 4)" and change.old == "decimal(12, 2)"


def test_widening_into_the_contract_type_is_fine():
    assert (
        drift_of(
            "select cast(id as integer) as order_id, cast(amount as decimal(8, 2)) as amount, status from raw_orders"
        )
        == []
    )


def test_logical_type_is_checked_when_there_is_no_physical_type():
    contract = contract_yaml("fct", [("order_id", "integer", None), ("status", "string", None)])
    (change,) = drift_of("select cast(id as double) as order_id, status from raw_orders", contract)
    assert change.kind is K.SQL_TYPE_MISMATCH and change.old == "integer" and change.new == "DOUBLE"


def test_unknown_sql_types_are_not_flagged():
    contract = contract_yaml("fct", [("order_id", "integer", "bigint"), ("label", "string", "varchar")])
    assert drift_of("select id as order_id, my_udf(status) as label from raw_orders", contract) == []


def test_contract_physical_name_is_what_the_sql_must_output():
    contract = (
        "apiVersion: v3.1.0\nkind: DataContract\nid: fct\nversion: 1.0.0\nstatus: active\nschema:\n"
        "  - name: fct\n    properties:\n      - name: orderId\n        physicalName: order_id\n"
        "        logicalType: integer\n"
    )
    assert drift_of("select id as order_id from raw_orders", contract) == []


def test_duckdb_columns_expression_is_the_columns_it_selects():
    # COLUMNS('^(amount|status)$') came out as one column `_col_0`: order_id's neighbours read as missing
    sql = (
        "with o as (select id as order_id, amount, status from raw_orders)\n"
        "select order_id, columns('^(amount|status)$') from o"
    )
    assert drift_of(sql) == []
