"""Alerts in the GitHub App over real HTTP: the service under uvicorn as `create_app(settings)` builds it
(no injected GitHub or git), an `installation.created` webhook saying which repositories it covers, a
bare git remote on disk with merged pull requests, the environment's DuckDB file in the App's workspace,
installation tokens and the revert from the OpenAPI-checked GitHub stub."""

from __future__ import annotations

import copy
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.github.apply import RetryPolicy
from tests.revert import scenario
from tests.service.conftest import ServiceServer, load_payload
from tests.support.github_stub import GitHubStub
from tests.support.signing import signed_delivery

REPO = "o/r"
INSTALLATION = 77
TOKEN = "alert-secret"
CULPRIT_PR = 7  # scenario: "Count revenue twice", merged before the breach


def _alert(repository: str = REPO, **labels: str) -> dict[str, Any]:
    """An Alertmanager v4 webhook body with one firing alert."""
    return {
        "version": "4",
        "status": "firing",
        "receiver": "datacanary",
        "groupKey": '{}:{alertname="RevenueMismatch"}',
        "commonLabels": {"alertname": "RevenueMismatch"},
        "alerts": [
            {
                "status": "firing",
                "labels": {"repository": repository, "environment": "prod", "dataset": "revenue", **labels},
                "annotations": {"summary": "revenue does not match the orders"},
                "startsAt": "2026-11-20T10:00:00Z",
                "fingerprint": "3f2a",
            }
        ],
    }


@dataclass
class AlertWorld:
    """The breach scenario, its bare remote, and a way to start the App over it at a given time."""

    breach: scenario.Breached
    start: Callable[..., ServiceServer]
    now: list[float]

    def alert(self, server: ServiceServer, body: dict[str, Any], token: str = TOKEN) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.post(f"{server.url}/alerts", json=body, headers=headers, timeout=10)

    def install(self, server: ServiceServer, *repos: str) -> None:
        """The App is installed on `repos` (an installation.created delivery, as GitHub sends it)."""
        payload = copy.deepcopy(load_payload("installation.created"))
        payload["installation"]["id"] = INSTALLATION
        template = payload["repositories"][0]
        payload["repositories"] = [
            {**template, "full_name": r, "name": r.split("/")[1], "id": i} for i, r in enumerate(repos, 1)
        ]
        body, headers = signed_delivery("installation", payload)
        assert httpx.post(f"{server.url}/webhooks", content=body, headers=headers).status_code == 202
        server.wait_idle()

    def reverts(self, stub: GitHubStub) -> list[dict[str, Any]]:
        return [p for n, p in stub.pulls.items() if n != CULPRIT_PR]


@pytest.fixture
def world(
    tmp_path: Path,
    github_stub: GitHubStub,
    make_settings: Callable[..., Any],
    serve: Callable[[Any], ServiceServer],
) -> AlertWorld:
    from app.service.app import create_app
    from app.state import ledger_path, ledgers_root

    # the runs and evaluations are recorded where the App keeps the repository's ledgers
    app_state = tmp_path / "app" / "state.sqlite"
    breach = scenario.build(tmp_path, github_stub, ledger_path(ledgers_root(app_state), REPO))
    remotes = tmp_path / "remotes"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(breach.repo.path), str(remotes / f"{REPO}.git")], check=True
    )
    # the environment's data where `data: prod.duckdb` resolves for the App: next to its checkout
    workspace = tmp_path / "workspaces"
    (workspace / REPO).mkdir(parents=True)
    shutil.copy(breach.repo.path / "prod.duckdb", workspace / REPO / "prod.duckdb")
    now = [breach.at(2).timestamp()]

    def start(apply_kwargs: dict[str, Any] | None = None, **overrides: Any) -> ServiceServer:
        settings = make_settings(
            api_url=github_stub.base_url,
            git_url_template=f"file://{remotes}/{{full_name}}.git",
            state=app_state,
            alerts_token=TOKEN,
            alerts_workspace=workspace,
            **overrides,
        )
        return serve(create_app(settings, clock=lambda: now[0], apply_kwargs=apply_kwargs))

    return AlertWorld(breach, start, now)


def test_an_alert_opens_one_revert_pull_request_and_a_repeat_updates_it(
    world: AlertWorld, github_stub: GitHubStub
) -> None:
    server = world.start()
    world.install(server, REPO)
    r = world.alert(server, _alert())
    assert r.status_code == 202
    (accepted,) = r.json()["accepted"]
    assert (accepted["repository"], accepted["environment"]) == (REPO, "prod")
    server.wait_idle()
    assert server.service.inbox.get(accepted["delivery"])["outcome"] == "done"

    (pull,) = world.reverts(github_stub)
    assert pull["title"].startswith('Revert "Count revenue twice"')
    assert f"#{CULPRIT_PR}" in pull["body"]
    assert github_stub.installation_tokens == [INSTALLATION]  # the App's token: the revert's checks run
    # the culprit search needed the whole history: the workspace is a full (not shallow) clone
    checkout = server.service.settings.alerts_workspace / REPO
    shallow = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--is-shallow-repository"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shallow.stdout.strip() == "false"

    # Alertmanager repeats the notification two hours later: the same pull request gets one comment
    world.now[0] = world.breach.at(4).timestamp()
    assert world.alert(server, _alert()).status_code == 202
    server.wait_idle()
    assert world.reverts(github_stub) == [pull]
    assert len(github_stub.comments_on(pull["number"])) == 1
    assert server.service.inbox.outcomes() == {"done": 3}  # the installation and two alerts


