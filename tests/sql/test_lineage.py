"""Column-level lineage in one pass: through CTEs, subqueries, unions and stars, down to base tables."""

from __future__ import annotations

import pytest

from app.errors import ProjectError
from app.sql.analyze import analyze
from app.sql.qualify import ColumnsUnknown
from tests.sql.conftest import SHOP_SOURCES, build_project


def lineage(models, model):  # type: ignore[no-untyped-def]
    return dict(analyze(build_project(models, SHOP_SOURCES)).models[model].lineage)


def test_lineage_through_ctes_and_aliases():
    got = lineage(
        {
            "m": """with o as (select id as order_id, amount * 100 as cents, customer_id from raw_orders),
                    c as (select id, upper(name) as name from raw_customers)
            select o.order_id, c.name, o.cents + 1 as cents_plus
            from o join c on c.id = o.customer_id"""
        },
        "m",
    )
    assert got == {
        "order_id": {("raw_orders", "id")},
        "name": {("raw_customers", "name")},
        "cents_plus": {("raw_orders", "amount")},
    }


def test_lineage_through_derived_tables_and_scalar_subqueries():
    got = lineage(
        {
            "m": """select t.id,
                (select max(c.signed_up) from raw_customers c where c.id = t.customer_id) as last_signup
            from (select id, customer_id from raw_orders where status = 'done') as t"""
        },
        "m",
    )
    assert got["id"] == {("raw_orders", "id")}
    # the scalar subquery's value depends on everything it reads, the correlation included
    assert got["last_signup"] == {
        ("raw_customers", "signed_up"),
        ("raw_customers", "id"),
        ("raw_orders", "customer_id"),
    }


def test_lineage_of_a_union_collects_every_branch_by_position():
    got = lineage(
        {"m": "select id as key, status from raw_orders union all select id, country from raw_customers"}, "m"
    )
    assert got == {
        "key": {("raw_orders", "id"), ("raw_customers", "id")},
        "status": {("raw_orders", "status"), ("raw_customers", "country")},
    }


def test_lineage_of_a_union_by_name_pairs_the_branches_by_name():
    got = lineage(
        {
            "m": "select id, status from raw_orders union all by name select country as status, id from raw_customers"
        },
        "m",
    )
    assert got == {
        "id": {("raw_orders", "id"), ("raw_customers", "id")},
        "status": {("raw_orders", "status"), ("raw_customers", "country")},
    }


def test_lineage_through_pivot_and_unpivot():
    # Snowflake's PIVOT/UNPIVOT clause: every output column had no lineage (an empty blast radius)
    def snowflake(sql: str) -> dict:  # type: ignore[type-arg]
        return dict(analyze(build_project({"m": sql}, SHOP_SOURCES, dialect="snowflake")).models["m"].lineage)

    pivoted = snowflake(
        "select * from (select customer_id, status, amount from raw_orders)"
        " pivot (sum(amount) for status in ('placed', 'shipped')) as p"
    )
    assert pivoted == {
        "CUSTOMER_ID": {("raw_orders", "CUSTOMER_ID")},
        "'placed'": {("raw_orders", "AMOUNT"), ("raw_orders", "STATUS")},
        "'shipped'": {("raw_orders", "AMOUNT"), ("raw_orders", "STATUS")},
    }
    unpivoted = snowflake(
        "select customer_id, k, v from (select customer_id, id, amount from raw_orders)"
        " unpivot (v for k in (id, amount))"
    )
    both = {("raw_orders", "ID"), ("raw_orders", "AMOUNT")}
    assert unpivoted == {"CUSTOMER_ID": {("raw_orders", "CUSTOMER_ID")}, "K": both, "V": both}


# the Cities example of DuckDB's PIVOT documentation (duckdb.org/docs/sql/statements/pivot)
CITIES = {"cities": {"country": "varchar", "name": "varchar", "year": "integer", "population": "integer"}}
BY_YEAR = {("cities", "year"), ("cities", "population")}  # country groups: it decides rows


@pytest.mark.parametrize(
    "sql",
    [
        'select p.country, p."2000", p."2010"'
        " from (pivot cities on year in (2000, 2010) using sum(population) group by country) p",
        "with p as (pivot cities on year in (2000, 2010) using sum(population) group by country) select * from p",
        "select * from cities pivot (sum(population) for year in (2000, 2010) group by country)",
    ],
)
def test_a_duckdb_pivot_statement_in_a_subquery_or_cte_resolves_its_columns(sql: str) -> None:
    # the statement form inside a query stopped sqlglot's scopes: an AssertionError (a CTE of it read
    # as an unknown table 'p'); and the clause's `*` with GROUP BY listed name instead of country
    model = analyze(build_project({"m": sql}, CITIES)).models["m"]
    assert model.column_names == ("country", "2000", "2010")
    assert model.lineage["country"] == {("cities", "country")}
    assert model.lineage["2000"] == model.lineage["2010"] == BY_YEAR


