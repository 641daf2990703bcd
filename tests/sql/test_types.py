"""Output columns and types inferred from sources, upstream models and contracts."""

from __future__ import annotations

import pytest
from sqlglot import exp

from app.sql.analyze import analyze
from app.sql.datatypes import fits, fits_logical, normalize_text
from tests.sql.conftest import SHOP_SOURCES, build_project, contract_yaml


def types(project, model):  # type: ignore[no-untyped-def]
    return {c.name: c.type for c in analyze(project).models[model].columns}


def test_casts_case_and_arithmetic_are_typed():
    p = build_project(
        {
            "m": """select
                id,
                cast(amount as double) as amount_d,
                amount * 2 as doubled,
                case when status = 'x' then 'a' else 'b' end as label,
                cast(ordered_at as date) as day,
                status is null as missing
            from raw_orders"""
        },
        SHOP_SOURCES,
    )
    assert types(p, "m") == {
        "id": "BIGINT",
        "amount_d": "DOUBLE",
        "doubled": "DECIMAL(10, 2)",
        "label": "VARCHAR",
        "day": "DATE",
        "missing": "BOOLEAN",
    }


def test_join_and_cte_columns_come_from_their_tables():
    p = build_project(
        {
            "m": """with c as (select id as customer_id, name from raw_customers)
            select o.id, c.name, o.amount from raw_orders o join c on c.customer_id = o.customer_id"""
        },
        SHOP_SOURCES,
    )
    assert types(p, "m") == {"id": "BIGINT", "name": "VARCHAR", "amount": "DECIMAL(10, 2)"}


def test_window_functions_and_aggregates_are_typed():
    p = build_project(
        {
            "m": """select customer_id,
                row_number() over (partition by customer_id order by ordered_at) as rn,
                sum(amount) over (partition by customer_id) as running,
                count(*) over () as n
            from raw_orders"""
        },
        SHOP_SOURCES,
    )
    t = types(p, "m")
    assert t["rn"] == "BIGINT" and t["n"] == "BIGINT" and t["running"].startswith("DECIMAL")


def test_types_flow_through_upstream_models_and_star():
    p = build_project(
        {"stg": "select id, cast(amount as bigint) as cents from raw_orders", "mart": "select * from stg"},
        SHOP_SOURCES,
    )
    assert types(p, "mart") == {"id": "BIGINT", "cents": "BIGINT"}


def test_union_takes_the_widest_branch_type():
    p = build_project(
        {
            "m": "select cast(id as integer) as x from raw_orders union all select cast(id as bigint) from raw_orders"
        },
        SHOP_SOURCES,
    )
    assert types(p, "m") == {"x": "BIGINT"}


def test_untyped_column_falls_back_to_its_contract_type():
    p = build_project(
        {"m": "select id, now() as loaded_at from raw_orders"},
        SHOP_SOURCES,
        contracts={
            "m.odcs.yaml": contract_yaml(
                "m", [("id", "integer", "bigint"), ("loaded_at", "timestamp", "timestamptz")]
            )
        },
    )
    col = analyze(p).models["m"].column("loaded_at")
    assert col is not None and col.type == "TIMESTAMPTZ" and col.inferred is False


def test_source_columns_can_come_from_a_contract():
    p = build_project(
        {"m": "select * from raw_events"},
        {"raw_events": {}},
        contracts={
            "raw_events.odcs.yaml": contract_yaml(
                "raw_events", [("event_id", "string", None), ("n", "integer", "int")]
            )
        },
    )
    assert types(p, "m") == {"event_id": "VARCHAR", "n": "INTEGER"}


def test_dialect_identifiers_and_types_are_normalized():
    p = build_project(
        {"M": "select ID, cast(amount as number(12, 2)) as AMT, to_varchar(id) as S from raw_orders"},
        {"raw_orders": {"id": "number(38, 0)", "amount": "float"}},
        dialect="snowflake",
    )
    assert types(p, "M") == {"ID": "DECIMAL(38, 0)", "AMT": "DECIMAL(12, 2)", "S": "VARCHAR"}


def test_output_column_locations_point_at_the_select_expression():
    p = build_project(
        {"m": "select\n  id,\n  -- note\n  amount * 2 as doubled\nfrom raw_orders"}, SHOP_SOURCES
    )
    m = analyze(p).models["m"]
    assert [(c.name, c.location.line) for c in m.columns] == [("id", 2), ("doubled", 4)]
    assert m.location.path == "models/m.sql" and m.select_line == 1


@pytest.mark.parametrize(
    ("src", "dst", "expected"),
    [
        ("int", "bigint", True),
        ("bigint", "int", False),
        ("decimal(10, 2)", "decimal(12, 2)", True),
        ("decimal(10, 2)", "decimal(10, 1)", False),
        ("varchar", "varchar(20)", None),  # unknown length: not held against the contract
        ("varchar(10)", "varchar(20)", True),
        ("date", "timestamp", False),
        ("timestamp", "timestamptz", False),
        ("int", "varchar", False),
        ("double", "decimal(10, 2)", False),
    ],
)
def test_fits_compares_sql_type_to_contract_type(src, dst, expected):  # type: ignore[no-untyped-def]
    assert fits(exp.DataType.build(src), exp.DataType.build(dst)) is expected


@pytest.mark.parametrize(
    ("sql_type", "logical", "expected"),
    [
        ("bigint", "integer", True),
        ("bigint", "number", True),
        ("double", "integer", False),
        ("decimal(38, 0)", "integer", True),
        ("varchar", "string", True),
        ("date", "timestamp", False),
        ("int", "nonsense", None),
    ],
)
def test_fits_logical_maps_families_to_odcs_logical_types(sql_type, logical, expected):  # type: ignore[no-untyped-def]
    assert fits_logical(exp.DataType.build(sql_type), logical) is expected


def test_declared_types_normalize_across_dialects():
    assert normalize_text("INT64", "bigquery") == normalize_text("bigint", "duckdb") == "BIGINT"
    assert normalize_text("number(10,2)", "snowflake") == "DECIMAL(10, 2)"
    assert normalize_text("timestamp_ntz", "snowflake") == "TIMESTAMP"
    assert normalize_text("not a type ((", "duckdb") is None
