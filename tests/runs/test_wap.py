from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from app.contracts.model import Column, Dataset, QualityRule
from app.errors import DatacanaryError
from app.runs.ledger import RunLedger
from app.runs.plan import Graph
from app.runs.wap import RunRequest, execute, restore
from app.state import StateDB

GRAPH = Graph(
    order=("orders", "revenue"),
    sql={
        "orders": "select order_id, amount from raw_orders",
        "revenue": "select sum(amount) as total from orders",
    },
    upstream={"orders": (), "revenue": ("orders",)},
    sources={"orders": ("raw_orders",), "revenue": ()},
)
CONTRACTS = {
    "orders": Dataset(
        "orders", columns=(Column("order_id", required=True, unique=True), Column("amount", required=True))
    )
}
T0 = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)


@pytest.fixture
def env(tmp_path: Path) -> tuple[Any, RunLedger]:
    conn = duckdb.connect(str(tmp_path / "prod.duckdb"))
    conn.execute("CREATE TABLE raw_orders AS SELECT range AS order_id, 10.0 AS amount FROM range(5)")
    yield conn, RunLedger(StateDB(tmp_path / "state.sqlite"))
    conn.close()


def _run(
    env: tuple[Any, RunLedger],
    run_id: str,
    force: bool = False,
    keep: int = 5,
    graph: Graph = GRAPH,
    contracts: dict[str, Dataset] = CONTRACTS,
) -> Any:
    conn, ledger = env
    req = RunRequest(
        env="prod",
        schema="analytics",
        source_schema="main",
        window="",
        artifact="sha256:abc",
        run_id=run_id,
        started=T0,
        force=force,
        keep=keep,
        contracts=contracts,
    )
    return execute(conn, graph, req, ledger, progress=lambda m: None)


def _live(conn: Any, view: str = "orders") -> str:
    sql = conn.execute("SELECT sql FROM duckdb_views() WHERE view_name = ?", [view]).fetchone()[0]
    return sql


def test_a_passing_audit_publishes_each_dataset_behind_a_view(env: tuple[Any, RunLedger]) -> None:
    result = _run(env, "r1")
    assert [(o.dataset, o.status, o.version) for o in result.outcomes] == [
        ("orders", "published", 1),
        ("revenue", "published", 1),
    ]
    conn, _ = env
    assert "orders__v1" in _live(conn)
    assert conn.execute("SELECT total FROM analytics.revenue").fetchone()[0] == 50


def test_the_same_data_twice_is_refused_naming_the_earlier_run(env: tuple[Any, RunLedger]) -> None:
    _run(env, "r1")
    again = _run(env, "r2")
    assert not again.ok and again.outcomes == ()
    assert {(r.dataset, r.earlier.run_id) for r in again.refused} == {("orders", "r1"), ("revenue", "r1")}
    conn, ledger = env
    assert [v.version for v in ledger.versions("prod", "orders")] == [1]  # nothing written


def test_force_applies_again_and_is_recorded(env: tuple[Any, RunLedger]) -> None:
    _run(env, "r1")
    forced = _run(env, "r2", force=True)
    assert [o.status for o in forced.outcomes] == ["published", "published"]
    _, ledger = env
    assert [(v.version, v.forced) for v in ledger.versions("prod", "orders")] == [(1, False), (2, True)]


def test_new_source_data_is_a_new_fingerprint(env: tuple[Any, RunLedger]) -> None:
    _run(env, "r1")
    conn, _ = env
    conn.execute("INSERT INTO raw_orders VALUES (5, 1.0)")
    assert [o.version for o in _run(env, "r2").outcomes] == [2, 2]


def test_failed_audit_leaves_the_old_version_live_and_skips_downstream(env: tuple[Any, RunLedger]) -> None:
    _run(env, "r1")
    conn, ledger = env
    conn.execute("INSERT INTO raw_orders VALUES (1, NULL)")  # a duplicate key and a null amount
    result = _run(env, "r2")
    orders, revenue = result.outcomes
    assert orders.status == "audit-failed"
    assert "order_id unique: measured 1" in (orders.reason or "")
    assert "amount required: measured 1" in (orders.reason or "")
    assert (revenue.status, revenue.reason) == ("skipped", "upstream orders was not published")
    assert "orders__v1" in _live(conn)
    assert conn.execute("SELECT COUNT(*) FROM analytics.orders").fetchone()[0] == 5
    assert ledger.live_version("prod", "orders") == 1


def test_restore_switches_the_view_back_to_an_audited_version(env: tuple[Any, RunLedger]) -> None:
    _run(env, "r1")
    conn, ledger = env
    conn.execute("INSERT INTO raw_orders VALUES (5, 1.0)")
    _run(env, "r2")
    assert conn.execute("SELECT COUNT(*) FROM analytics.orders").fetchone()[0] == 6
    restore(conn, ledger, "prod", "analytics", "orders", 1, T0.isoformat())
    assert conn.execute("SELECT COUNT(*) FROM analytics.orders").fetchone()[0] == 5
    assert ledger.live_version("prod", "orders") == 1


def test_restore_refuses_a_version_that_failed_its_audit(env: tuple[Any, RunLedger]) -> None:
    _run(env, "r1")
    conn, ledger = env
    conn.execute("INSERT INTO raw_orders VALUES (1, 2.0)")
    _run(env, "r2")
    with pytest.raises(DatacanaryError, match="did not pass its audit") as err:
        restore(conn, ledger, "prod", "analytics", "orders", 2, T0.isoformat())
    assert err.value.hint == "restorable versions: 1"