def test_a_pivot_on_the_datas_values_is_read_conservatively() -> None:
    sql = 'select p.country, p."2000" from (pivot cities on year using sum(population) group by country) p'
    model = analyze(build_project({"m": sql}, CITIES)).models["m"]
    assert model.problems == () and model.column_names == ("country", "2000")
    assert model.lineage["country"] == {("cities", "country")}
    assert model.lineage["2000"] == BY_YEAR
    # without GROUP BY a name may be a value or a column passed through: it reads both
    ungrouped = 'select "2000", name from (pivot cities on year using sum(population))'
    model = analyze(build_project({"m": ungrouped}, CITIES)).models["m"]
    assert model.lineage["name"] == {("cities", "year"), ("cities", "population"), ("cities", "name")}
    # its columns are the data's: a * over it is unknown, not a column list made up
    star = analyze(
        build_project({"m": "select * from (pivot cities on year using sum(population)) p"}, CITIES),
        strict=False,
    )
    assert isinstance(star.broken["m"].error, ColumnsUnknown)
    assert "year has no IN list" in star.broken["m"].error.message


@pytest.mark.parametrize(
    ("sql", "columns"),
    [
        ("select columns('^(id|amount)$') from raw_orders", ("id", "amount")),
        (
            "select customer_id, max(columns('^(amount|ordered_at)$')) from raw_orders group by all",
            ("customer_id", "amount", "ordered_at"),
        ),
        ("select columns(* exclude (status, ordered_at)) from raw_orders", ("id", "customer_id", "amount")),
        (
            "with o as (select columns(['id', 'status']) from raw_orders) select min(columns(*)) from o",
            ("id", "status"),
        ),
    ],
)
def test_duckdb_columns_expands_against_the_known_columns(sql: str, columns: tuple[str, ...]) -> None:
    # each came out as one output column `_col_0` with no lineage
    model = analyze(build_project({"m": sql}, SHOP_SOURCES)).models["m"]
    assert model.column_names == columns
    assert dict(model.lineage) == {c: {("raw_orders", c)} for c in columns}


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("select columns('^a') from raw_events", "nobody declared the columns"),
        ("select columns('^a') from raw_events where b > 1", "from 'raw_events' whose columns are unknown"),
        ("select columns(lambda c: c like 'a%') from raw_orders", "cannot be evaluated"),
    ],
)
def test_duckdb_columns_over_what_cannot_be_listed_is_columns_unknown(sql: str, why: str) -> None:
    a = analyze(build_project({"m": sql}, {**SHOP_SOURCES, "raw_events": {}}), strict=False)
    assert isinstance(a.broken["m"].error, ColumnsUnknown) and why in a.broken["m"].error.message


def test_lineage_of_a_recursive_cte_follows_its_reference_to_itself():
    # each round swaps a and b, and the path is built from the id of the round before: both were lost
    got = lineage(
        {
            "m": """with recursive r(a, b, n) as (
                select id, customer_id, 1 from raw_orders
                union all select b, a, n + 1 from r where n < 3),
            tree(id, path) as (
                select id, null from raw_customers where signed_up is null
                union all select c.id, t.path || '>' || t.id from raw_customers c join tree t on c.id = t.id + 1)
            select r.a, r.b, tree.path from r join tree on tree.id = r.a"""
        },
        "m",
    )
    assert got == {
        "a": {("raw_orders", "id"), ("raw_orders", "customer_id")},
        "b": {("raw_orders", "id"), ("raw_orders", "customer_id")},
        "path": {("raw_customers", "id")},
    }


def test_star_expands_through_models():
    models = {
        "stg": "select id, status from raw_orders",
        "m": "with s as (select * from stg) select * from s",
    }
    assert lineage(models, "m") == {"id": {("stg", "id")}, "status": {("stg", "status")}}


def test_window_inputs_are_part_of_the_value():
    got = lineage(
        {
            "m": "select row_number() over (partition by customer_id order by ordered_at) as rn from raw_orders"
        },
        "m",
    )
    assert got["rn"] == {("raw_orders", "customer_id"), ("raw_orders", "ordered_at")}


