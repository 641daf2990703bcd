"""Write-audit-publish and SLIs on Spark (local[2]): versioned managed tables (Parquet under
spark.sql.warehouse.dir), views swapped in the catalog, the audit run by Spark SQL, and the same SLI
values as DuckDB for the same rows. Each test has its own databases: the session is shared."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from app.engines import EngineError
from app.engines.spark import SparkEngine
from app.runs.ledger import RunLedger
from app.runs.wap import restore
from app.runs.warehouse import wrap
from app.state import StateDB
from tests.engines import wap_support as ws


@pytest.fixture
def spark(spark_session: Any, tmp_path: Path) -> Any:
    wh = wrap(SparkEngine(session=spark_session))
    tag = uuid.uuid4().hex[:8]
    src, out = f"src_{tag}", f"analytics_{tag}"
    wh.execute(f"CREATE DATABASE {src}")
    wh.execute(wh.sql(ws.values_sql(src)))
    yield wh, RunLedger(StateDB(tmp_path / "state.sqlite")), src, out
    for db in (src, out):
        wh.execute(f"DROP DATABASE IF EXISTS {db} CASCADE")


def test_a_run_publishes_on_spark_a_rerun_refuses_and_restore_switches_back(spark: Any) -> None:
    wh, ledger, src, out = spark
    result = ws.run(wh, ledger, out, src, "r1")
    assert [(o.dataset, o.status, o.version) for o in result.outcomes] == [
        ("orders", "published", 1),
        ("revenue", "published", 1),
    ]
    assert wh.kind(out, "orders") == "view" and wh.kind(out, "orders__v1") == "table"
    assert wh.first(f"SELECT total FROM {out}.revenue")["total"] == pytest.approx(41.75)
    again = ws.run(wh, ledger, out, src, "r2")
    assert not again.ok and {r.dataset for r in again.refused} == {"orders", "revenue"}
    wh.execute(
        f"INSERT INTO {src}.raw_orders VALUES (6, 2.0, TIMESTAMP'2026-11-25 11:45:00', TIMESTAMP'2026-11-25 11:46:00')"
    )
    seen: list[int] = []

    def progress(message: str) -> None:
        if f"auditing {out}.orders__v2" in message:
            seen.append(wh.rows(f"{out}.orders"))

    assert [o.version for o in ws.run(wh, ledger, out, src, "r3", progress=progress).outcomes] == [2, 2]
    assert seen == [5] and wh.rows(f"{out}.orders") == 6  # readers saw v1 until the swap
    restore(wh, ledger, "prod", out, "orders", 1, ws.T0.isoformat())
    assert wh.rows(f"{out}.orders") == 5


def test_a_failed_audit_on_spark_publishes_nothing_and_skips_downstream(spark: Any) -> None:
    wh, ledger, src, out = spark
    ws.run(wh, ledger, out, src, "r1")
    wh.execute(f"INSERT INTO {src}.raw_orders VALUES (1, NULL, TIMESTAMP'2026-11-25 11:45:00', NULL)")
    orders, revenue = ws.run(wh, ledger, out, src, "r2").outcomes
    assert orders.status == "audit-failed"
    assert "order_id unique: measured 1" in (orders.reason or "")
    assert "amount required: measured 1" in (orders.reason or "")
    assert revenue.status == "skipped" and wh.rows(f"{out}.orders") == 5


def test_a_missing_source_on_spark_is_an_engine_error(spark: Any) -> None:
    wh, ledger, src, out = spark
    wh.execute(f"DROP TABLE {src}.raw_orders")
    with pytest.raises(EngineError) as caught:
        ws.run(wh, ledger, out, src, "r1")
    assert caught.value.render().startswith(f"spark: source '{src}.raw_orders' is not in")


def test_slis_on_spark_equal_duckdbs_for_the_same_data(spark: Any, tmp_path: Path) -> None:
    import duckdb

    from app.runs.warehouse import DuckDBWarehouse

    wh, ledger, src, out = spark
    ws.run(wh, ledger, out, src, "r1")
    local = DuckDBWarehouse(duckdb.connect(str(tmp_path / "prod.duckdb")))
    local.execute(f"CREATE SCHEMA {src}")
    local.execute(ws.values_sql(src))
    ws.run(local, RunLedger(StateDB(tmp_path / "local.sqlite")), out, src, "r1")
    on_duckdb = ws.sli_values(local, out, src)
    on_spark = ws.sli_values(wh, out, src)
    local.close()
    assert set(on_spark) == set(on_duckdb) and len(on_duckdb) >= 5
    for key, (value, status, _) in on_duckdb.items():
        assert on_spark[key][1] == status, (key, on_spark[key])
        assert on_spark[key][0] == pytest.approx(value), key
