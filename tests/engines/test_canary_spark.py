"""The canary on Spark (local[2]): the demo's tables in the session's catalog are sampled, built and
checked in Spark exactly as DuckDB does it, and the run's scratch databases are gone afterwards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.demo import build_demo_repo
from app.report import render_report
from tests.engines.demo_warehouse import load_spark, warehouse_demo_repo


def _canary(report: Any) -> dict[str, Any]:
    return dict(json.loads(render_report(report, "json"))["canary"])


@pytest.mark.slow
def test_the_demo_on_spark_samples_builds_and_checks_as_duckdb_does(
    spark_session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.canary.run as run
    from app.engines.spark import SparkEngine
    from app.pipeline import run_check

    duck_repo = build_demo_repo(tmp_path / "duck")
    duck = _canary(run_check(duck_repo.path, duck_repo.base, duck_repo.head))
    load_spark(spark_session)
    repo = warehouse_demo_repo(tmp_path / "shop", "spark", monkeypatch)
    original = run.run_canary

    def on_this_session(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **kwargs, connect=lambda: SparkEngine(session=spark_session))

    monkeypatch.setattr(run, "run_canary", on_this_session)
    spark = _canary(run_check(repo.path, repo.base, repo.head))

    def figures(c: dict[str, Any]) -> Any:
        cover = [(s["name"], s["rows_total"], s["rows_sampled"]) for s in c["sources"]]
        runs = sorted(
            (m[side]["schema"], m["name"], m[side]["status"], m[side]["rows"])
            for m in c["models"]
            for side in ("base", "head")
        )
        quality = sorted((m["name"], q["name"], q["observed"]) for m in c["models"] for q in m["quality"])
        # each model's data diff as Spark computed it in place: rows by key and changed values per column
        diffs = sorted(
            (
                m["name"],
                *(r.get(k) for k in ("added", "removed", "changed", "unchanged", "duplicates_unmatched")),
                tuple(sorted((col["name"], col["changed"]) for col in r.get("columns") or ())),
            )
            for m in c["models"]
            for r in [m["reconciliation"] or {}]
        )
        return cover, c["joins"], runs, quality, diffs

    assert figures(spark) == figures(duck)
    assert any(d[1] or d[2] or d[3] for d in figures(duck)[4])  # the demo's change shows in the diffs
    assert all(j["rate"] == 1.0 for j in spark["joins"])
    left = [r.namespace for r in spark_session.sql("SHOW DATABASES").collect()]
    assert not [n for n in left if n.startswith("datacanary_")]
