"""A change is equivalent only if nothing can see it: column positions read downstream, string `+`,
the case of an output name."""

from __future__ import annotations

import pytest

from app.sql.analyze import analyze
from app.sql.changes import changed_models, classify_models, selected_for_canary
from app.sql.classify import ModelChange
from tests.sql.conftest import build_project

SOURCES = {"t": {"a": "bigint", "b": "bigint", "c": "varchar"}}


def kinds(base: dict[str, str], head: dict[str, str], dialect: str = "duckdb") -> dict[str, ModelChange]:
    b = analyze(build_project(base, SOURCES, dialect=dialect))
    h = analyze(build_project(head, SOURCES, dialect=dialect))
    return classify_models(b, h)


@pytest.mark.parametrize(
    "reader",
    [
        "select * from m union all select a, b from t",
        "select * from m except select a, b from t",
        "select m.* from m join t on m.a = t.a",
        "select x.* from (select * from m) as x",
    ],
)
def test_column_reorder_read_by_position_downstream_is_changed_and_runs_downstream(reader: str) -> None:
    base = {"m": "select a, b from t", "n": reader}
    head = {"m": "select b, a from t", "n": reader}
    assert kinds(base, head)["m"].kind == "changed"
    h = analyze(build_project(head, SOURCES))
    changed = changed_models(analyze(build_project(base, SOURCES)), h)
    assert selected_for_canary(h, changed) == ["m", "n"]


def test_column_reorder_read_by_name_downstream_stays_equivalent() -> None:
    reader = "select a, b from m union all select a, b from t"
    got = kinds({"m": "select a, b from t", "n": reader}, {"m": "select b, a from t", "n": reader})
    assert got["m"].kind == "equivalent"
    assert "column order" in got["m"].reasons


@pytest.mark.parametrize(
    ("dialect", "base", "head"),
    [
        ("tsql", "select c + 'x' as s from t", "select 'x' + c as s from t"),  # string concatenation
        ("duckdb", "select [a] + [b] as s from t", "select [b] + [a] as s from t"),  # list concatenation
        ("tsql", "select c + c + 'x' as s from t", "select 'x' + c + c as s from t"),
    ],
)
def test_swapping_operands_of_a_non_numeric_plus_is_changed(dialect: str, base: str, head: str) -> None:
    assert kinds({"m": base}, {"m": head}, dialect)["m"].kind == "changed"


@pytest.mark.parametrize("dialect", ["tsql", "duckdb"])
def test_swapping_operands_of_numeric_plus_and_times_stays_equivalent(dialect: str) -> None:
    got = kinds({"m": "select a + b * 2 as s from t"}, {"m": "select 2 * b + a as s from t"}, dialect)["m"]
    assert got.kind == "equivalent"
    assert "commutative operands" in got.reasons


@pytest.mark.parametrize(
    ("dialect", "base", "head"),
    [
        ("duckdb", 'select a as "Total" from t', 'select a as "total" from t'),
        ("duckdb", "select a as Total from t", "select a as total from t"),  # DuckDB keeps the spelling
        ("bigquery", "select a as `Total` from t", "select a as `total` from t"),
        ("postgres", 'select a as "Total" from t', 'select a as "total" from t'),
        (
            "duckdb",
            "with w(Total) as (select a from t) select * from w",
            "with w(total) as (select a from t) select * from w",
        ),
        (
            "duckdb",
            "select * from (select a as Total from t) s",
            "select * from (select a as total from t) s",
        ),
        ("duckdb", "select a as A from t", "select a from t"),
        ("duckdb", "select * from t", "select a as A, b, c from t"),
    ],
)
def test_changing_only_the_case_of_an_output_name_is_changed(dialect: str, base: str, head: str) -> None:
    assert kinds({"m": base}, {"m": head}, dialect)["m"].kind == "changed"


@pytest.mark.parametrize("dialect", ["postgres", "snowflake"])
def test_case_of_an_unquoted_alias_is_folded_where_the_dialect_folds_it(dialect: str) -> None:
    got = kinds({"m": "select a as Total from t"}, {"m": "select a as TOTAL from t"}, dialect)["m"]
    assert got.kind == "equivalent"


@pytest.mark.parametrize(
    ("base", "head"),
    [
        ("select a from t", "select A from t"),  # an unaliased column keeps its stored name
        ("select * from t", "select a, b, c from t"),
        ("select a as x from t", "select A as x from t"),
    ],
)
def test_respelling_what_is_not_an_output_name_stays_equivalent(base: str, head: str) -> None:
    assert kinds({"m": base}, {"m": head})["m"].kind == "equivalent"


@pytest.mark.parametrize(
    ("dialect", "clause"),
    [("duckdb", "order by 2 limit 1"), ("duckdb", "order by all desc limit 1"), ("spark", "sort by 1")],
)
def test_column_reorder_under_a_positional_clause_is_changed(dialect: str, clause: str) -> None:
    got = kinds({"m": f"select a, b from t {clause}"}, {"m": f"select b, a from t {clause}"}, dialect)
    assert got["m"].kind == "changed"
