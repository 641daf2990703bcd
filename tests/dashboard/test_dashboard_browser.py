"""The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright): log in
through the (stubbed) OAuth flow, load each page, click from a gate result to a model's diff, check
that the burn-rate chart and the lineage graph render, and keep screenshots of the main pages in
test-output/dashboard/ (ignored by git)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import PR, REPO, Dash
from tests.support.services import unavailable

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "dashboard"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for this module's tests, stopped after them: Playwright's sync API runs an event
    loop on this thread while it is up, and a later test's asyncio.run (TestClient) would find it."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        unavailable("Chromium", "no /usr/bin/chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Chromium", "playwright is not installed (pip install -e '.[test]')")
    import resource

    # the canary caps this process's address space (app.canary.runner.bound_process_memory) and children
    # inherit it: Chromium's V8 reserves more than that at start and dies with SIGTRAP. Lifted only while
    # the Playwright driver and the browser start; this process keeps its cap.
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    try:
        pw = sync_playwright().start()
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    yield launched
    launched.close()
    pw.stop()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_user_logs_in_and_clicks_from_a_gate_result_to_a_models_diff(dash: Dash, browser: Any) -> None:
    dash.stub.oauth_login = "alice"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{dash.url}/dashboard/{REPO}")  # -> /login -> GitHub (the stub approves) -> back
        assert page.url == f"{dash.url}/dashboard/{REPO}"
        assert page.locator("header .user strong").inner_text() == "alice"
        _shot(page, "repository")

        page.locator("#results a.result-link").first.click()
        page.wait_for_url(f"**/pull/{PR}/{dash.head}")
        graph = page.locator("svg#lineage")
        assert graph.locator("g.node").count() >= 4 and graph.locator("path").count() >= 4
        assert graph.bounding_box()["width"] > 200  # laid out, not an empty box
        _shot(page, "gate-result")

        page.locator("#models a.model-link", has_text="fct_orders").click()
        page.wait_for_url("**/models/fct_orders")
        assert page.locator("#columns tbody tr").count() >= 4
        assert page.locator("#examples td.changed").count() >= 1  # the changed values are marked
        _shot(page, "model-diff")

        page.goto(f"{dash.url}/dashboard/{REPO}/envs/prod")
        chart = page.locator("svg.burn-chart").first
        assert chart.locator("circle").count() == 24 and chart.locator("polyline").count() == 1
        assert chart.bounding_box()["height"] > 50
        assert page.locator("#incidents a", has_text="#42").count() == 1
        _shot(page, "environment")

        health = page.locator("#health-orders")
        volume = health.locator("svg.volume-chart")
        assert volume.locator("circle").count() == 12  # one dot per stored profile
        assert volume.locator("circle.breach").count() == 1  # the last hour's drop
        band = volume.locator("rect.expected").bounding_box()
        last = volume.locator("circle.breach").bounding_box()
        assert band is not None and last is not None and last["y"] > band["y"] + band["height"]  # below it
        status = health.locator("table.health-columns tr", has_text="status")
        assert "breach" in (status.get_attribute("class") or "") and "PSI" in status.inner_text()
        assert health.locator("tr", has_text="amount").locator(".retyped").count() == 1
        assert health.locator("svg.spark").count() >= 6
        health.scroll_into_view_if_needed()
        health.screenshot(path=str(SHOTS / "data-health.png"))

        page.goto(f"{dash.url}/dashboard/{REPO}/envs/prod/runs")
        assert page.locator("#runs tbody tr").count() == 2
        _shot(page, "runs")

        page.locator("header form button").click()
        page.wait_for_url("**/dashboard/logged-out")
        page.goto(f"{dash.url}/dashboard/{REPO}")
        assert (
            "/dashboard/logged-out" not in page.url
        )  # logged in again through GitHub, not by the old cookie
    finally:
        context.close()