def test_alerts_with_a_wrong_token_are_refused_and_queue_nothing(world: AlertWorld) -> None:
    server = world.start(workers=0)
    assert world.alert(server, _alert(), token="nope").status_code == 401
    missing = httpx.post(f"{server.url}/alerts", json=_alert(), timeout=10)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert server.service.inbox.depth() == 0


def test_an_alert_for_a_repository_the_app_is_not_installed_on_is_refused(
    world: AlertWorld, github_stub: GitHubStub
) -> None:
    server = world.start()
    world.install(server, REPO)
    r = world.alert(server, _alert("o/elsewhere"))
    assert r.status_code == 422
    assert "o/elsewhere is not a repository this GitHub App is installed on" in r.json()["error"]
    assert r.json()["accepted"] == [] and server.service.inbox.outcomes() == {"done": 1}
    assert world.reverts(github_stub) == [] and github_stub.installation_tokens == []
    # the table did not know it, so GitHub was asked too (with the App's JWT), and said 404
    assert [c.path for c in github_stub.calls_to("GET", "/repos/{owner}/{repo}/installation")] == [
        "/repos/o/elsewhere/installation"
    ]


def test_an_alert_accepted_before_a_restart_is_handled_by_the_next_process(
    world: AlertWorld, github_stub: GitHubStub
) -> None:
    installer = world.start()
    world.install(installer, REPO)
    installer.stop()
    accepting = world.start(workers=0)  # stores and answers, never works: as if it died after the 202
    assert world.alert(accepting, _alert()).status_code == 202
    accepting.stop()
    assert world.reverts(github_stub) == []
    working = world.start()
    assert working.service.inbox.depth() == 1
    working.wait_idle()
    assert len(world.reverts(github_stub)) == 1


def test_a_signed_webhook_cannot_pose_as_an_alert(world: AlertWorld) -> None:
    server = world.start(workers=0)
    body, headers = signed_delivery("alert", {"repository": REPO, "environment": "prod"})
    assert httpx.post(f"{server.url}/webhooks", content=body, headers=headers).status_code == 422
    assert server.service.inbox.depth() == 0


def test_an_environment_without_its_data_fails_the_alert_with_the_reason(
    world: AlertWorld, github_stub: GitHubStub
) -> None:
    server = world.start()
    world.install(server, REPO)
    (server.service.settings.alerts_workspace / REPO / "prod.duckdb").unlink()
    delivery = world.alert(server, _alert()).json()["accepted"][0]["delivery"]
    server.wait_idle()
    row = server.service.inbox.get(delivery)
    assert row["outcome"] == "error"
    assert "environment 'prod': database" in row["detail"] and "does not exist" in row["detail"]
    assert world.reverts(github_stub) == []


def test_two_alerts_for_one_breach_handled_at_once_open_one_pull_request(
    world: AlertWorld, github_stub: GitHubStub
) -> None:
    server = world.start(workers=2)
    world.install(server, REPO)
    # two receivers (or two rules) notify about the same breach in the same instant
    assert world.alert(server, _alert()).status_code == 202
    assert world.alert(server, _alert(sli="consistency")).status_code == 202
    server.wait_idle()
    assert len(world.reverts(github_stub)) == 1
    assert server.service.inbox.outcomes() == {"done": 3}


def test_an_alert_cut_short_by_a_github_outage_is_retried_into_the_same_pull_request(
    world: AlertWorld, github_stub: GitHubStub
) -> None:
    server = world.start(apply_kwargs={"retry": RetryPolicy(attempts=1)})
    world.install(server, REPO)
    # the revert branch is pushed, then GitHub fails on the pull request itself
    github_stub.fail("POST", r"/repos/o/r/pulls$", 502)
    delivery = world.alert(server, _alert()).json()["accepted"][0]["delivery"]
    deadline = time.monotonic() + 20
    while (row := server.service.inbox.get(delivery))["status"] != "queued" or not row["attempts"]:
        assert time.monotonic() < deadline, row
        time.sleep(0.02)
    assert "502" in row["detail"] and world.reverts(github_stub) == []
    world.now[0] += 60  # past the back-off: the next attempt finds its branch and reuses it
    server.wait_idle()
    assert server.service.inbox.get(delivery)["outcome"] == "done"
    (pull,) = world.reverts(github_stub)
    assert github_stub.refs[f"heads/{pull['head']['ref']}"] == pull["head"]["sha"]
    assert len(github_stub.calls_to("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}")) == 1


