"""DuckDB's PIVOT and UNPIVOT statements, as a whole model or inside one: the columns DuckDB returns, in
its order, each with the upstream columns it reads."""

from __future__ import annotations

import duckdb
import pytest

from app.sql.analyze import analyze
from tests.sql.conftest import build_project

TABLES = {
    "orders": {"customer_id": "integer", "status": "varchar", "amount": "decimal(10,2)", "id": "integer"},
    "sales": {"region": "varchar", "jan": "integer", "feb": "integer", "mar": "integer"},
}
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
