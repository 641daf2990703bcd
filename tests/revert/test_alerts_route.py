"""`POST /alerts` (Alertmanager webhooks) on the service app: auth, parsing, and the revert it triggers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import load_settings
from app.github.apply import RetryPolicy
from app.github.apply_revert import RevertClient
from app.revert.alerts import AlertGroup, local_processor
from app.service.app import create_app
from tests.revert import scenario
from tests.support.github_stub import GitHubStub

TOKEN = "alert-secret"


def _alert(**labels: str) -> dict[str, Any]:
    return {
        "version": "4",
        "status": "firing",
        "receiver": "datacanary",
        "groupKey": "{}:{}",
        "commonLabels": {"alertname": "RevenueMismatch"},
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": "revenue off"},
                "startsAt": "2026-11-20T10:00:00Z",
                "fingerprint": "abc",
            }
        ],
    }


class Client:
    """Requests to the ASGI app in process (background tasks run before the call returns)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def post(self, path: str, json: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://service") as c:
                return await c.post(path, json=json, headers=headers)

        return asyncio.run(send())


@pytest.fixture
def client(tmp_path: Path, private_key_pem: str) -> Any:
    settings = load_settings(
        app_id=1,
        private_key=private_key_pem,
        webhook_secret="w",
        state=tmp_path / "svc.sqlite",
        workers=0,
        alerts_token=TOKEN,
    )
    app = create_app(settings, github=lambda i, r: None, repo_checkout=lambda i, r, s: tmp_path)
    seen: list[AlertGroup] = []
    app.state.alert_processor = seen.append
    return Client(app), seen, app


def test_alerts_without_the_bearer_token_are_refused(client: Any) -> None:
    c, seen, _ = client
    assert c.post("/alerts", json=_alert(repository="o/r", environment="prod")).status_code == 401
    wrong = c.post(
        "/alerts", json=_alert(repository="o/r", environment="prod"), headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401 and seen == []


def test_firing_alerts_are_grouped_per_repository_and_environment(client: Any) -> None:
    c, seen, _ = client
    r = c.post(
        "/alerts",
        json=_alert(repository="o/r", environment="prod", dataset="revenue"),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert r.status_code == 202
    assert r.json()["accepted"] == [{"repository": "o/r", "environment": "prod", "datasets": ["revenue"]}]
    assert [(g.repository, g.environment, g.names) for g in seen] == [("o/r", "prod", ("RevenueMismatch",))]


def test_alerts_without_target_labels_are_reported_not_guessed(client: Any) -> None:
    c, seen, _ = client
    r = c.post("/alerts", json=_alert(dataset="revenue"), headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and seen == []
    assert "needs `repository` (owner/name) and `environment` labels" in r.json()["problems"][0]
    bad = c.post("/alerts", json={"status": "firing"}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert bad.status_code == 422


def test_an_alert_opens_the_revert_pull_request(client: Any, tmp_path: Path, github_stub: GitHubStub) -> None:
    c, _, app = client
    b = scenario.build(tmp_path, github_stub)
    port = RevertClient(
        "o/r",
        base_url=github_stub.base_url,
        token="installation-token",
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
    )
    app.state.alert_processor = local_processor(
        b.repo.path,
        "o/r",
        state=str(b.state),
        port_for=lambda repo: port,
        clock=lambda: b.at(2),
        retry=RetryPolicy(backoff=0.01),
    )
    r = c.post(
        "/alerts",
        json=_alert(repository="o/r", environment="prod", dataset="revenue"),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert r.status_code == 202
    (pull,) = [p for n, p in github_stub.pulls.items() if n != 7]
    assert pull["title"].startswith('Revert "Count revenue twice"')
    # Alertmanager repeats the notification: the incident is updated, not opened again
    app.state.alert_processor = local_processor(
        b.repo.path,
        "o/r",
        state=str(b.state),
        port_for=lambda repo: port,
        clock=lambda: b.at(4),
        retry=RetryPolicy(backoff=0.01),
    )
    c.post(
        "/alerts",
        json=_alert(repository="o/r", environment="prod", dataset="revenue"),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert len(github_stub.pulls) == 2 and len(github_stub.comments_on(pull["number"])) == 1


def test_an_alert_our_evaluation_does_not_see_is_taken_at_its_word() -> None:
    from app.revert.alerts import matching
    from app.slo.objectives import Objective

    rows = Objective("orders", "completeness.rows", ">=", 1, "rows", "x", datasets=("orders",))
    other = Objective("customers", "freshness", "<=", 60, "seconds", "x", datasets=("customers",))
    group = AlertGroup("o/r", "prod", frozenset({"orders"}), frozenset(), ("RowsMissing",))
    (result,) = matching(group, [], [rows, other])
    assert result.objective is rows and result.status.value == "breach"
    assert result.reason == "alert RowsMissing firing"
    everything = AlertGroup("o/r", "prod", frozenset(), frozenset(), ("X",))
    assert matching(everything, [], [rows, other]) == ()  # no dataset named: only breaches we measured
