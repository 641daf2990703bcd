"""The canary in PostgreSQL: the demo loaded into a real server gives the DuckDB run's answers, a model
PostgreSQL cannot build is a finding while the others run, and no scratch schema outlives a run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

from app.demo import build_demo_repo
from app.pipeline import run_check
from app.report import render_report
from tests.engines.demo_warehouse import load_postgres, warehouse_demo_repo


def _scratch(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(r"SELECT nspname FROM pg_namespace WHERE nspname LIKE 'datacanary\_%'").fetchall()
    return sorted(r[0] for r in rows)


def _report(repo: Any) -> dict[str, Any]:
    report = run_check(repo.path, repo.base, repo.head, today=__import__("datetime").date(2026, 12, 1))
    return dict(json.loads(render_report(report, "json")))


@pytest.fixture(scope="module")
def duckdb_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _report(build_demo_repo(tmp_path_factory.mktemp("duck") / "shop"))


@pytest.fixture
def warehouse(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    load_postgres(postgres_url)
    monkeypatch.setenv("DATACANARY_POSTGRES_URL", postgres_url)
    return postgres_url


def _findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for gate in report["gates"] for f in gate["findings"]]


def _builds(report: dict[str, Any]) -> list[tuple[str, str, str, int | None]]:
    canary = report["canary"]
    runs = [m[side] for m in canary["models"] for side in ("base", "head") if m.get(side)]
    return sorted((r["schema"], r["name"], r["status"], r["rows"]) for r in [*runs, *canary["upstream"]])


def _quality(report: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return sorted(
        (m["name"], q["name"], q["observed"]) for m in report["canary"]["models"] for q in m["quality"]
    )


def test_the_demo_in_postgres_samples_builds_and_checks_as_duckdb_does(
    warehouse: str, duckdb_report: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.engines.postgres import PostgresEngine

    statements: list[str] = []
    query = PostgresEngine.query

    def logged(self: Any, sql: str) -> Any:
        statements.append(sql)
        return query(self, sql)

    monkeypatch.setattr(PostgresEngine, "query", logged)
    pg = _report(warehouse_demo_repo(tmp_path / "shop", "postgres", monkeypatch))
    duck = duckdb_report
    # no sample or built model is counted by a query of its own: the server's command tag of the
    # CREATE TABLE ... AS that made it says its rows (every statement is a round trip)
    counted = [
        s for s in statements if re.search(r"count\(\*\) AS n FROM \S*_(source|shared|base|head)\b", s)
    ]
    assert counted == [], counted
    assert all(m[side]["rows"] is not None for m in pg["canary"]["models"] for side in ("base", "head"))
    # the same keys hashed by PostgreSQL: the same rows of every source, and every join kept
    cover = [(s["name"], s["rows_total"], s["rows_sampled"]) for s in pg["canary"]["sources"]]
    assert cover == [(s["name"], s["rows_total"], s["rows_sampled"]) for s in duck["canary"]["sources"]]
    assert pg["canary"]["joins"] == duck["canary"]["joins"]
    assert all(j["rate"] == 1.0 for j in pg["canary"]["joins"]) and pg["canary"]["joins"]
    # every model built on both engines, with the same rows; the contracts' rules see the same data
    assert _builds(pg) == _builds(duck)
    assert all(status == "built" for _, _, status, _ in _builds(pg))
    assert _quality(pg) == _quality(duck)
    assert any(f["rule"] == "canary-quality" and f["blocking"] for f in _findings(pg))
    assert pg["verdict"] == duck["verdict"] == "fail"
    assert _scratch(warehouse) == []  # the run dropped its scratch schemas


def test_the_demo_in_postgres_reconciles_to_duckdb_figures(
    warehouse: str, duckdb_report: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg = _report(warehouse_demo_repo(tmp_path / "shop", "postgres", monkeypatch))

    def figures(report: dict[str, Any]) -> list[Any]:
        out = []
        for m in report["canary"]["models"]:
            r = m["reconciliation"] or {}
            out.append((m["name"], r.get("added"), r.get("removed"), r.get("changed"), r.get("rows_left")))
        return sorted(out, key=str)

    assert figures(pg) == figures(duckdb_report)

    # the same findings, but for the type names, which are each engine's own: DuckDB widens sum() of a
    # DECIMAL(12, 2) to DECIMAL(38, 2) (a schema change against the head's DECIMAL(12, 2)), PostgreSQL's
    # sum() of numeric(12, 2) is a numeric either way
    def rules(report: dict[str, Any]) -> list[tuple[str, str | None, bool]]:
        found = _findings(report)
        return sorted(
            (f["rule"], f["dataset"], f["blocking"]) for f in found if f["rule"] != "canary-schema-change"
        )

    assert rules(pg) == rules(duckdb_report)
    assert pg["verdict"] == duckdb_report["verdict"]


def test_a_model_postgres_cannot_build_is_a_finding_and_the_others_still_run(
    warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = warehouse_demo_repo(tmp_path / "shop", "postgres", monkeypatch)
    import subprocess

    model = repo.path / "models" / "marts" / "order_bars.sql"
    # bar() is DuckDB's; sqlglot passes it through and PostgreSQL has no such function
    model.write_text("select\n    order_id,\n    bar(amount, 0, 100) as amount_bar\nfrom fct_orders\n")
    subprocess.run(["git", "-C", str(repo.path), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo.path), "commit", "-qm", "bars"], check=True)
    head = subprocess.run(
        ["git", "-C", str(repo.path), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    report = dict(json.loads(render_report(run_check(repo.path, repo.base, head), "json")))
    failed = [f for f in _findings(report) if f["file"] == "models/marts/order_bars.sql"]
    assert [f["rule"] for f in failed] == ["canary-model-failed"], failed
    assert failed[0]["line"] == 1 and "bar" in failed[0]["message"]
    models = {m["name"]: m for m in report["canary"]["models"]}
    assert models["fct_orders"]["head"]["status"] == "built"
    assert models["dim_customers"]["head"]["status"] == "built"
    assert _scratch(warehouse) == []


def test_a_killed_runs_scratch_is_dropped_by_the_next_run_and_a_live_ones_is_kept(
    warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.canary.warehouse import _lock_key, new_run_id, scratch_names

    dead, live = new_run_id(), new_run_id()
    holder = psycopg.connect(warehouse, autocommit=True)  # a run still going holds its lock
    try:
        holder.execute(f"SELECT pg_advisory_lock({_lock_key(live)})")
        for run in (dead, live):
            for schema in scratch_names(run).values():
                holder.execute(f'CREATE SCHEMA "{schema}"')
        _report(warehouse_demo_repo(tmp_path / "shop", "postgres", monkeypatch))
        assert _scratch(warehouse) == sorted(scratch_names(live).values())
    finally:
        holder.close()


def test_the_sample_is_join_preserving_by_the_key_hash(warehouse: str) -> None:
    from sqlglot import exp

    from app.canary.sampling import python_bucket, sample_select

    with psycopg.connect(warehouse) as conn:
        for table in ("raw_customers", "raw_orders"):
            select = sample_select(
                exp.to_table(f"shop.{table}"),
                key="customer_id",
                fraction=0.3,
                max_rows=None,
                seed=11,
                dialect="postgres",
            )
            conn.execute(f"CREATE TABLE shop.s_{table} AS {select.sql('postgres')}")
        kept = {r[0] for r in conn.execute("SELECT customer_id FROM shop.s_raw_customers")}
        expected = {r[0] for r in conn.execute("SELECT customer_id FROM shop.raw_customers")}
        assert kept == {k for k in expected if python_bucket(k, 11) < 300_000} and 0 < len(kept) < len(
            expected
        )
        orders, matched = conn.execute(
            "SELECT count(*), count(c.customer_id) FROM shop.s_raw_orders o"
            " LEFT JOIN shop.s_raw_customers c USING (customer_id)"
        ).fetchone() or (0, 0)
        full = conn.execute(
            "SELECT count(*) FROM shop.raw_orders WHERE customer_id IN (SELECT customer_id FROM shop.s_raw_customers)"
        ).fetchone()
    assert orders == matched == (full or [0])[0] > 0  # every sampled order finds its sampled customer


def test_the_operators_engine_wins_over_datacanary_yml(
    warehouse: str, duckdb_report: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Action's `engine` input (DATACANARY_ENGINE) runs a project whose datacanary.yml says duckdb
    in PostgreSQL: same figures, and no note that the pull request's engine waits for the merge."""
    from app.canary.run import ENGINE_OVERRIDE

    repo = warehouse_demo_repo(tmp_path / "shop", "duckdb", monkeypatch)
    monkeypatch.setenv(ENGINE_OVERRIDE, "postgres")
    monkeypatch.setenv("DATACANARY_POSTGRES_URL", warehouse + "_missing")  # the server, a missing db
    from app.engines import EngineError

    with pytest.raises(EngineError, match="postgres: cannot connect"):
        _report(repo)
    monkeypatch.setenv("DATACANARY_POSTGRES_URL", warehouse)
    pg = _report(repo)
    assert _builds(pg) == _builds(duckdb_report) and _quality(pg) == _quality(duckdb_report)
    assert _scratch(warehouse) == []
