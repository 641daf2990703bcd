"""One small dataset and model graph for write-audit-publish and SLIs on every engine: the same rows are
loaded into DuckDB, PostgreSQL and Spark, so that what each engine measures can be compared."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.contracts.model import Column, Dataset
from app.runs.ledger import RunLedger
from app.runs.plan import Graph
from app.runs.wap import RunRequest, RunResult, execute

T0 = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
# (order_id, amount, ordered_at, loaded_at): days 22-24, one late arrival, sub-second stamps
ROWS = [
    (1, 10.0, "2026-11-22 09:00:00.250", "2026-11-22 09:10:00"),
    (2, 20.5, "2026-11-23 10:30:00", "2026-11-23 12:00:00"),
    (3, 7.25, "2026-11-24 23:15:00", "2026-11-24 23:20:00"),
    (4, 1.0, "2026-11-25 11:00:00.5", "2026-11-25 11:05:00"),
    (5, 3.0, "2026-11-25 11:30:00.5", "2026-11-25 11:31:00"),
]
CONTRACTS = {
    "orders": Dataset(
        "orders",
        columns=(
            Column("order_id", required=True, unique=True),
            Column("amount", required=True, options=(("minimum", 0),)),
        ),
    )
}
SLOS = """
name: shop
slos:
  orders:
    freshness: {column: ordered_at, max_lag: 2h}
    completeness:
      min_rows: 3
      partition_column: ordered_at
      partition_grain: day
      expected_partitions: 4
      late_arrival: {event_column: ordered_at, arrival_column: loaded_at, max_delay: 1h, max_rate: 0.5, lookback: 7d}
invariants:
  - name: revenue_matches_orders
    left: {dataset: orders, measure: sum(amount)}
    right: {dataset: revenue, measure: sum(total)}
    tolerance: {absolute: 0.01}
"""


def values_sql(schema: str) -> str:
    """CREATE TABLE of the sources in `schema`, in DuckDB SQL (transpiled per engine by the tests)."""
    rows = ", ".join(
        f"({i}, CAST({a} AS DOUBLE), CAST('{o}' AS TIMESTAMP), CAST('{lo}' AS TIMESTAMP))"
        for i, a, o, lo in ROWS
    )
    return (
        f"CREATE TABLE {schema}.raw_orders AS SELECT * FROM (VALUES {rows})"
        " AS t(order_id, amount, ordered_at, loaded_at)"
    )


def graph(schema: str, source_schema: str) -> Graph:
    return Graph(
        order=("orders", "revenue"),
        sql={
            "orders": f"SELECT order_id, amount, ordered_at, loaded_at FROM {source_schema}.raw_orders",
            "revenue": f"SELECT SUM(amount) AS total FROM {schema}.orders",
        },
        upstream={"orders": (), "revenue": ("orders",)},
        sources={"orders": (f"{source_schema}.raw_orders",), "revenue": ()},
    )


def run(conn: Any, ledger: RunLedger, schema: str, source_schema: str, run_id: str, **kw: Any) -> RunResult:
    progress = kw.pop("progress", lambda m: None)
    req = RunRequest(
        env="prod",
        schema=schema,
        source_schema=source_schema,
        window="",
        artifact="sha256:abc",
        run_id=run_id,
        started=T0,
        contracts=kw.pop("contracts", CONTRACTS),
        **kw,
    )
    return execute(conn, graph(schema, source_schema), req, ledger, progress=progress)


def sli_values(warehouse: Any, schema: str, source_schema: str) -> dict[str, Any]:
    """Every SLI of SLOS measured in `warehouse` at T0, by key."""
    from app.slo.evaluate import evaluate
    from app.slo.objectives import collect
    from tests.slo.conftest import make_project

    evaluation = evaluate(
        warehouse, "prod", collect(make_project(SLOS)), T0, schema=schema, source_schema=source_schema
    )
    return {r.objective.key: (r.value, r.status.value, r.reason) for r in evaluation.results}
