"""compile_query resolves CTE names by scope: a WITH only shadows a name where it is visible, and every
other table reference is rewritten to a model or source, or refused."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from app.canary.compile import CompileProblem, compile_query, name_resolver
from app.canary.guard import refuse, screen
from app.sql.analyze import analyze
from app.sql.transpile import to_duckdb
from tests.sql.conftest import build_project

RESOLVE = name_resolver({"orders": ("source", "orders"), "t": ("head", "t")})


def _compile(sql: str) -> str:
    return compile_query(sql, path="models/m.sql", dialect="duckdb", resolve=RESOLVE).sql


@pytest.mark.parametrize(
    "sql, name",
    [
        (
            'select count(*) from (with "{secret}" as (select 1 a) select * from orders) s, "{secret}" f',
            "{secret}",
        ),
        (
            "with x as (select 1) select * from (with pg_settings as (select 1 a) select * from t) s, pg_settings",
            "pg_settings",
        ),
        (
            "select * from (with duckdb_databases as (select 1 a) select * from t) s, duckdb_databases",
            "duckdb_databases",
        ),
        (
            "select * from t where exists (with sqlite_master as (select 1) select 1) and 1 in (from sqlite_master)",
            "sqlite_master",
        ),
        (
            "select * from t, lateral (with duckdb_views as (select 1 a) select * from duckdb_views) x, duckdb_views",
            "duckdb_views",
        ),
        (
            "with b as (select * from duckdb_tables), duckdb_tables as (select 1) select * from b",
            "duckdb_tables",
        ),
        ('select * from "a"."b"."c"."d"', "a.b.c.d"),
    ],
)
def test_a_cte_out_of_scope_does_not_shadow_a_name(tmp_path: Path, sql: str, name: str) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("s\nTOPSECRET\n")
    with pytest.raises(CompileProblem) as info:
        _compile(sql.format(secret=secret))
    assert info.value.kind == "refused"
    if name == "{secret}":  # a path outside the project is refused as a file read, never echoed
        assert "reads a file" in info.value.message and str(secret) not in info.value.message
    else:
        assert repr(name.format(secret=secret)) in info.value.message


def test_ctes_in_scope_still_shadow_models_and_sources() -> None:
    sql = _compile(
        "with a as (select 1 x), orders as (select * from a) "
        "select * from orders, (select * from a) s where x in (select x from a union all select x from orders)"
    )
    assert "source" not in sql  # every `orders` here is the CTE


def test_recursive_cte_reads_itself_and_a_self_named_cte_reads_the_source() -> None:
    rec = _compile(
        "with recursive r as (select 1 n union all select n + 1 from r where n < 3) select * from r"
    )
    assert "head" not in rec and "source" not in rec
    own = _compile("with orders as (select * from orders where 1 = 1) select * from orders")
    assert 'FROM "source"."orders" AS "orders" WHERE' in own and own.endswith("SELECT * FROM orders")


@pytest.mark.parametrize("dialect", ["duckdb", "snowflake", "postgres"])
def test_a_cte_is_found_whatever_the_case_of_its_unquoted_name(dialect: str) -> None:
    sql = compile_query(
        "with Orders as (select 1 as x) select * from ORDERS", path="m.sql", dialect=dialect, resolve=RESOLVE
    ).sql
    assert "source" not in sql  # the engine resolves ORDERS to the CTE, so does the rewrite


def test_postgres_keeps_a_quoted_cte_name_apart_from_an_unquoted_table() -> None:
    sql = compile_query(
        'with "Orders" as (select 1 as x) select * from orders',
        path="m.sql",
        dialect="postgres",
        resolve=RESOLVE,
    ).sql
    assert '"source"."orders"' in sql


PIVOT_MODEL = "PIVOT orders ON status IN ('paid', 'placed') USING sum(amount) GROUP BY customer_id"


def _shop() -> duckdb.DuckDBPyConnection:
    db = duckdb.connect()
    db.execute("create schema source; create table source.orders (customer_id int, status text, amount int)")
    db.execute("insert into source.orders values (1, 'paid', 10), (1, 'placed', 5), (2, 'paid', 3)")
    return db


def test_a_model_that_is_one_pivot_statement_builds_in_the_canary() -> None:
    # it was refused: "the model holds a PIVOT statement; a model may only be a SELECT"
    assert screen(PIVOT_MODEL, "duckdb") is None
    sql = _compile(PIVOT_MODEL)
    rows = _shop().execute(f"{sql} order by 1")
    assert [d[0] for d in rows.description] == ["customer_id", "paid", "placed"]
    assert rows.fetchall() == [(1, 10, 5), (2, 3, None)]


def test_an_analysed_pivot_statement_model_is_transpiled_as_the_query_it_is() -> None:
    # the canary refused the analysed model as it did the unanalysed one
    sources = {"orders": {"customer_id": "int", "status": "varchar", "amount": "int"}}
    model = analyze(build_project({"m": PIVOT_MODEL}, sources)).models["m"]
    assert refuse(model.expression) is None
    sql = to_duckdb(model, "duckdb", {"orders": "source.orders"})
    assert _shop().execute(f"{sql} order by 1").fetchall() == [(1, 10, 5), (2, 3, None)]
