"""The result page renders every report the workers store: also a model the canary has no
reconciliation for (a new model, a run with the canary skipped), whose cells stay empty."""

from __future__ import annotations

import json
import types
from typing import Any

import pytest

from app.dashboard import views
from app.dashboard.render import page
from app.dashboard.results import GateRun
from app.pipeline import run_check


@pytest.fixture(scope="module")
def demo_report(demo_repo: Any) -> dict[str, Any]:
    report = run_check(demo_repo.path, demo_repo.base, demo_repo.head)
    return dict(json.loads(json.dumps(report.to_json(), default=str)))


def _render(report: dict[str, Any]) -> str:
    run = GateRun(1, "acme/shop", 7, "a" * 40, "b" * 40, 0.0, "fail", (), ())
    context = views.result_page(run, report, "https://github.com")
    return page(
        "result.html.j2", user="u", repo=types.SimpleNamespace(full_name="acme/shop"), base="/d", **context
    )


@pytest.mark.parametrize("shape", ["new model", "canary skipped"])
def test_a_model_without_a_reconciliation_renders_with_empty_cells(
    demo_report: dict[str, Any], shape: str
) -> None:
    report = json.loads(json.dumps(demo_report))
    if shape == "new model":
        first = report["canary"]["models"][0]
        first["reconciliation"] = None
        first["status"] = "new"
    else:
        report["canary"] = None
    html = _render(report)  # was: UndefinedError ('dict object' has no attribute 'rows'), a 500
    assert 'id="models"' in html and "dim_customers" in html
