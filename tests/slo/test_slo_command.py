"""`datacanary slo evaluate` over a project run into its prod DuckDB file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from app.cli import main
from app.slo.store import EvaluationStore
from app.state import StateDB


def _slo(capsys: pytest.CaptureFixture[str], root: Path, at: str, *extra: str) -> tuple[int, str]:
    code = main(
        [
            "slo",
            "evaluate",
            "--env",
            "prod",
            "--project",
            str(root),
            "--state",
            str(root / "state.sqlite"),
            "--at",
            at,
            *extra,
        ]
    )
    captured = capsys.readouterr()
    return code, captured.out if code != 2 else captured.err


def test_evaluate_reads_the_published_views_and_stores_each_evaluation(
    project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        main(
            [
                "run",
                "--env",
                "prod",
                "--project",
                str(project),
                "--state",
                str(project / "state.sqlite"),
                "-q",
            ]
        )
        == 0
    )
    capsys.readouterr()
    code, out = _slo(capsys, project, "2026-11-25T12:00:00Z")
    assert code == 0 and "SLOs of prod" in out and "orders:freshness" in out
    code, out = _slo(capsys, project, "2026-11-25T14:30:00Z", "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["status"] == "breach"
    fresh = next(r for r in report["results"] if r["key"] == "orders:freshness")
    assert fresh["value"] == 3.5 * 3600 and fresh["status"] == "breach"
    assert fresh["budget"]["events"] == 2 and fresh["budget"]["bad"] == 1
    consistency = next(r for r in report["results"] if r["key"] == "invariant:revenue_matches_orders")
    assert consistency["status"] == "ok"
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    samples = EvaluationStore(StateDB(project / "state.sqlite")).samples("prod", "orders:freshness", since)
    assert [s.status.value for s in samples] == ["ok", "breach"]


def test_markdown_format_is_a_table(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["run", "--env", "prod", "--project", str(project), "--state", str(project / "state.sqlite"), "-q"])
    capsys.readouterr()
    code, out = _slo(capsys, project, "2026-11-25T12:00:00Z", "--format", "markdown", "--no-store")
    assert (
        code == 0
        and out.startswith("## SLOs of `prod`: ok")
        and "| ✅ ok | `orders:completeness.rows` |" in out
    )


def test_a_bad_at_is_a_usage_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _slo(capsys, project, "yesterday")
    assert code == 2 and "--at 'yesterday' is not an ISO 8601 time" in err
