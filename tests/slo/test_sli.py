from __future__ import annotations

from collections.abc import Callable

import pytest

from app.slo.evaluate import evaluate
from app.slo.objectives import collect
from app.slo.status import Status
from tests.slo.conftest import NOW, make_project

YML = """
name: shop
slos:
  orders:
    freshness: {column: updated_at, max_lag: 2h}
    completeness:
      min_rows: 5
      partition_column: order_date
      expected_partitions: 7
      late_arrival:
        {event_column: updated_at, arrival_column: loaded_at, max_delay: 1h, max_rate: 0.1, lookback: 30d}
invariants:
  - name: orders_match_payments
    left: {dataset: orders, measure: sum(amount), by: order_date}
    right: {dataset: payments, measure: sum(amount), by: cast(paid_at as date)}
    tolerance: {absolute: 0.01}
"""

# seven days of orders before NOW (2026-11-25 12:00 UTC) except 2026-11-21; the newest row is 3h old;
# one of the rows arrived 5h after its event; payments disagree on 2026-11-23 by 10
DATA = """
CREATE TABLE orders AS
SELECT DATE '2026-11-18' + i::INTEGER AS order_date,
       TIMESTAMP '2026-11-18 09:00:00' + i * INTERVAL 1 DAY AS updated_at,
       TIMESTAMP '2026-11-18 09:30:00' + i * INTERVAL 1 DAY
         + CASE WHEN i = 2 THEN INTERVAL 5 HOUR ELSE INTERVAL 0 HOUR END AS loaded_at,
       100.0 + i AS amount
FROM range(8) r(i) WHERE i <> 3;
CREATE TABLE payments AS
SELECT order_date::TIMESTAMP + INTERVAL 2 HOUR AS paid_at,
       amount + CASE WHEN order_date = DATE '2026-11-23' THEN 10 ELSE 0 END AS amount
FROM orders;
"""


def _results(env_db: Callable[[str], str], data: str = DATA) -> dict[str, object]:
    project = make_project(YML)
    evaluation = evaluate(env_db(data), "prod", collect(project), NOW)
    return {r.objective.key: r for r in evaluation.results}


def test_freshness_is_the_age_of_the_newest_row(env_db: Callable[[str], str]) -> None:
    r = _results(env_db)["orders:freshness"]
    assert r.value == pytest.approx(3 * 3600)  # newest updated_at 2026-11-25 09:00
    assert r.status is Status.BREACH


def test_missing_partition_is_named(env_db: Callable[[str], str]) -> None:
    r = _results(env_db)["orders:completeness.partitions"]
    assert r.value == 6
    assert r.status is Status.BREACH
    assert r.detail["missing"] == ["2026-11-21 00:00:00"]


def test_row_count_meets_its_minimum(env_db: Callable[[str], str]) -> None:
    r = _results(env_db)["orders:completeness.rows"]
    assert (r.value, r.status) == (7, Status.OK)


def test_late_arrival_rate_counts_rows_later_than_the_delay(env_db: Callable[[str], str]) -> None:
    r = _results(env_db)["orders:completeness.late_arrival"]
    assert r.value == pytest.approx(1 / 7)
    assert r.detail["late"] == 1
    assert r.status is Status.BREACH


def test_invariant_violation_names_the_disagreeing_day(env_db: Callable[[str], str]) -> None:
    r = _results(env_db)["invariant:orders_match_payments"]
    assert r.value == 1
    assert r.status is Status.BREACH
    assert r.detail["groups"] == 7
    assert [e["k"] for e in r.detail["examples"]] == ["2026-11-23"]


def test_invariant_within_tolerance_is_ok(env_db: Callable[[str], str]) -> None:
    fixed = DATA.replace("THEN 10 ELSE", "THEN 0.001 ELSE")
    r = _results(env_db, fixed)["invariant:orders_match_payments"]
    assert (r.value, r.status) == (0, Status.OK)


def test_a_missing_dataset_is_a_breach_not_an_unknown(env_db: Callable[[str], str]) -> None:
    r = _results(env_db, "CREATE TABLE payments (paid_at TIMESTAMP, amount DOUBLE)")[
        "orders:completeness.rows"
    ]
    assert r.status is Status.BREACH
    assert "cannot read" in (r.reason or "")


def test_freshness_without_a_column_and_no_runs_is_unknown(env_db: Callable[[str], str]) -> None:
    project = make_project("name: p\nslos:\n  orders:\n    freshness: {max_lag: 1h}\n")
    evaluation = evaluate(env_db(DATA), "prod", collect(project), NOW)
    assert [r.status for r in evaluation.results] == [Status.UNKNOWN]
    assert evaluation.status is Status.UNKNOWN


