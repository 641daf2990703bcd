"""Bad SQL and bad projects are errors with the model file, the line and a hint."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import ProjectError, SqlError
from app.sql.analyze import analyze
from tests.sql.conftest import SHOP_SOURCES, build_project


def error_of(models, sources=SHOP_SOURCES, **kw):  # type: ignore[no-untyped-def]
    with pytest.raises((SqlError, ProjectError)) as info:
        analyze(build_project(models, sources), **kw)
    return info.value


def test_unparseable_sql_names_file_and_line():
    err = error_of({"m": "select\n  id,\n  amount\nfrom raw_orders\nwhere"})
    assert isinstance(err, SqlError)
    assert err.location.path == "models/m.sql" and err.location.line == 5
    assert "duckdb" in err.hint


def test_unclosed_quote_names_its_line():
    err = error_of({"m": "select id,\n  'oops as label\nfrom raw_orders"})
    assert isinstance(err, SqlError) and err.location.line == 2


@pytest.mark.parametrize(
    ("sql", "word"),
    [
        ("insert into t select 1", "INSERT"),
        ("copy raw_orders to 'x.csv'", "COPY"),
        ("set threads = 4", "SET"),
    ],
)
def test_a_statement_that_is_not_a_query_is_an_error(sql, word):  # type: ignore[no-untyped-def]
    err = error_of({"m": sql})
    assert isinstance(err, SqlError) and word in err.message and err.location.path == "models/m.sql"


def test_two_statements_point_at_the_second():
    err = error_of({"m": "select id from raw_orders;\n\nselect 2 from raw_orders"})
    assert "2 statements" in err.message and err.location.line == 3


def test_empty_model_is_an_error():
    assert "empty" in error_of({"m": "-- nothing here\n"}).message


def test_missing_table_names_the_line_and_suggests_close_names():
    err = error_of({"stg_orders": "select id from raw_orders", "m": "select id\nfrom stg_order"})
    assert isinstance(err, ProjectError)
    assert "reads table 'stg_order' which is neither a model nor a declared source" in err.message
    assert (err.location.path, err.location.line, err.location.column) == ("models/m.sql", 2, 6)
    assert "stg_orders" in err.hint


def test_cte_names_are_not_tables():
    analyze(
        build_project({"m": "with recent as (select id from raw_orders) select id from recent"}, SHOP_SOURCES)
    )


def test_cycle_names_the_path_and_files():
    err = error_of(
        {"a": "select id from c", "b": "select id from a", "c": "select id from b", "d": "select id from a"}
    )
    assert isinstance(err, ProjectError)
    assert "a -> c -> b -> a" in err.message
    assert "models/a.sql" in err.message and "models/c.sql" in err.message


def test_self_reference_is_a_cycle():
    assert "m -> m" in error_of({"m": "select id from m"}).message


def test_star_over_a_source_without_columns_asks_to_declare_them():
    err = error_of({"m": "select * from raw_events"}, {"raw_events": {}})
    assert (
        "whose columns are unknown" in err.message
        and "declare the source's columns in datacanary.yml" in err.hint
    )


def test_unknown_column_is_an_error_at_its_line():
    err = error_of({"m": "select id,\n  nope\nfrom raw_orders"})
    assert isinstance(err, SqlError) and "nope" in err.message and err.location.line == 2


def test_not_strict_records_unknown_columns_and_keeps_going():
    p = build_project(
        {"stg": "select id, status from raw_orders", "m": "select id,\n  amount\nfrom stg"}, SHOP_SOURCES
    )
    analysis = analyze(p, strict=False)
    assert [(e.location.path, e.location.line) for e in analysis.problems] == [("models/m.sql", 2)]
    assert analysis.models["m"].column("id") is not None


def test_dotted_source_names_resolve():
    p = build_project({"m": "select o.id from raw.orders as o"}, {"raw.orders": {"id": "bigint"}})
    m = analyze(p).models["m"]
    assert m.sources == ("raw.orders",) and m.lineage["id"] == {("raw.orders", "id")}


def test_catalog_qualified_names_resolve_by_their_longest_known_suffix():
    p = build_project(
        {
            "m": "select o.id from warehouse.raw.orders as o join stg on stg.id = o.id",
            "stg": "select 1 as id",
        },
        {"raw.orders": {"id": "bigint"}},
    )
    assert analyze(p).models["m"].reads_tables == ("raw.orders", "stg")


def test_a_strict_analysis_does_not_reuse_a_lenient_one_silently():
    p = build_project({"stg": "select id from raw_orders", "m": "select id, amount from stg"}, SHOP_SOURCES)
    lenient = analyze(p, strict=False)
    assert len(lenient.problems) == 1
    with pytest.raises(SqlError):
        analyze(p, reuse=lenient)


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        ("select a from raw_orders where where b", "WHERE is incomplete"),
        ("select * from raw_orders join", "Expected table name but got the end of the query"),
        ("select 1 +", "the + operator is incomplete"),
        ("select id from raw_orders limit where", "LIMIT is incomplete"),
    ],
)
def test_syntax_errors_show_the_offending_text_not_sqlglots_internals(sql: str, said: str) -> None:
    err = error_of({"m": sql})
    assert said in err.message and "(near '" in err.message
    assert "<Token" not in err.message and "<class" not in err.message and "TokenType" not in err.message
    assert err.location.path == "models/m.sql" and err.location.line == 1 and err.location.column


KEYWORDS = ["select", "from", "where", "join", "on", "group", "by", "order", "limit", "case", "when", "then",
            "end", "(", ")", ",", "+", "=", "and", "or", "not", "in", "as", "with", "union", "a", "raw_orders",
            "1"]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(KEYWORDS), min_size=1, max_size=12))
def test_no_parse_error_leaks_sqlglot_reprs(words: list[str]) -> None:
    from app.errors import DatacanaryError

    try:
        analyze(build_project({"m": " ".join(words)}, SHOP_SOURCES), strict=True)
    except DatacanaryError as err:
        assert "<Token" not in err.message and "<class" not in err.message, err.message
