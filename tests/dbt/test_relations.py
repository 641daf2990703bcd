"""Compiled relation names back to dataset names, without touching anything else in the SQL."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st
from sqlglot import exp

from app.dbt.nodes import Relation
from app.dbt.relations import RelationIndex, rewrite_relations


def _index(dialect: str = "duckdb", /, **rendered: str) -> RelationIndex:
    # positional-only: a relation may be called `dialect` (hypothesis found that one)
    rels = {name: Relation("db", "main", name, text) for name, text in rendered.items()}
    return RelationIndex.build(rels, dialect)


def test_quoted_three_part_name_becomes_the_dataset_name() -> None:
    idx = _index(orders='"db"."main"."orders"')
    sql, read = rewrite_relations('select o.id from "db"."main"."orders" as o', idx)
    assert sql == "select o.id from orders as o" and read == ("orders",)


def test_unquoted_and_differently_cased_names_match_too() -> None:
    idx = _index("snowflake", orders="DB.MAIN.ORDERS")
    assert rewrite_relations("select * from db.main.orders", idx)[0] == "select * from orders"


def test_ctes_columns_comments_and_strings_are_left_alone() -> None:
    idx = _index(orders='"db"."main"."orders"')
    sql = (
        '-- reads "db"."main"."orders"\n'
        'with orders_cte as (select o.main, \'db.main.orders\' as s from "db"."main"."orders" o)\n'
        "select main.x from orders_cte as main"
    )
    out, _ = rewrite_relations(sql, idx)
    assert out.splitlines()[0] == sql.splitlines()[0]
    assert "'db.main.orders'" in out and "from orders o)" in out and out.endswith("from orders_cte as main")


def test_a_function_with_a_relation_like_name_is_not_rewritten() -> None:
    idx = _index(orders="db.main.orders")
    assert rewrite_relations("select db.main.orders(1)", idx)[0] == "select db.main.orders(1)"


def test_unknown_relations_stay_for_app_sql_to_report() -> None:
    idx = _index(orders='"db"."main"."orders"')
    sql = 'select * from "db"."other"."orders"'
    assert rewrite_relations(sql, idx) == (sql, ())


def test_a_name_that_needs_quotes_is_quoted() -> None:
    idx = RelationIndex.build(
        {"Order Lines": Relation("db", "main", "Order Lines", '"db"."main"."Order Lines"')}, "duckdb"
    )
    assert (
        rewrite_relations('select * from "db"."main"."Order Lines"', idx)[0] == 'select * from "Order Lines"'
    )


_names = st.text(string.ascii_lowercase + "_", min_size=1, max_size=8).filter(lambda s: s.strip("_"))


@given(st.lists(_names, min_size=1, max_size=5, unique=True), st.sampled_from(["\n", "  ", "\n\t"]))
def test_lines_outside_relations_keep_their_bytes(names: list[str], gap: str) -> None:
    idx = _index(**{n: f'"db"."main"."{n}"' for n in names})
    sql = f"select 1 as x{gap}" + gap.join(
        f'join "db"."main"."{n}" as t{i} on true' for i, n in enumerate(names)
    )
    out, read = rewrite_relations(sql, idx)
    assert read == tuple(names)
    plain = [exp.to_identifier(n).sql("duckdb") for n in names]  # keywords such as `do` stay quoted
    assert out == f"select 1 as x{gap}" + gap.join(f"join {n} as t{i} on true" for i, n in enumerate(plain))
    assert out.count("\n") == sql.count("\n")
