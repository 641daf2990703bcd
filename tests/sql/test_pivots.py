"""DuckDB's PIVOT and UNPIVOT statements, as a whole model or inside one: the columns DuckDB returns, in
its order, each with the upstream columns it reads."""

from __future__ import annotations

import duckdb
import pytest

from app.errors import SqlError
from app.sql.analyze import analyze
from app.sql.qualify import ColumnsUnknown
from tests.sql.conftest import build_project

TABLES = {
    "orders": {"customer_id": "integer", "status": "varchar", "amount": "decimal(10,2)", "id": "integer"},
    "sales": {"region": "varchar", "jan": "integer", "feb": "integer", "mar": "integer"},
}
PIVOTED = {("orders", "status"), ("orders", "amount")}
CUSTOMER = {("orders", "customer_id")}
AGGREGATED = ("paid_total", "paid_last", "placed_total", "placed_last")  # DuckDB's order
JAN_FEB = {("sales", "jan"), ("sales", "feb")}


def duckdb_columns(sql: str) -> tuple[str, ...]:
    """The names DuckDB itself gives the columns of `sql`, over empty tables shaped like TABLES."""
    db = duckdb.connect()
    for table, columns in TABLES.items():
        db.execute(f"create table {table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    return tuple(row[0] for row in db.execute(f"describe {sql}").fetchall())


def model_of(sql: str):  # type: ignore[no-untyped-def]
    return analyze(build_project({"m": sql}, TABLES)).models["m"]


UNPIVOTED = {"region": {("sales", "region")}, "mar": {("sales", "mar")}, "month": JAN_FEB, "amount": JAN_FEB}
HALVES = {
    "region": {("sales", "region")},
    **dict.fromkeys(("half", "first", "second"), {*JAN_FEB, ("sales", "mar")}),
}


@pytest.mark.parametrize(
    ("sql", "lineage"),
    [
        ("select * from sales unpivot (amount for month in (jan, feb))", UNPIVOTED),
        (
            "select * from sales unpivot ((first, second) for half in ((jan, feb) as early, (mar, mar) as late))",
            HALVES,
        ),
    ],
)
def test_an_unpivot_clause_without_an_alias_reads_the_columns_it_unpivots(sql: str, lineage: dict) -> None:  # type: ignore[type-arg]
    # month and amount read columns sales.month and sales.amount, which do not exist (sqlglot names an
    # UNPIVOT without an alias after its table); first and second each read a column of their own name
    model = model_of(sql)
    assert model.column_names == duckdb_columns(sql) == tuple(lineage)
    assert dict(model.lineage) == lineage


@pytest.mark.parametrize(
    ("sql", "lineage"),
    [
        (
            "PIVOT orders ON status IN ('paid', 'placed') USING sum(amount) GROUP BY customer_id",
            {"customer_id": CUSTOMER, "paid": PIVOTED, "placed": PIVOTED},
        ),
        (  # without GROUP BY every column it neither pivots on nor aggregates passes through
            "PIVOT orders ON status IN ('paid', 'placed') USING sum(amount)",
            {"customer_id": CUSTOMER, "id": {("orders", "id")}, "paid": PIVOTED, "placed": PIVOTED},
        ),
        (
            "PIVOT orders ON status IN ('paid', 'placed') USING sum(amount) AS total, max(id) AS last"
            " GROUP BY customer_id",
            # each pivoted column reads what every aggregate reads: more than it needs, never less
            {"customer_id": CUSTOMER, **dict.fromkeys(AGGREGATED, {*PIVOTED, ("orders", "id")})},
        ),
        (
            "WITH o AS (SELECT * FROM orders WHERE id > 0)\n"
            "PIVOT o ON status IN ('paid', 'placed') USING sum(amount) GROUP BY customer_id",
            {"customer_id": CUSTOMER, "paid": PIVOTED, "placed": PIVOTED},
        ),
        (
            "PIVOT (SELECT customer_id, status, amount FROM orders) ON status IN ('paid', 'placed')"
            " USING sum(amount)",
            {"customer_id": CUSTOMER, "paid": PIVOTED, "placed": PIVOTED},
        ),
        (  # the same nested in a query
            "select * from (PIVOT (SELECT customer_id, status, amount FROM orders) ON status IN ('paid', 'placed')"
            " USING sum(amount)) p",
            {"customer_id": CUSTOMER, "paid": PIVOTED, "placed": PIVOTED},
        ),
    ],
)
def test_a_model_that_is_one_pivot_statement_is_analysed_like_the_nested_form(
    sql: str, lineage: dict
) -> None:  # type: ignore[type-arg]
    # it was refused: "model 'm' contains a PIVOT statement; a model is one SELECT"
    model = model_of(sql)
    assert model.column_names == duckdb_columns(sql) == tuple(lineage)
    assert dict(model.lineage) == lineage
    assert model.problems == ()
    assert {c.name: c.type for c in model.columns}["placed" if "placed" in lineage else "placed_total"]


def test_a_model_that_is_a_pivot_on_the_datas_values_is_columns_unknown_at_its_on_column() -> None:
    sql = "-- wide\nPIVOT orders\n  ON status USING sum(amount) GROUP BY customer_id"
    broken = analyze(build_project({"m": sql}, TABLES), strict=False).broken["m"].error
    assert isinstance(broken, ColumnsUnknown)
    assert "model 'm' is a PIVOT statement whose columns are the values of the data" in broken.message
    assert (broken.location.line, broken.location.column) == (3, 6) and broken.hint  # type: ignore[union-attr]


UNPIVOTS = [
    ("UNPIVOT sales ON jan, feb INTO NAME month VALUE amount", UNPIVOTED),
    (  # DuckDB's names when INTO is left out
        "UNPIVOT (select region, jan, feb from sales) ON jan AS j, feb",
        {"region": {("sales", "region")}, "name": JAN_FEB, "value": JAN_FEB},
    ),
    ("UNPIVOT sales ON (jan, feb) AS early, (mar, mar) AS late INTO NAME half VALUE first, second", HALVES),
]
# the whole model, a CTE, a derived table
FORMS = ["{}", "with u as ({}) select * from u", "select * from ({}) u"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("unpivot", "lineage"), UNPIVOTS)
def test_an_unpivot_statement_names_its_columns_and_reads_the_unpivoted_ones(
    form: str,
    unpivot: str,
    lineage: dict,  # type: ignore[type-arg]
) -> None:
    # inside a query it raised an AssertionError from sqlglot's scopes (a CTE of it read as an unknown
    # table 'u'); a whole model of it was refused as "a PIVOT statement; a model is one SELECT"
    sql = form.format(unpivot)
    model = model_of(sql)
    assert model.column_names == duckdb_columns(sql) == tuple(lineage)
    assert dict(model.lineage) == lineage
    assert model.problems == ()


def test_an_unpivot_statement_passes_the_columns_read_of_it_through() -> None:
    sql = "select u.region, u.month, u.amount from (UNPIVOT sales ON jan, feb INTO NAME month VALUE amount) u"
    model = model_of(sql)
    assert model.column_names == ("region", "month", "amount")
    assert dict(model.lineage) == {k: v for k, v in UNPIVOTED.items() if k != "mar"}


@pytest.mark.parametrize(
    "sql",
    [
        "UNPIVOT sales ON COLUMNS(* EXCLUDE (region)) INTO NAME month VALUE amount",
        "UNPIVOT sales ON * EXCLUDE (region)",
    ],
)
@pytest.mark.parametrize("form", FORMS)
def test_an_unpivot_of_columns_chosen_by_a_pattern_is_a_finding_at_its_line(form: str, sql: str) -> None:
    assert duckdb_columns(form.format(sql))  # DuckDB runs it; which columns it reads is not followed here
    broken = analyze(build_project({"m": "\n" + form.format(sql)}, TABLES), strict=False).broken["m"].error
    assert type(broken) is SqlError and "unpivots columns chosen by a pattern" in broken.message
    assert broken.location is not None and broken.location.line == 2
    assert broken.hint is not None and "name the columns it unpivots" in broken.hint
