"""Parsing ODCS contracts: normalization of every field we read, and errors that name the exact line."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.contracts.parse import parse_contract
from app.errors import ContractError
from tests.contracts.conftest import FIXTURES

ORDERS = (FIXTURES / "orders.odcs.yaml").read_text()


def _error(text: str) -> ContractError:
    with pytest.raises(ContractError) as info:
        parse_contract(text, "contracts/x.odcs.yaml")
    return info.value


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.odcs.yaml")), ids=lambda p: p.name)
def test_fixture_contracts_are_valid_odcs(path: Path) -> None:
    contract = parse_contract(path.read_text(), f"contracts/{path.name}")
    assert contract.datasets and all(d.columns for d in contract.datasets)


def test_orders_contract_is_normalized() -> None:
    c = parse_contract(ORDERS, "contracts/orders.odcs.yaml")
    assert (c.id, c.version, c.owner, c.owners, c.compatibility) == (
        "shop-orders",
        "1.4.0",
        "sales-data",
        ("@alice", "@bob"),
        "backward",
    )
    orders = c.datasets[0]
    assert (orders.name, orders.output_name, orders.physical_type) == ("orders", "fct_orders", "table")
    assert orders.consumers == ("finance-dashboard", "fulfilment-service")
    assert orders.primary_key == ("order_id",)
    status = orders.column("status")
    assert status is not None
    assert status.allowed_values == ("placed", "paid", "shipped", "delivered", "cancelled")
    assert status.location is not None and status.location.line == _line_of(ORDERS, "- name: status")
    amount = orders.column("amount")
    assert amount is not None and dict(amount.semantics) == {"unit": "EUR", "currency": "EUR"}
    assert amount.option("minimum") == 0
    email = orders.column("customer_email")
    assert email is not None and (email.classification, email.pii) == ("restricted", True)
    assert email.option("maxLength") == 254
    null_rule = orders.column("customer_id").quality[0]  # type: ignore[union-attr]
    assert (null_rule.metric, null_rule.operator, null_rule.value) == ("nullValues", "mustBe", 0)
    assert null_rule.location is not None and null_rule.location.line == _line_of(
        ORDERS, "metric: nullValues"
    )
    sql = next(q for q in orders.quality if q.type == "sql")
    assert sql.key == "orders_not_in_future" and sql.query and "${object}" in sql.query
    latency = next(s for s in c.sla if s.property == "latency")
    assert (latency.value, latency.unit, latency.element) == (4, "h", "fct_orders.ordered_at")


def test_odcs_3_0_rule_shapes_are_read() -> None:
    c = parse_contract((FIXTURES / "payments.odcs.yaml").read_text(), "contracts/payments.odcs.yaml")
    ds = c.datasets[0]
    method = ds.column("method")
    assert method is not None and method.allowed_values == ("card", "paypal", "bank_transfer", "gift_card")
    assert ds.column("order_id").quality[0].metric == "nullValues"  # type: ignore[union-attr]
    assert ds.quality[0].metric == "rowCount"
    assert c.owner == "dave@example.com"


def test_native_enum_gives_allowed_values() -> None:
    # ODCS v3.2.0 added `enum`; under v3.1.0 the same key is an unknown key
    text = ORDERS.replace("apiVersion: v3.1.0", "apiVersion: v3.2.0").replace(
        "        physicalType: varchar(20)\n",
        "        physicalType: varchar(20)\n        enum:\n          - value: new\n          - value: old\n",
        1,
    )
    status = parse_contract(text, "c.yaml").datasets[0].column("status")
    assert status is not None and status.allowed_values == ("new", "old")


def test_invalid_yaml_names_the_line() -> None:
    text = ORDERS.replace("    physicalName: fct_orders", "    physicalName: [fct_orders")
    err = _error(text)
    assert "invalid YAML" in err.message
    assert err.location is not None and err.location.path == "contracts/x.odcs.yaml"
    assert err.location.line == _line_of(text, "physicalType: table")  # where the flow sequence breaks


def test_wrong_enum_value_names_line_and_allowed_values() -> None:
    text = ORDERS.replace("logicalType: timestamp", "logicalType: datetime")
    err = _error(text)
    assert err.location is not None and err.location.line == _line_of(text, "logicalType: datetime")
    assert "`logicalType` must be one of string, date, timestamp" in err.message
    assert err.message.startswith("schema[0].properties[4]:")
    assert err.hint == "fix the value"


def test_unknown_key_points_at_the_key_itself() -> None:
    text = ORDERS.replace("        unique: true\n", "        uniqe: true\n", 1)
    err = _error(text)
    assert err.location is not None and err.location.line == _line_of(text, "uniqe: true")
    assert "'uniqe'" in err.message and "customProperties" in (err.hint or "")


def test_missing_required_key_is_named() -> None:
    text = ORDERS.replace("id: shop-orders\n", "")
    err = _error(text)
    assert "missing required key `id`" in err.message
    assert err.location is not None and err.location.line == 1


def test_wrong_operator_type_reports_the_operator_not_sibling_keys() -> None:
    text = ORDERS.replace("mustBeGreaterThan: 0", "mustBeGreaterThan: lots")
    err = _error(text)
    assert "`mustBeGreaterThan` must be of type number" in err.message
    assert err.location is not None and err.location.line == _line_of(text, "mustBeGreaterThan: lots")


def test_other_schema_errors_are_counted() -> None:
    text = ORDERS.replace("logicalType: timestamp", "logicalType: datetime").replace(
        "required: true", "required: 1"
    )
    err = _error(text)
    assert "more schema error" in err.message


def test_unknown_compatibility_mode_is_an_error_at_its_line() -> None:
    text = ORDERS.replace("    value: backward\n", "    value: sideways\n")
    err = _error(text)
    assert "sideways" in err.message and "backward_transitive" in (err.hint or "")
    assert err.location is not None and err.location.line == _line_of(text, "value: sideways")


def test_a_non_mapping_document_is_rejected() -> None:
    err = _error("- just\n- a list\n")
    assert "YAML mapping" in err.message


def test_unquoted_numeric_version_suggests_quoting() -> None:
    err = _error(ORDERS.replace("version: 1.4.0", "version: 1.4"))
    assert "`version` must be of type string" in err.message
    assert err.hint is not None and 'version: "1.4"' in err.hint


def test_odcs_v2_is_rejected_with_a_conversion_hint() -> None:
    err = _error(ORDERS.replace("apiVersion: v3.1.0", "apiVersion: v2.2.2"))
    assert "ODCS v2" in err.message and err.location is not None and err.location.line == 1


def test_nested_object_properties_are_flattened() -> None:
    text = ORDERS.replace(
        "      - name: ordered_at\n",
        "      - name: shipping\n        logicalType: object\n        properties:\n"
        "          - name: city\n            logicalType: string\n            required: true\n"
        "      - name: ordered_at\n",
    )
    ds = parse_contract(text, "c.yaml").datasets[0]
    city = ds.column("shipping.city")
    assert city is not None and city.required
    assert city.location is not None and city.location.line == _line_of(text, "- name: city")


def test_column_shape_cache_does_not_hide_errors() -> None:
    parse_contract(ORDERS, "contracts/a.odcs.yaml")  # every column shape of ORDERS is now known valid
    numeric_name = ORDERS.replace("- name: customer_id", "- name: 12345")
    err = _error(numeric_name)
    assert "`name` must be of type string" in err.message
    assert err.location is not None and err.location.line == _line_of(numeric_name, "- name: 12345")


def test_a_column_declared_twice_is_an_error_at_the_second() -> None:
    text = ORDERS.replace("      - name: amount\n", "      - name: status\n", 1)
    err = _error(text)
    assert "'status' is declared twice" in err.message
    second = [i for i, line in enumerate(text.splitlines(), 1) if "- name: status" in line][1]
    assert err.location is not None and err.location.line == second


def test_unknown_api_version_names_the_supported_ones() -> None:
    err = _error(ORDERS.replace("apiVersion: v3.1.0", "apiVersion: v3.9.0"))
    assert "v3.0.0, v3.0.1, v3.0.2, v3.1.0, v3.2.0" in err.message
    assert err.location is not None and err.location.line == 1
    assert "write it `apiVersion: v3.1.0`" in (_error(ORDERS.replace("v3.1.0", "3.1.0", 1)).hint or "")


def test_missing_api_version_is_an_error_with_the_fix() -> None:
    err = _error(ORDERS.replace("apiVersion: v3.1.0\n", ""))
    assert "missing required key `apiVersion`" in err.message and "apiVersion: v3.1.0" in (err.hint or "")


def test_each_file_is_validated_by_its_own_version() -> None:
    # `status` is required up to v3.1.0 and optional in v3.2.0
    without = ORDERS.replace("status: active\n", "")
    err = _error(without)
    assert "missing required key `status`" in err.message and "(ODCS v3.1.0 schema)" in err.message
    # what to write, not "switch to the version that dropped the key"
    assert err.hint is not None and "add `status: active` here" in err.hint and "apiVersion" not in err.hint
    assert parse_contract(without.replace("v3.1.0", "v3.2.0", 1), "c.yaml").api_version == "v3.2.0"


def test_unquoted_dates_are_text_and_impossible_ones_an_error() -> None:
    text = ORDERS.replace("status: active\n", "status: active\ncontractCreatedTs: 2026-02-28T09:30:00Z\n")
    assert parse_contract(text, "c.yaml").id == "shop-orders"
    err = _error(text.replace("2026-02-28", "2026-02-30"))
    assert "'2026-02-30T09:30:00Z' is not a real date-time" in err.message
    assert err.location is not None and err.location.line == _line_of(text, "contractCreatedTs")
    # a date alone, or a compact date, is not a date-time
    for loose in ("2026-02-28", '"20260228"'):
        assert "is not a real date-time" in _error(text.replace("2026-02-28T09:30:00Z", loose)).message


def test_stand_ins_are_valid_in_every_version() -> None:
    from app.contracts.schema import _STAND_IN, SUPPORTED_VERSIONS, _element_validator

    for version in SUPPORTED_VERSIONS:
        for kind, stand_in in _STAND_IN.items():
            assert _element_validator(version, kind).is_valid(stand_in), (version, kind)