def test_only_active_installations_make_a_repository_known(tmp_path: Path) -> None:
    from app.revert.alerts import AlertGroup
    from app.service.alerting import refusal
    from app.service.installations import Installations
    from app.state import StateDB

    db = StateDB(tmp_path / "s.sqlite")
    group = AlertGroup("O/R", "prod", frozenset(), frozenset(), ("X",))
    assert refusal(db, group) is not None
    installs = Installations(db)
    installs.upsert(5, "o", 0.0)
    installs.add_repos(5, ["o/r"])
    assert refusal(db, group) is None  # GitHub's names are case-insensitive
    installs.upsert(5, "o", 1.0, suspended=True)
    assert "is not a repository this GitHub App is installed on" in (refusal(db, group) or "")
    # a label that is no repository name is refused before GitHub is asked or anything is stored
    odd = AlertGroup("o/../../etc", "prod", frozenset(), frozenset(), ("X",))
    asked: list[str] = []
    assert "is not a repository name" in (refusal(db, odd, lambda r: asked.append(r) or (5, "o")) or "")
    assert asked == []


def test_an_alert_whose_repository_was_uninstalled_meanwhile_fails_without_touching_github(
    world: AlertWorld, github_stub: GitHubStub
) -> None:
    from app.revert.alerts import AlertGroup
    from app.service.alerting import enqueue

    server = world.start(workers=0)
    service = server.service
    delivery = enqueue(service.inbox, AlertGroup(REPO, "prod", frozenset({"revenue"}), frozenset(), ("X",)))
    assert service.workers.run_once()
    row = service.inbox.get(delivery)
    assert row["outcome"] == "error"
    assert "o/r is not a repository this GitHub App is installed on" in row["detail"]
    assert github_stub.calls == []


def test_an_unreadable_suppression_window_stops_start_up_naming_the_variable(
    make_settings: Callable[..., Any],
) -> None:
    from app.errors import ConfigError
    from app.service.app import create_app

    with pytest.raises(ConfigError) as err:
        create_app(make_settings(alerts_suppression="soon"))
    assert err.value.message == "DATACANARY_ALERTS_SUPPRESSION: cannot read duration 'soon'"


def test_github_own_revert_is_preferred_when_it_answers(world: AlertWorld, github_stub: GitHubStub) -> None:
    revert = 8  # the pull request GitHub's revertPullRequest creates (seeded: the stub has no git)
    github_stub.graphql_responder = lambda body: {
        "data": {"revertPullRequest": {"revertPullRequest": {"number": revert, "url": "https://x/pull/8"}}}
    }
    server = world.start()
    world.install(server, REPO)
    github_stub.add_pull(revert, title="placeholder")
    assert world.alert(server, _alert()).status_code == 202
    server.wait_idle()
    (sent,) = github_stub.graphql
    assert sent["variables"]["input"]["pullRequestId"] == github_stub.pulls[CULPRIT_PR]["node_id"]
    assert sent["variables"]["input"]["title"].startswith('Revert "Count revenue twice"')
    assert not github_stub.calls_to("POST", "/repos/{owner}/{repo}/git/commits")
    assert {label["name"] for label in github_stub.issues[revert]["labels"]} >= {"revert", "slo-breach"}


def test_an_installation_the_state_database_never_saw_is_found_on_github(
    world: AlertWorld, github_stub: GitHubStub
) -> None:
    from app.service.installations import Installations

    server = world.start()  # no installation event ever reached this state database
    github_stub.app_installations[REPO] = INSTALLATION
    assert world.alert(server, _alert()).status_code == 202
    server.wait_idle()
    assert len(world.reverts(github_stub)) == 1
    assert Installations(server.service.db).installation_for(REPO) == INSTALLATION  # remembered
    assert world.alert(server, _alert()).status_code == 202
    assert len(github_stub.calls_to("GET", "/repos/{owner}/{repo}/installation")) == 1


def test_an_unknown_repository_while_github_is_down_is_answered_503_for_alertmanager_to_retry(
    world: AlertWorld, github_stub: GitHubStub
) -> None:
    server = world.start(workers=0)
    github_stub.fail("GET", r"/installation$", 502)
    r = world.alert(server, _alert())
    assert r.status_code == 503 and "cannot check the installation" in r.json()["error"]
    assert server.service.inbox.depth() == 0


def test_one_notification_about_two_repositories_acts_on_the_installed_one_only(
    world: AlertWorld, github_stub: GitHubStub
) -> None:
    server = world.start()
    world.install(server, REPO)
    body = _alert()
    first = body["alerts"][0]
    body["alerts"].append({**first, "labels": {**first["labels"], "repository": "x/y"}})
    r = world.alert(server, body)
    assert r.status_code == 202
    assert [a["repository"] for a in r.json()["accepted"]] == [REPO]
    assert [a["repository"] for a in r.json()["refused"]] == ["x/y"]
    server.wait_idle()
    assert len(world.reverts(github_stub)) == 1
