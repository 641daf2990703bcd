"""Statements transpiled once per shape (app.engines.shapes) read exactly as a whole transpile reads them:
for the diff's own statements over any column names and types, for names with quotes, spaces and
backticks in them, and for statements the shapes cannot read (a comment, a backslash)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.canary import queries as q
from app.canary import rowsets as sets
from app.canary.schema import Tolerance, plan_diff
from app.canary.sqltext import table
from app.engines import shapes, transpile, transpile_whole

DIALECTS = ("postgres", "spark")
TYPES = ["INTEGER", "BIGINT", "DOUBLE", "DECIMAL(10,2)", "VARCHAR", "DATE", "TIMESTAMP", "BOOLEAN"]
names = st.text(st.sampled_from("ab_ \"'`.-é1"), min_size=1, max_size=6)


@st.composite
def plans(draw: Any) -> Any:
    cols = draw(
        st.lists(st.tuples(names, st.sampled_from(TYPES)), min_size=2, max_size=5, unique_by=lambda c: c[0])
    )
    retyped = [(n, draw(st.sampled_from([ty, *TYPES]))) for n, ty in cols]
    key = [cols[0][0]] + ([cols[1][0]] if draw(st.booleans()) else [])
    tol = {n: Tolerance(absolute=0.5) for n, ty in cols if ty == "DOUBLE" and draw(st.booleans())}
    return plan_diff(cols, retyped, key, tol, ())


def statements(plan: Any, left: str, right: str, dialect: str) -> list[str]:
    """What the in-place diff sends for one plan: key checks, the join, its summary, profiles, rows."""
    keys = table("__keys")
    return [
        sets.key_check(left, plan, 3),
        f"{sets.duplicate_keys(left, plan)} UNION {sets.duplicate_keys(right, plan)}",
        q.diff_rows(plan, left, right, keys, dialect),
        q.diff_summary(plan, table("__diffs"), 3),
        q.sides(plan, left, right, True, True),
        sets.rows_by_key(left, plan, keys),
        f"DROP TABLE IF EXISTS {keys}",
    ]


@settings(max_examples=40, deadline=None)
@given(plans(), names, names)
def test_the_diffs_statements_transpile_by_shape_as_whole(plan: Any, left: str, right: str) -> None:
    for dialect in DIALECTS:
        for sql in statements(plan, table(left, "s"), table(right), dialect):
            assert transpile(sql, dialect) == transpile_whole(sql, dialect), sql


def test_a_shape_is_transpiled_once_for_statements_over_other_tables_and_columns() -> None:
    calls: list[str] = []

    def counting(sql: str, dialect: str) -> str:
        calls.append(sql)
        return transpile_whole(sql, dialect)

    a = plan_diff(
        [("id", "INTEGER"), ("v", "VARCHAR")], [("id", "INTEGER"), ("v", "VARCHAR")], ["id"], {}, ()
    )
    b = plan_diff(
        [("k", "INTEGER"), ("w x", "VARCHAR")], [("k", "INTEGER"), ("w x", "VARCHAR")], ["k"], {}, ()
    )
    first = q.diff_rows(a, table("l_1", "scratch"), table("r_1", "other"), None, "spark")
    second = q.diff_rows(b, table("m", "base"), table("m`s", "head"), None, "spark")
    got = [shapes.transpiled_by_shape(s, "spark", counting) for s in (first, second)]
    assert len(calls) == 1  # the second statement is the first one's shape with other names
    assert got == [transpile_whole(first, "spark"), transpile_whole(second, "spark")]
    assert "`head`.`m``s`" in got[1] and "`w x`" in got[1]


def test_names_are_put_back_as_the_dialect_quotes_them() -> None:
    sql = 'SELECT "a""b", "c`d", "a""b" + 1 AS "é" FROM "s"."t"'
    assert transpile(sql, "spark") == 'SELECT `a"b`, `c``d`, `a"b` + 1 AS `é` FROM `s`.`t`'
    assert transpile(sql, "postgres") == transpile_whole(sql, "postgres")


def test_literals_stay_in_the_shape_where_they_decide_the_transpile() -> None:
    # the date part and the format are read by sqlglot: two statements differing only in them differ
    for part in ("day", "month"):
        sql = f'SELECT date_trunc(\'{part}\', "ts"), strftime("ts", \'%Y-%m\') FROM "t"'
        assert transpile(sql, "spark") == transpile_whole(sql, "spark")
    assert "'MONTH'" in transpile('SELECT date_trunc(\'month\', "ts") FROM "t"', "spark")


def test_a_statement_the_shapes_do_not_read_is_transpiled_whole() -> None:
    for sql in (
        'SELECT "x" FROM "t" -- a comment',
        'SELECT "x" /* a comment */ FROM "t"',
        "SELECT '\\' AS \"b\"",
        'SELECT "x" FROM "t" WHERE "y" = \'a"b\'',  # a quote inside a literal is the literal's
        'SELECT "__dcn0__" FROM "t"',  # a name that looks like a put-aside one
    ):
        for dialect in DIALECTS:
            assert transpile(sql, dialect) == transpile_whole(sql, dialect), sql


def test_a_name_moved_out_of_quotes_falls_back_to_the_whole_transpile() -> None:
    def literal_names(sql: str, dialect: str) -> str:  # a transpile that writes every name as a string
        return sql.replace('"', "'")

    sql = 'SELECT "a" FROM "t"'
    assert shapes.transpiled_by_shape(sql, "spark", literal_names) == "SELECT 'a' FROM 't'"


def test_a_shape_that_fails_to_transpile_fails_in_the_statements_own_names() -> None:
    def failing(sql: str, dialect: str) -> str:
        raise ValueError(f"cannot transpile {sql}")

    with pytest.raises(ValueError, match="secret_col") as failed:
        shapes.transpiled_by_shape('SELECT "secret_col" FROM "t"', "spark", failing)
    assert "__dcn" not in str(failed.value)