def test_reads_include_filters_joins_and_grouping_not_only_projections():
    p = build_project(
        {
            "m": "select o.customer_id, count(*) as n from raw_orders o join raw_customers c on c.id = o.customer_id "
            "where o.status = 'x' group by o.customer_id having max(c.country) = 'NL'"
        },
        SHOP_SOURCES,
    )
    a = analyze(p)
    assert a.models["m"].lineage["n"] == frozenset()
    assert {("raw_orders", "status"), ("raw_customers", "id"), ("raw_customers", "country")} <= a.models[
        "m"
    ].reads
    assert a.readers("raw_orders", "status") == {"m"}


def test_column_downstream_and_upstream_are_transitive():
    p = build_project(
        {
            "stg": "select id, amount from raw_orders",
            "fct": "select id, amount * 2 as double_amount from stg",
            "agg": "select sum(double_amount) as total from fct",
            "other": "select id from stg",
        },
        SHOP_SOURCES,
    )
    a = analyze(p)
    assert a.column_downstream("raw_orders", "amount") == {
        ("stg", "amount"),
        ("fct", "double_amount"),
        ("agg", "total"),
    }
    assert a.column_upstream("agg", "total") == {
        ("fct", "double_amount"),
        ("stg", "amount"),
        ("raw_orders", "amount"),
    }
    assert a.downstream("stg") == {"fct", "agg", "other"}
    assert a.order.index("stg") < a.order.index("fct") < a.order.index("agg")
    assert {e.downstream for e in a.lineage if e.upstream == ("stg", "amount")} == {("fct", "double_amount")}


def test_head_analysis_reuses_unchanged_models():
    base = build_project(
        {"stg": "select id, amount from raw_orders", "m": "select id from stg", "x": "select 1 as one"},
        SHOP_SOURCES,
    )
    head = build_project(
        {
            "stg": "select id, amount, status from raw_orders",
            "m": "select id from stg",
            "x": "select 1 as one",
        },
        SHOP_SOURCES,
    )
    a = analyze(base)
    b = analyze(head, reuse=a)
    assert b.models["x"] is a.models["x"]  # nothing it depends on changed
    assert b.models["stg"] is not a.models["stg"]
    assert b.models["m"] is not a.models["m"]  # its upstream's schema changed: re-typed
    assert b.models["stg"].column_names == ("id", "amount", "status")


def test_lineage_through_table_functions_comes_from_their_arguments():
    p = build_project(
        {"m": "select t.a, f.value::string as v from raw.t, lateral flatten(input => t.js) f"},
        {"raw.t": {"a": "number", "js": "variant"}},
        dialect="snowflake",
    )
    assert analyze(p).models["m"].lineage["V"] == {("raw.t", "JS")}


def test_a_with_inside_a_subquery_does_not_hide_the_table_of_the_same_name_outside_it():
    p = build_project(
        {"m": "select s.a, r.b from (with raw as (select 1 a) select * from raw) s, raw r"},
        {"raw": {"b": "int"}},
    )
    assert analyze(p, strict=False).models["m"].reads_tables == ("raw",)


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("duckdb", "with Recent as (select id, amount from raw_orders) select id, amount from recent"),
        ("duckdb", 'with "Recent" as (select id, amount from raw_orders) select id, amount from RECENT'),
        ("snowflake", "with Recent as (select id, amount from raw_orders) select id, amount from RECENT"),
        ("postgres", "with Recent as (select id, amount from raw_orders) select id, amount from recent"),
    ],
)
def test_a_cte_is_read_whatever_the_case_the_engine_ignores(dialect: str, sql: str) -> None:
    model = analyze(build_project({"m": sql}, SHOP_SOURCES, dialect=dialect)).models["m"]
    assert model.reads_tables == ("raw_orders",)
    assert {c.lower(): v for c, v in model.lineage.items()} == {
        "id": {("raw_orders", "id" if dialect != "snowflake" else "ID")},
        "amount": {("raw_orders", "amount" if dialect != "snowflake" else "AMOUNT")},
    }


def test_postgres_keeps_a_quoted_cte_name_apart_from_the_unquoted_table_name() -> None:
    sql = 'with "Recent" as (select id from raw_orders) select id from recent'
    with pytest.raises(ProjectError, match="reads table 'recent'"):
        analyze(build_project({"m": sql}, SHOP_SOURCES, dialect="postgres"))
