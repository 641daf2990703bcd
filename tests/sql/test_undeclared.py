"""Undeclared tables (a dbt source without columns, no catalog.json) have the columns their readers
name: no false `sql-unresolved-column`, and lineage still reaches them (app.sql.infer)."""

from __future__ import annotations

import pytest
import sqlglot

from app.sql.infer import infer_columns


def _infer(sql: str, unknown: list[str], schema: dict | None = None) -> dict[str, list[str]]:
    tree = sqlglot.parse_one(sql, read="duckdb")
    return {
        t: sorted(cols) for t, cols in infer_columns(tree, schema or {}, unknown, "duckdb").columns.items()
    }


def test_columns_read_through_a_star_cte_belong_to_the_undeclared_source() -> None:
    sql = (
        "with source as (select * from raw_customers),\n"
        "renamed as (select id as customer_id, first_name, upper(last_name) as l from source)\n"
        "select * from renamed"
    )
    assert _infer(sql, ["raw_customers"]) == {"raw_customers": ["first_name", "id", "last_name"]}


def test_a_correlated_subquery_over_the_undeclared_table_resolves() -> None:
    sql = "select * from final where order_date >= (select max(order_date) from orders__this)"
    found = _infer(sql, ["orders__this"], {"final": {"order_date": sqlglot.exp.DataType.build("date")}})
    assert found == {"orders__this": ["order_date"]}


def test_a_column_two_undeclared_tables_could_own_stays_out() -> None:
    sql = "select a.id, b.amount, status from raw_a a join raw_b b on a.id = b.a_id"
    assert _infer(sql, ["raw_a", "raw_b"]) == {"raw_a": ["id"], "raw_b": ["a_id", "amount"]}


def test_a_cte_column_is_not_mistaken_for_the_sources() -> None:
    sql = "with s as (select *, 1 as one from raw_a) select one, x from s"
    assert _infer(sql, ["raw_a"]) == {"raw_a": ["x"]}


LATERAL = (
    "with source as (select * from raw_licenses),\n"
    "renamed as (select id as license_id, parse_json(payload) as _license,\n"
    "  _license:sku::varchar as sku from source where _license:trial is null)\n"
    "select * from renamed"
)


def test_a_lateral_alias_is_not_a_column_of_the_undeclared_source() -> None:
    tree = sqlglot.parse_one(LATERAL, read="snowflake")
    found = infer_columns(tree, {}, ["RAW_LICENSES"], "snowflake").columns  # as Snowflake names it
    assert {t: sorted(c) for t, c in found.items()} == {"RAW_LICENSES": ["ID", "PAYLOAD"]}


def test_a_staging_model_using_a_lateral_alias_resolves_with_lineage_to_the_source() -> None:
    # mattermost-data-warehouse's stg_cws__license: every column was "could not be resolved" before
    from app.sql.analyze import analyze
    from tests.sql.conftest import build_project

    analysis = analyze(
        build_project({"stg": LATERAL}, {"raw_licenses": {}}, dialect="snowflake"), strict=False
    )
    assert analysis.problems == ()
    assert dict(analysis.models["stg"].lineage) == {
        "LICENSE_ID": {("raw_licenses", "ID")},
        "_LICENSE": {("raw_licenses", "PAYLOAD")},
        "SKU": {("raw_licenses", "PAYLOAD")},
    }


def test_a_column_used_before_an_alias_of_its_name_is_the_sources() -> None:
    # mattermost's stg_mm_telemetry_prod__event_deduped: `user_id as server_id, user_actual_id as user_id`
    sql = "select user_id as server_id, user_actual_id as user_id from raw_events"
    assert _infer(sql, ["raw_events"]) == {"raw_events": ["user_actual_id", "user_id"]}


@pytest.mark.parametrize(
    "stg",
    [
        "select * from raw_events where not _deleted",
        "with source as (select * from raw_events) select * from source where not _deleted",
        "select e.*, e.id as event_key from raw_events e",
    ],
)
def test_a_star_over_an_undeclared_source_is_not_just_the_columns_the_model_names(stg: str) -> None:
    # the model's output is every column of raw_events, not `_deleted` (or `id`) alone; its readers
    # got a false "Column 'event_id' could not be resolved"
    from app.sql.analyze import analyze
    from app.sql.qualify import ColumnsUnknown
    from tests.sql.conftest import build_project

    models = {"stg": stg, "fct": "select event_id, upper(kind) as kind from stg"}
    analysis = analyze(build_project(models, {"raw_events": {}}), strict=False)
    assert isinstance(analysis.broken["stg"].error, ColumnsUnknown)
    assert analysis.problems == ()
    assert dict(analysis.models["fct"].lineage) == {
        "event_id": {("stg", "event_id")},
        "kind": {("stg", "kind")},
    }


def test_where_an_engine_has_no_lateral_aliases_the_name_is_the_sources_column() -> None:
    # PostgreSQL and BigQuery resolve `l` in `lower(l)` to a column of the table, never to the alias
    tree = sqlglot.parse_one("select upper(payload) as l, lower(l) as x from raw_events", read="postgres")
    found = infer_columns(tree, {}, ["raw_events"], "postgres").columns
    assert {t: sorted(c) for t, c in found.items()} == {"raw_events": ["l", "payload"]}
