"""Write-audit-publish and SLIs on a real PostgreSQL server: versioned tables, the audit in the engine,
the view swap readers see atomically, the double-apply refusal, restore, and errors naming the engine."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app.engines import EngineError
from app.engines.postgres import PostgresEngine
from app.runs.ledger import RunLedger
from app.runs.wap import restore
from app.runs.warehouse import PostgresWarehouse, wrap
from app.state import StateDB
from tests.engines import wap_support as ws


@pytest.fixture
def pg(postgres_url: str, tmp_path: Path) -> Any:
    engine = PostgresEngine(postgres_url)
    wh = wrap(engine)
    wh.execute("CREATE SCHEMA src")
    wh.execute(wh.sql(ws.values_sql("src")))
    yield wh, RunLedger(StateDB(tmp_path / "state.sqlite")), postgres_url
    wh.close()


def _count(url: str, relation: str) -> int:
    other = PostgresEngine(url)  # a second connection: what a reader sees
    try:
        return int(other.query(f"SELECT COUNT(*) AS n FROM {relation}")[0]["n"])
    finally:
        other.close()


def test_a_run_publishes_views_over_versioned_tables_and_a_rerun_refuses(pg: Any) -> None:
    wh, ledger, url = pg
    result = ws.run(wh, ledger, "analytics", "src", "r1")
    assert [(o.dataset, o.status, o.version) for o in result.outcomes] == [
        ("orders", "published", 1),
        ("revenue", "published", 1),
    ]
    assert wh.kind("analytics", "orders") == "view" and wh.kind("analytics", "orders__v1") == "table"
    assert wh.first("SELECT total FROM analytics.revenue")["total"] == pytest.approx(41.75)
    again = ws.run(wh, ledger, "analytics", "src", "r2")
    assert not again.ok and again.outcomes == ()
    assert {r.dataset for r in again.refused} == {"orders", "revenue"}
    assert [v.version for v in ledger.versions("prod", "orders")] == [1]


def test_readers_see_the_old_version_until_the_swap(pg: Any) -> None:
    wh, ledger, url = pg
    ws.run(wh, ledger, "analytics", "src", "r1")
    wh.execute("INSERT INTO src.raw_orders VALUES (6, 2.0, '2026-11-25 11:45:00', '2026-11-25 11:46:00')")
    seen: list[tuple[str, int]] = []

    def progress(message: str) -> None:
        if "auditing analytics.orders__v2" in message:  # v2 is written, not yet published
            seen.append(("during", _count(url, "analytics.orders")))

    ws.run(wh, ledger, "analytics", "src", "r2", progress=progress)
    assert seen == [("during", 5)]
    assert _count(url, "analytics.orders") == 6


def test_a_failed_audit_publishes_nothing_and_skips_downstream(pg: Any) -> None:
    wh, ledger, url = pg
    ws.run(wh, ledger, "analytics", "src", "r1")
    wh.execute("INSERT INTO src.raw_orders VALUES (1, -4.0, '2026-11-25 11:45:00', '2026-11-25 11:46:00')")
    orders, revenue = ws.run(wh, ledger, "analytics", "src", "r2").outcomes
    assert orders.status == "audit-failed"
    assert "order_id unique: measured 1" in (orders.reason or "")
    assert "amount minimum: measured 1" in (orders.reason or "")
    assert (revenue.status, revenue.reason) == ("skipped", "upstream orders was not published")
    assert _count(url, "analytics.orders") == 5 and ledger.live_version("prod", "orders") == 1


def test_restore_points_the_view_back(pg: Any) -> None:
    wh, ledger, url = pg
    ws.run(wh, ledger, "analytics", "src", "r1")
    wh.execute("INSERT INTO src.raw_orders VALUES (6, 2.0, '2026-11-25 11:45:00', '2026-11-25 11:46:00')")
    ws.run(wh, ledger, "analytics", "src", "r2")
    restore(wh, ledger, "prod", "analytics", "orders", 1, ws.T0.isoformat())
    assert _count(url, "analytics.orders") == 5


def test_a_changed_column_swaps_in_one_transaction_but_never_drops_a_users_view(pg: Any) -> None:
    wh, ledger, url = pg
    ws.run(wh, ledger, "analytics", "src", "r1")
    retyped = ws.graph("analytics", "src")
    sql = {**retyped.sql, "orders": "SELECT order_id, CAST(amount AS VARCHAR) AS amount FROM src.raw_orders"}
    from app.runs.plan import Graph
    from app.runs.wap import RunRequest, execute

    req = RunRequest("prod", "analytics", "src", "", "sha256:def", "r2", ws.T0, contracts={})
    g = Graph(retyped.order, sql, retyped.upstream, retyped.sources)
    wh.execute("CREATE VIEW public.big_orders AS SELECT order_id FROM analytics.orders")
    orders = execute(wh, g, req, ledger, progress=lambda m: None).outcomes[0]
    assert orders.status == "failed" and "views depend on it: public.big_orders" in (orders.reason or "")
    assert wh.first("SELECT COUNT(*) AS n FROM public.big_orders")["n"] == 5  # still there, still reads v1
    wh.execute("DROP VIEW public.big_orders")
    req = RunRequest("prod", "analytics", "src", "", "sha256:def", "r3", ws.T0, contracts={}, force=True)
    orders = execute(wh, g, req, ledger, progress=lambda m: None).outcomes[0]
    assert orders.status == "published"
    assert wh.columns("analytics.orders") == ["order_id", "amount"]


def test_a_missing_source_is_an_engine_error(pg: Any) -> None:
    wh, ledger, url = pg
    wh.execute("DROP TABLE src.raw_orders")
    with pytest.raises(EngineError) as caught:
        ws.run(wh, ledger, "analytics", "src", "r1")
    assert caught.value.render().startswith("postgres: source 'src.raw_orders' is not in")


def test_a_role_that_may_not_create_views_fails_before_writing_without_its_password(pg: Any) -> None:
    wh, ledger, url = pg
    wh.execute("CREATE SCHEMA analytics")
    wh.execute("DROP ROLE IF EXISTS runner_t; CREATE ROLE runner_t LOGIN PASSWORD 'pa55word'")
    wh.execute("GRANT USAGE ON SCHEMA src, analytics TO runner_t; GRANT SELECT ON src.raw_orders TO runner_t")
    runner = wrap(PostgresEngine(url.replace("postgres@", "runner_t:pa55word@", 1)))
    try:
        with pytest.raises(EngineError) as caught:
            ws.run(runner, ledger, "analytics", "src", "r1")
    finally:
        runner.close()
        wh.execute("DROP OWNED BY runner_t; DROP ROLE runner_t")
    text = caught.value.render()
    assert text.startswith("postgres: role runner_t may not create") and "nothing was written" in text
    assert "GRANT USAGE, CREATE ON SCHEMA" in text and "pa55word" not in text
    assert ledger.versions("prod", "orders") == []


def test_slis_on_postgres_equal_duckdbs_for_the_same_data(pg: Any, tmp_path: Path) -> None:
    import duckdb

    from app.runs.warehouse import DuckDBWarehouse

    wh, ledger, url = pg
    assert isinstance(wh, PostgresWarehouse)
    ws.run(wh, ledger, "analytics", "src", "r1")
    local = DuckDBWarehouse(duckdb.connect(str(tmp_path / "prod.duckdb")))
    local.execute("CREATE SCHEMA src")
    local.execute(ws.values_sql("src"))
    ws.run(local, RunLedger(StateDB(tmp_path / "local.sqlite")), "analytics", "src", "r1")
    on_duckdb = ws.sli_values(local, "analytics", "src")
    on_postgres = ws.sli_values(wh, "analytics", "src")
    local.close()
    assert set(on_postgres) == set(on_duckdb) and len(on_duckdb) >= 5
    for key, (value, status, _) in on_duckdb.items():
        assert on_postgres[key][1] == status, (key, on_postgres[key])
        assert on_postgres[key][0] == pytest.approx(value), key
    assert on_duckdb["orders:freshness"][0] == pytest.approx(1799.5)  # sub-second stamps kept


def test_datacanary_run_and_slo_on_a_postgres_environment(
    pg: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    wh, ledger, url = pg
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "datacanary.yml").write_text(
        "name: shop\nsources:\n  raw_orders: {columns: {order_id: bigint, amount: double}}\n"
        "environments:\n  prod:\n    parameters: {engine: postgres, schema: analytics, source_schema: src}\n"
        "slos:\n  orders:\n    completeness: {min_rows: 3}\n"
    )
    (root / "models" / "orders.sql").write_text("select order_id, amount from raw_orders\n")
    monkeypatch.setenv("DATACANARY_POSTGRES_URL", "postgresql://nobody:wrong@127.0.0.1:1/none")
    monkeypatch.setenv("DATACANARY_POSTGRES_URL_PROD", url)  # the environment's own wins
    state = str(root / "state.sqlite")
    code = main(["run", "--env", "prod", "--project", str(root), "--state", state, "-q"])
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert code == 0 and "(postgres, schema analytics)" in out and "published     orders v1" in out, out
    code = main(["slo", "evaluate", "--env", "prod", "--project", str(root), "--state", state])
    out = capsys.readouterr().out
    assert code == 0 and re.search(r"ok\s+orders:completeness.rows\s+5", out), out
    wh.execute("DROP TABLE src.raw_orders")
    monkeypatch.setenv("DATACANARY_POSTGRES_URL_PROD", url.replace("postgres@", "postgres:s3cret@", 1))
    code = main(["run", "--env", "prod", "--project", str(root), "--state", state, "--force", "-q"])
    captured = capsys.readouterr()
    assert code == 2 and "postgres: source 'raw_orders' is not in" in captured.err
    assert "s3cret" not in captured.out + captured.err
