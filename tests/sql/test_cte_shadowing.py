"""A CTE named like the table it reads (`with orders as (select ... from orders)`, valid in DuckDB and
Postgres): inside its body the name is the table, after it the CTE."""

from __future__ import annotations

from app.sql.analyze import analyze
from app.sql.changes import classify_models
from tests.sql.conftest import SHOP_SOURCES, build_project

SHADOW = "with orders as (select id, status as amount from orders) select id, amount from orders"
UPSTREAM = "select id, amount, status from raw_orders"


def test_a_cte_shadowing_the_model_it_reads_keeps_upstream_lineage_and_types() -> None:
    m = analyze(build_project({"orders": UPSTREAM, "m": SHADOW}, SHOP_SOURCES)).models["m"]
    assert m.upstream == ("orders",)
    assert m.problems == ()
    assert dict(m.lineage) == {"id": {("orders", "id")}, "amount": {("orders", "status")}}
    assert {c.name: c.type for c in m.columns} == {"id": "BIGINT", "amount": "VARCHAR"}


def test_a_cte_shadowing_a_source_joins_by_scope() -> None:
    sql = (
        "with raw_orders as (select id, customer_id from raw_orders where amount > 0)\n"
        "select r.id, c.name from raw_orders as r join raw_customers as c on r.customer_id = c.id"
    )
    m = analyze(build_project({"m": sql}, SHOP_SOURCES)).models["m"]
    assert m.sources == ("raw_customers", "raw_orders")
    assert dict(m.lineage) == {"id": {("raw_orders", "id")}, "name": {("raw_customers", "name")}}


def kind(base: str, head: str) -> str:
    b = analyze(build_project({"orders": UPSTREAM, "m": base}, SHOP_SOURCES))
    h = analyze(build_project({"orders": UPSTREAM, "m": head}, SHOP_SOURCES))
    return classify_models(b, h)["m"].kind


def test_reading_the_table_instead_of_the_shadowing_cte_is_changed() -> None:
    # same CTE body, renamed: the outer query now reads the table, not the CTE
    head = "with w as (select id, status as amount from orders) select id, amount from orders"
    assert kind(SHADOW, head) == "changed"


def test_renaming_a_shadowing_cte_everywhere_is_equivalent() -> None:
    head = "with w as (select id, status as amount from orders) select id, amount from w"
    assert kind(SHADOW, head) == "equivalent"
