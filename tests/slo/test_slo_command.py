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


def test_evaluating_one_instant_again_is_one_measurement(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a retried cron job (or --at given twice): the copy was counted as new evidence, so two real
    # evaluations and a retry passed the page's "at least 3 evaluations" rule
    run = ["run", "--env", "prod", "--project", str(project), "--state", str(project / "state.sqlite"), "-q"]
    assert main(run) == 0
    capsys.readouterr()
    for at in ("2026-11-25T12:00:00Z", "2026-11-25T14:30:00Z", "2026-11-25T14:30:00Z"):
        _slo(capsys, project, at)
    code, out = _slo(capsys, project, "2026-11-25T14:30:00Z", "--format", "json")
    fresh = next(r for r in json.loads(out)["results"] if r["key"] == "orders:freshness")
    assert fresh["budget"]["events"] == 2 and fresh["budget"]["bad"] == 1
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


def test_evaluate_before_the_first_run_is_unknown_not_an_internal_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _slo(capsys, project, "2026-11-25T12:00:00Z", "--format", "json")
    report = json.loads(out)  # the environment's schema does not exist yet
    assert code == 0 and report["status"] == "unknown"
    assert {r["status"] for r in report["results"]} == {"unknown"}
    assert report["paging"] == []


def test_the_action_before_the_first_run_reports_unknown_without_a_traceback(
    project: Path, tmp_path: Path
) -> None:
    from action.slo import main as action_main

    env = {
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_WORKSPACE": str(project),
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "sum"),
        "INPUT_MODE": "slo",
        "INPUT_ENVIRONMENT": "prod",
        "INPUT_STATE": str(tmp_path / "state.sqlite"),
    }
    out: list[str] = []
    at = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
    assert action_main(env, write=out.append, log=out.append, now=at) == 0
    outputs = (tmp_path / "out").read_text().splitlines()
    assert outputs[outputs.index(next(o for o in outputs if o.startswith("status<<"))) + 1] == "unknown"


def test_the_first_evaluation_of_a_breach_does_not_page(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = str(project / "state.sqlite")
    assert main(["run", "--env", "prod", "--project", str(project), "--state", state, "-q"]) == 0
    capsys.readouterr()
    code, out = _slo(capsys, project, "2026-11-25T14:30:00Z", "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["paging"] == []  # a breach, but one evaluation is not a page
    fresh = next(r for r in report["results"] if r["key"] == "orders:freshness")
    assert fresh["budget"]["sparse"] and {a["severity"] for a in fresh["alerts"]} == {"ticket"}
    code, out = _slo(capsys, project, "2026-11-25T14:31:00Z")
    assert "page held back to a ticket: only 2 evaluation(s)" in out and "paging:" not in out
