"""Equivalent changes (the SQL changed, the output cannot) versus changes, renames, additions, removals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sql.analyze import analyze
from app.sql.changes import changed_models, classify_models, selected_for_canary
from tests.sql.conftest import SHOP_SOURCES, build_project

BASE = """with o as (
    select id, customer_id, amount, status from raw_orders
)
select o.id, c.name, o.amount + 1 as amount1, o.status
from o
join raw_customers as c on o.customer_id = c.id and c.country = 'NL'
where o.status = 'done' and o.amount > 10
"""


def classify(base_sql: str, head_sql: str):  # type: ignore[no-untyped-def]
    base = analyze(build_project({"m": base_sql}, SHOP_SOURCES))
    head = analyze(build_project({"m": head_sql}, SHOP_SOURCES))
    return classify_models(base, head)["m"]


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (BASE.replace("\n", "\n  ").replace("select o.id", "-- why\nSELECT   o.id"), "formatting"),
        (
            BASE.replace("with o as", "with orders_cte as").replace("from o\n", "from orders_cte as o\n"),
            "aliases",
        ),
        (
            BASE.replace("join raw_customers as c", "join raw_customers as cust").replace("c.", "cust."),
            "aliases",
        ),
        (
            BASE.replace(
                "o.customer_id = c.id and c.country = 'NL'", "c.country = 'NL' and c.id = o.customer_id"
            ),
            "commutative operands",
        ),
        (BASE.replace("o.amount + 1", "1 + o.amount"), "commutative operands"),
        (BASE.replace("o.amount > 10", "10 < o.amount"), "commutative operands"),
        (
            BASE.replace(
                "select o.id, c.name, o.amount + 1 as amount1, o.status",
                "select o.status, o.amount + 1 as amount1, c.name, o.id",
            ),
            "column order",
        ),
    ],
)
def test_equivalent_changes_are_recognised(head, reason):  # type: ignore[no-untyped-def]
    change = classify(BASE, head)
    assert change.kind == "equivalent", change
    assert reason in change.reasons


def test_reordered_inner_joins_are_equivalent():
    base = (
        "select o.id, c.name, p.method from raw_orders o join raw_customers c on c.id = o.customer_id "
        "join raw_payments p on p.order_id = o.id"
    )
    head = (
        "select o.id, c.name, p.method from raw_payments p join raw_orders o on p.order_id = o.id "
        "inner join raw_customers as c on c.id = o.customer_id"
    )
    change = classify(base, head)
    assert change.kind == "equivalent" and "join order" in change.reasons


def test_swapping_a_self_join_is_conservatively_changed():
    # the same table twice: telling which copy is which needs more than sorting, so it is "changed"
    base = "select c.name, p.name as p2 from raw_orders o join raw_customers c on c.id = o.customer_id join raw_customers p on p.id = o.id"  # noqa: E501
    head = "select c.name, p.name as p2 from raw_orders o join raw_customers p on p.id = o.id join raw_customers c on c.id = o.customer_id"  # noqa: E501
    assert classify(base, head).kind == "changed"


@pytest.mark.parametrize(
    "head",
    [
        BASE.replace("join raw_customers", "left join raw_customers"),  # join type
        BASE.replace("o.amount > 10", "o.amount >= 10"),  # filter
        BASE.replace("o.amount + 1", "o.amount - 1"),
        BASE.replace("c.country = 'NL'", "c.country = 'BE'"),
        BASE.replace("select o.id, c.name", "select distinct o.id, c.name"),
        BASE.replace("o.amount + 1 as amount1", "o.amount + 1 as amount_plus"),  # an output name
    ],
)
def test_near_misses_are_changed(head):  # type: ignore[no-untyped-def]
    assert classify(BASE, head).kind == "changed"


def test_reordering_outer_joins_is_changed():
    base = "select o.id from raw_orders o left join raw_customers c on c.id = o.customer_id join raw_customers p on p.id = o.id"  # noqa: E501
    head = "select o.id from raw_orders o join raw_customers p on p.id = o.id left join raw_customers c on c.id = o.customer_id"  # noqa: E501
    assert classify(base, head).kind == "changed"


def test_unchanged_added_removed_and_renamed_models():
    base = analyze(
        build_project(
            {
                "a": "select id from raw_orders",
                "old": "select id, status from raw_orders",
                "gone": "select 1 as x",
            },
            SHOP_SOURCES,
        )
    )
    head = analyze(
        build_project(
            {
                "a": "select id from raw_orders",
                "new": "select id,  status\nfrom raw_orders",
                "b": "select id from a",
            },
            SHOP_SOURCES,
        )
    )
    kinds = {n: (c.kind, c.renamed_from) for n, c in classify_models(base, head).items()}
    assert kinds == {
        "a": ("unchanged", None),
        "new": ("renamed", "old"),
        "b": ("added", None),
        "gone": ("removed", None),
    }
    assert changed_models(base, head) == {"new", "b"}


def test_reading_a_renamed_model_under_its_new_name_is_equivalent():
    base = analyze(
        build_project({"stg": "select id from raw_orders", "m": "select id from stg"}, SHOP_SOURCES)
    )
    head = analyze(
        build_project(
            {"stg_orders": "select id from raw_orders", "m": "select id from stg_orders"}, SHOP_SOURCES
        )
    )
    assert classify_models(base, head)["m"].kind == "equivalent"


def test_selected_for_canary_is_changed_plus_downstream_in_dag_order():
    head = analyze(
        build_project(
            {
                "a": "select id from raw_orders",
                "b": "select id from a",
                "c": "select id from b",
                "z": "select id from raw_orders",
            },
            SHOP_SOURCES,
        )
    )
    assert selected_for_canary(head, {"b", "missing"}) == ["b", "c"]


COLUMNS = ["id", "customer_id", "amount", "status", "ordered_at"]


@settings(max_examples=25, deadline=None)
@given(st.permutations(COLUMNS), st.sampled_from(["\n", " ", "\n    "]), st.booleans())
def test_any_column_order_and_layout_is_equivalent(order, sep, upper):  # type: ignore[no-untyped-def]
    base = f"select {', '.join(COLUMNS)} from raw_orders where amount > 0"
    head = f"select{sep}{(',' + sep).join(order)}{sep}from raw_orders{sep}where amount > 0"
    if upper:
        head = head.replace("select", "SELECT").replace("from", "FROM").replace("where", "WHERE")
    assert classify(base, head).kind in ("equivalent", "unchanged")


@settings(max_examples=15, deadline=None)
@given(
    st.sampled_from(
        [
            BASE,
            "select id, sum(amount) as s from raw_orders group by id having sum(amount) > 1",
            "select id from raw_orders union all select id from raw_customers",
        ]
    ),
    st.booleans(),
)
def test_formatting_round_trip_is_equivalent(sql, pretty):  # type: ignore[no-untyped-def]
    import sqlglot

    printed = sqlglot.parse_one(sql, read="duckdb").sql(dialect="duckdb", pretty=pretty)
    assert classify(sql, printed).kind in ("equivalent", "unchanged")