def test_correctness_is_the_severity_weighted_pass_rate_of_the_contract_rules(
    env_db: Callable[[str], str],
) -> None:
    from app.contracts.model import Column, Contract, Dataset, QualityRule

    warn = QualityRule(
        key="rowCount",
        type="library",
        metric="rowCount",
        operator="mustBeGreaterThan",
        value=100,
        severity="warning",
    )
    orders = Dataset(
        "orders",
        columns=(Column("order_id", required=True), Column("amount", required=True)),
        quality=(warn,),
    )
    contract = Contract(
        path="contracts/orders.odcs.yaml",
        id="orders",
        name="orders",
        version="1.0.0",
        datasets=(orders,),
        owners=("ada",),
    )
    project = make_project("name: p\nslos:\n  orders:\n    correctness: {min_pass_rate: 0.9}\n", (contract,))
    db = env_db("CREATE TABLE orders AS SELECT * FROM (VALUES (1, 2.0), (2, NULL)) t(order_id, amount)")
    evaluation = evaluate(db, "prod", collect(project), NOW, contracts={"orders": orders})
    (r,) = evaluation.results
    # order_id required passes (3), amount required fails (3), rowCount > 100 fails (warning: 1)
    assert r.value == pytest.approx(3 / 7)
    assert r.status is Status.BREACH
    assert r.detail["failed_by_severity"] == {"error": 1, "warning": 1}
    assert r.objective.owners == ("ada",)


def test_contract_sla_properties_become_freshness_frequency_and_retention(
    env_db: Callable[[str], str],
) -> None:
    import datetime as dt

    from app.contracts.model import Contract, Dataset, SlaProperty
    from app.slo.evaluate import RunFacts

    sla = (
        SlaProperty("latency", 4, "h", element="orders.updated_at"),
        SlaProperty("frequency", 1, "d"),
        SlaProperty("retention", 10, "d", element="orders.updated_at"),
        SlaProperty("availability", 99.5, "percent"),
    )
    contract = Contract(
        path="c.odcs.yaml", id="o", name="o", version="1", datasets=(Dataset("orders"),), sla=sla
    )
    project = make_project("name: p\n", (contract,))
    facts = {"orders": RunFacts(published_at=NOW - dt.timedelta(hours=30), version="v3")}
    evaluation = evaluate(env_db(DATA), "prod", collect(project), NOW, facts)
    by_key = {r.objective.key: r for r in evaluation.results}
    assert by_key["orders:freshness"].value == pytest.approx(3 * 3600)  # within the 4h latency
    assert by_key["orders:freshness"].status is Status.OK
    assert by_key["orders:frequency"].status is Status.BREACH  # published 30h ago, promised daily
    assert by_key["orders:frequency"].detail["version"] == "v3"
    retention = by_key["orders:retention"]  # the oldest row is 7 days old: 10 days are not kept
    assert retention.status is Status.BREACH and retention.value == pytest.approx(7 * 86400 + 3 * 3600)
    assert {r.objective.target for r in evaluation.results} == {0.995}


def test_freshness_at_a_time_before_the_data_is_unknown_not_ok(env_db: Callable[[str], str]) -> None:
    import datetime as dt

    r = {
        x.objective.key: x
        for x in evaluate(
            env_db(DATA), "prod", collect(make_project(YML)), NOW - dt.timedelta(days=2)
        ).results
    }["orders:freshness"]
    assert r.status is Status.UNKNOWN  # the newest row is 45h after --at: not a good lag
    assert r.value is None and r.detail["ahead_seconds"] == pytest.approx(45 * 3600)
    assert "after the evaluation time" in (r.reason or "")


def test_publish_freshness_after_the_evaluation_time_is_unknown() -> None:
    import datetime as dt

    from app.slo.evaluate import RunFacts, measure_facts

    obj = collect(make_project("name: p\nslos:\n  orders:\n    freshness: {max_lag: 1h}\n"))[0]
    r = measure_facts(obj, NOW, RunFacts(published_at=NOW + dt.timedelta(minutes=5)), None)
    assert r.status is Status.UNKNOWN and "5m" in (r.reason or "")


def test_cost_rows_is_the_rows_the_run_wrote_and_the_old_max_bytes_is_said_unmeasured(
    env_db: Callable[[str], str],
) -> None:
    from app.slo.evaluate import RunFacts

    project = make_project("name: p\nslos:\n  orders:\n    cost: {max_rows: 5, max_bytes: 1000}\n")
    facts = {"orders": RunFacts(rows_written=7.0, version="v1")}
    results = {
        r.objective.sli: r for r in evaluate(env_db(DATA), "prod", collect(project), NOW, facts).results
    }
    rows = results["cost.rows"]
    assert (rows.value, rows.status, rows.objective.unit) == (7.0, Status.BREACH, "rows")
    legacy = results["cost.bytes"]  # DuckDB has no byte size per table: unknown, never a row count as bytes
    assert legacy.status is Status.UNKNOWN and legacy.value is None
    assert "use cost.max_rows" in (legacy.reason or "")


@pytest.mark.parametrize("grain", ["hour", "day", "week", "month"])
@pytest.mark.parametrize("at", ["2026-11-25 12:34:56", "2026-01-01 00:00:00", "2026-03-31 23:59:59"])
def test_expected_partitions_are_the_periods_duckdb_date_trunc_cuts(grain: str, at: str) -> None:
    import datetime as dt

    import duckdb

    from app.slo.sli import _periods

    now = dt.datetime.fromisoformat(at)
    expected = [
        r[0]
        for r in duckdb.sql(
            f"SELECT unnest(generate_series(date_trunc('{grain}', TIMESTAMP '{at}') - 3 * INTERVAL 1 {grain},"
            f" date_trunc('{grain}', TIMESTAMP '{at}') - INTERVAL 1 {grain}, INTERVAL 1 {grain}))"
        ).fetchall()
    ]
    assert _periods(now, grain, 3) == expected
