"""The whole App flow over real HTTP: a signed pull_request delivery to the service under uvicorn, an
installation token from the (OpenAPI-checked) GitHub stub, a shallow fetch from a real git remote on
disk, the real engine on the demo shop, check runs and the PR comment posted through PyGithub to the
stub; then the "Acknowledge breaking" button."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.conftest import APP_ID, ServiceServer, load_payload
from tests.support.signing import signed_delivery

REPO = "o/r"
INSTALLATION = 77


@pytest.fixture
def remote(tmp_path: Path, demo_repo: Any) -> Path:
    """The demo shop as a bare repository where the App's git URL template points."""
    root = tmp_path / "remotes"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(demo_repo.path), str(root / f"{REPO}.git")], check=True
    )
    return root


@pytest.fixture(params=["github.com", "ghes"])
def app_server(
    request: pytest.FixtureRequest,
    make_settings: Callable[..., Any],
    serve: Callable[[Any], ServiceServer],
    github_stub: Any,
    remote: Path,
) -> ServiceServer:
    """The service against github.com-style and GitHub Enterprise Server-style (`/api/v3`) API URLs."""
    from app.service.app import create_app

    settings = make_settings(
        api_url=github_stub.base_url if request.param == "github.com" else github_stub.ghes_base_url,
        git_url_template=f"file://{remote}/{{full_name}}.git",
        canary=True,
        details_url="https://datacanary.example.com/runs",
    )
    return serve(create_app(settings))


def _pr_payload(demo_repo: Any, action: str = "opened") -> dict[str, Any]:
    payload = copy.deepcopy(load_payload(f"pull_request.{action}"))
    payload["installation"] = {"id": INSTALLATION}
    payload["repository"]["full_name"] = REPO
    pr = payload["pull_request"]
    pr["number"], pr["draft"] = 5, False
    pr["head"]["sha"], pr["base"]["sha"] = demo_repo.head, demo_repo.base
    pr["head"]["repo"]["full_name"] = REPO
    return payload


def _post(server: ServiceServer, event: str, payload: dict[str, Any], delivery: str) -> httpx.Response:
    body, headers = signed_delivery(event, payload, delivery=delivery)
    return httpx.post(f"{server.url}/webhooks", content=body, headers=headers, timeout=10)


@pytest.mark.slow
def test_pull_request_is_gated_end_to_end(
    app_server: ServiceServer, github_stub: Any, demo_repo: Any
) -> None:
    assert _post(app_server, "pull_request", _pr_payload(demo_repo), "pr-1").status_code == 202
    app_server.wait_idle(timeout=60)
    assert app_server.service.inbox.get("pr-1")["outcome"] == "done"

    creates = github_stub.calls_to("POST", "/repos/{owner}/{repo}/check-runs")
    assert [c.json["name"] for c in creates] == ["datacanary / contracts", "datacanary / canary"]
    assert {c.json["status"] for c in creates} == {"in_progress"}
    assert {c.json["head_sha"] for c in creates} == {demo_repo.head}
    assert {c.json["external_id"] for c in creates} == {"dc:pr-1:contracts", "dc:pr-1:canary"}
    # both pending before anything else was posted
    writes = [c for c in github_stub.calls if c.method in ("POST", "PATCH") and "access_tokens" not in c.path]
    assert writes[0].template == writes[1].template == "/repos/{owner}/{repo}/check-runs"

    contracts = github_stub.check_runs_named("datacanary / contracts")[0]
    canary = github_stub.check_runs_named("datacanary / canary")[0]
    assert contracts["status"] == "completed" and contracts["conclusion"] == "failure"
    assert canary["status"] == "completed" and canary["conclusion"] == "failure"
    assert [a["identifier"] for a in contracts["_actions"]] == ["ack-breaking"]
    assert github_stub.annotations.get(contracts["id"]), "findings are annotated at their file and line"

    comments = github_stub.comments_on(5)
    assert len(comments) == 1 and "<!-- datacanary:comment -->" in comments[0]["body"]
    assert github_stub.installation_tokens == [INSTALLATION]  # minted once, cached for git and the API

    metrics = httpx.get(f"{app_server.url}/metrics").text
    assert 'datacanary_github_api_calls_total{kind="token"} 1.0' in metrics
    rest = next(
        line
        for line in metrics.splitlines()
        if line.startswith('datacanary_github_api_calls_total{kind="rest"}')
    )
    assert float(rest.rsplit(" ", 1)[1]) >= 5  # 2 creates, 2 completions, comment list + create
    assert f'datacanary_github_rate_limit_remaining{{installation="{INSTALLATION}"}}' in metrics
    assert 'datacanary_deliveries_total{event="pull_request",outcome="done"} 1.0' in metrics


@pytest.mark.slow
def test_acknowledge_button_records_who_and_reruns_with_it_shown(
    app_server: ServiceServer, github_stub: Any, demo_repo: Any
) -> None:
    _post(app_server, "pull_request", _pr_payload(demo_repo), "pr-1")
    app_server.wait_idle(timeout=60)
    github_stub.permissions["alice"] = "write"
    click = copy.deepcopy(load_payload("check_run.requested_action"))
    click["installation"] = {"id": INSTALLATION}
    click["repository"]["full_name"] = REPO
    click["sender"]["login"] = "alice"
    click["requested_action"] = {"identifier": "ack-breaking"}
    run = click["check_run"]
    run["head_sha"], run["app"]["id"] = demo_repo.head, APP_ID
    run["pull_requests"] = [{"number": 5, "head": {"sha": demo_repo.head}, "base": {"sha": demo_repo.base}}]
    assert _post(app_server, "check_run", click, "ack-1").status_code == 202
    app_server.wait_idle(timeout=60)

    assert github_stub.calls_to("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
    contracts = github_stub.check_runs_named("datacanary / contracts")
    assert len(contracts) == 2 and contracts[-1]["conclusion"] != "failure"
    comments = github_stub.comments_on(5)
    assert len(comments) == 1 and "alice" in comments[0]["body"]  # the same comment, now showing the ack
