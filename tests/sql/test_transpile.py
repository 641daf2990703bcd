"""Models transpiled to DuckDB for the canary, or refused with the file and a hint."""

from __future__ import annotations

import duckdb
import pytest

from app.errors import SqlError
from app.sql.analyze import analyze
from app.sql.transpile import to_duckdb
from tests.sql.conftest import build_project


def test_snowflake_model_runs_in_duckdb_on_retargeted_tables():
    p = build_project(
        {
            "m": "select id, iff(amount > 10, 'big', 'small') as size, amount::number(10, 2) as amount\n"
            "from raw.orders as o where o.status = 'done'"
        },
        {"raw.orders": {"id": "number", "amount": "float", "status": "varchar"}},
        dialect="snowflake",
    )
    sql = to_duckdb(analyze(p).models["m"], "snowflake", {"raw.orders": "sample.orders"})
    con = duckdb.connect()
    con.execute(
        "create schema sample; create table sample.orders as select 1 as id, 12.5 as amount, 'done' as status"
    )
    assert con.execute(sql).fetchall() == [(1, "big", 12.5)]


def test_cte_named_like_a_model_is_not_retargeted():
    p = build_project({"stg": "select 1 as id", "m": "with stg as (select 2 as id) select id from stg"})
    assert "other" not in to_duckdb(analyze(p).models["m"], "duckdb", {"stg": "other"})


def test_untranslatable_construct_is_a_sql_error_at_the_model():
    p = build_project(
        {"m": "select id, parse_url(url) as parts from raw_t"},
        {"raw_t": {"id": "bigint", "url": "varchar"}},
        dialect="snowflake",
    )
    model = analyze(p).models["m"]
    with pytest.raises(SqlError) as info:
        to_duckdb(model, "snowflake")
    assert info.value.location.path == "models/m.sql" and "DuckDB" in info.value.message