def test_retention_keeps_the_newest_versions_and_drops_older_tables(env: tuple[Any, RunLedger]) -> None:
    conn, ledger = env
    for i in range(4):
        conn.execute(f"INSERT INTO raw_orders VALUES ({100 + i}, 1.0)")
        _run(env, f"r{i}", keep=2)
    tables = {
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'analytics'"
        ).fetchall()
    }
    assert {t for t in tables if t.startswith("orders__")} == {"orders__v3", "orders__v4"}
    assert [v.dropped for v in ledger.versions("prod", "orders")] == [True, True, False, False]


def test_a_contract_sql_rule_audits_the_new_version_not_the_live_view(env: tuple[Any, RunLedger]) -> None:
    _run(env, "r1")
    conn, ledger = env
    rule = QualityRule(
        key="no_refunds",
        type="sql",
        query="select count(*) from orders where amount < 0",
        operator="mustBe",
        value=0,
    )
    strict = {"orders": Dataset("orders", columns=CONTRACTS["orders"].columns, quality=(rule,))}
    conn.execute("INSERT INTO raw_orders VALUES (9, -5.0)")
    orders, _ = _run(env, "r2", contracts=strict).outcomes
    assert orders.status == "audit-failed"
    assert "no_refunds: measured 1" in (orders.reason or "")


def _revenue_doubled() -> Graph:
    """GRAPH with only revenue's SQL changed."""
    return Graph(
        order=GRAPH.order,
        sql={**GRAPH.sql, "revenue": "select sum(amount) * 2 as total from orders"},
        upstream=GRAPH.upstream,
        sources=GRAPH.sources,
    )


def test_only_datasets_with_new_input_are_rebuilt(env: tuple[Any, RunLedger]) -> None:
    _run(env, "r1")
    result = _run(env, "r2", graph=_revenue_doubled())
    assert [(o.dataset, o.status, o.version) for o in result.outcomes] == [
        ("orders", "already-applied", 1),
        ("revenue", "published", 2),
    ]
    assert result.ok
    assert "by run r1" in (result.outcomes[0].reason or "")


def test_a_publish_the_warehouse_lost_is_rebuilt_not_refused(env: tuple[Any, RunLedger]) -> None:
    _run(env, "r1")
    conn, ledger = env
    conn.execute("DROP SCHEMA analytics CASCADE")  # e.g. the DuckDB file was replaced by a backup
    again = _run(env, "r2")
    assert again.ok and again.refused == ()
    assert [(o.dataset, o.status, o.version) for o in again.outcomes] == [
        ("orders", "published", 2),
        ("revenue", "published", 2),
    ]
    assert "ledger records v1 published by run r1, but table analytics.orders__v1 is not in" in (
        again.outcomes[0].reason or ""
    )
    rec = ledger.version("prod", "orders", 2)
    assert rec is not None and rec.reason == again.outcomes[0].reason  # the ledger records why
    assert conn.execute("SELECT total FROM analytics.revenue").fetchone()[0] == 50


def test_a_lost_view_is_rebuilt_while_a_present_one_is_still_refused(env: tuple[Any, RunLedger]) -> None:
    _run(env, "r1")
    conn, _ = env
    conn.execute("DROP VIEW analytics.revenue")
    again = _run(env, "r2")
    assert [r.dataset for r in again.refused] == ["orders"]
    assert [(o.dataset, o.status) for o in again.outcomes] == [
        ("orders", "already-applied"),
        ("revenue", "published"),
    ]
    assert "view analytics.revenue is not in" in (again.outcomes[1].reason or "")


def test_the_ledger_records_the_rows_each_version_wrote(env: tuple[Any, RunLedger]) -> None:
    _run(env, "r1")
    _, ledger = env
    assert [(v.dataset, v.rows) for v in ledger.versions("prod", "orders")] == [("orders", 5.0)]
    assert ledger.versions("prod", "revenue")[0].to_json()["rows"] == 1.0


def test_the_text_of_a_partial_reapply_says_what_happened_per_dataset(env: tuple[Any, RunLedger]) -> None:
    from types import SimpleNamespace

    from app.report.env import render

    _run(env, "r1")
    result = _run(env, "r2", graph=_revenue_doubled())
    target = SimpleNamespace(place="prod.duckdb", schema="analytics")
    text = render("runs/run.txt.j2", result=result, target=target)
    assert "REFUSED" not in text and "nothing was written" not in text
    assert "already-applied orders v1" in text and "published     revenue v2" in text
    # all refused: then it does say nothing was written
    again = _run(env, "r3", graph=_revenue_doubled())
    assert "REFUSED" in render("runs/run.txt.j2", result=again, target=target)


def test_failed_audits_do_not_pile_up_only_the_newest_is_kept(env: tuple[Any, RunLedger]) -> None:
    _run(env, "r1")
    conn, ledger = env
    for i in range(3):  # three different bad inputs in a row, each failing its audit
        conn.execute(f"INSERT INTO raw_orders VALUES (1, {i}.5)")  # a duplicate key
        orders = _run(env, f"bad{i}").outcomes[0]
        assert orders.status == "audit-failed"
    found = conn.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'analytics'").fetchall()
    tables = {r[0] for r in found}
    assert tables == {"orders__v1", "orders__v4", "revenue__v1"}  # live v1 and the newest failure v4
    assert [v.version for v in ledger.versions("prod", "orders") if v.dropped] == [2, 3]
    assert "orders__v1" in _live(conn)
