"""Unnamed output expressions are named as DuckDB names them (checked against DuckDB itself)."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot

from app.sql.analyze import analyze
from app.sql.engine_names import duckdb_name
from tests.sql.conftest import build_project

EXPRESSIONS = [
    "1 - v",
    "T.a + 1",
    "a + b * 2",
    "(a + b) * 2",
    "a % 2",
    "a <> 1",
    "a >= 1 and b < 2",
    "a or b > 1",
    "a - -1",
    "-a",
    "not (a > 1)",
    "a is null",
    "a is not null",
    "sum(a)",
    "SUM(t.a)",
    "count(*)",
    "count(distinct a)",
    "min(a) + max(b)",
    "avg(v)",
    "round(v, 2)",
    "abs(a)",
    "upper(s)",
    "lower(s) || 'x'",
    "ifnull(a, 0)",
    "coalesce(a, b, 0)",
    "a / 100.0",
    "NULL",
    "true",
    "'x'",
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("create table t (a int, b int, v double, s varchar)")
    return c


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_the_name_is_the_one_duckdb_gives(con: duckdb.DuckDBPyConnection, expression: str) -> None:
    sql = f"select {expression} from t as T"
    engine = con.execute(sql).description[0][0]
    assert duckdb_name(sqlglot.parse_one(sql, read="duckdb").selects[0]) == engine


def test_the_analysis_names_outputs_as_duckdb_does(con: duckdb.DuckDBPyConnection) -> None:
    sql = "select a, 1 - v, count(*) from t group by a, v"
    project = build_project({"m": sql}, {"t": {"a": "int", "b": "int", "v": "double", "s": "varchar"}})
    engine = [d[0] for d in con.execute(sql).description]
    assert list(analyze(project).models["m"].column_names) == engine == ["a", "(1 - v)", "count_star()"]


def test_a_shape_it_cannot_spell_keeps_no_engine_name() -> None:
    assert duckdb_name(sqlglot.parse_one("select case when a > 1 then 1 end from t").selects[0]) is None
