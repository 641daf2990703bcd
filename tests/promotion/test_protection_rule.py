"""datacanary as a custom deployment protection rule: the decision from the ledger, and the round trip
of a signed `deployment_protection_rule.requested` delivery through the App to the GitHub stub (which
checks the review request against GitHub's OpenAPI description)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.github.apply import apply
from app.github.events import parse_event
from app.project.tree import DirTree
from app.promotion.artifact import to_tar
from app.promotion.bundle import build_from_tree
from app.promotion.cli import state_path
from app.promotion.effects import ReviewProtectionRule
from app.promotion.ledger import Ledger
from app.promotion.release import Context, promote
from app.promotion.store import ArtifactStore
from app.service.app import create_app
from app.service.handlers.deployment import decide
from app.state import StateDB, ledgers_root, table_names
from tests.service.conftest import ServiceServer, make_settings, private_key_pem, serve  # noqa: F401
from tests.support import webhooks
from tests.support.fixtures import github_stub  # noqa: F401
from tests.support.signing import signed_delivery

from .conftest import CONFIG, write_env_data, write_project
from .test_action_promote import workspace  # noqa: F401

PAYLOAD = Path(__file__).parent / "payloads" / "deployment_protection_rule.requested.json"
SHA = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"  # the deployment's sha in the payload


def _payload(environment: str = "prod", digest: str | None = None) -> dict[str, Any]:
    data = copy.deepcopy(json.loads(PAYLOAD.read_text()))
    data["environment"] = environment
    data["deployment"]["environment"] = environment
    data["deployment"]["payload"] = {"digest": digest} if digest else {}
    return data


def test_the_payload_fixture_conforms_to_githubs_webhook_schema():
    assert webhooks.errors(_payload(), "webhook-deployment-protection-rule-requested") == []


def _released(tmp_path: Path, state: Path, envs: tuple[str, ...], config: str = CONFIG) -> str:
    """Build the shop artifact and promote it through `envs`, with the ledger in `state`."""
    root = write_project(tmp_path / "shop", config=config)
    for env in ("dev", "staging", "prod"):
        write_env_data(root / "data" / f"{env}.duckdb")
    artifact, _ = build_from_tree(DirTree(root))
    db = StateDB(state)
    try:
        ctx = Context(
            Ledger(db), ArtifactStore(state.parent / "artifacts"), root, "ci", "2026-11-25T10:00:00Z", SHA
        )
        for env in envs:
            assert not promote(to_tar(artifact), env, ctx).decision.refused
    finally:
        db.close()
    return artifact.digest


def _runner_state(settings: Any, repo: str = "Codertocat/Hello-World") -> Path:
    """Where a runner sharing the App's disk writes `repo`'s ledger: its DATACANARY_STATE names
    {repository}, which is $GITHUB_REPOSITORY there."""
    shared = str(ledgers_root(settings.state) / "{repository}" / "state.sqlite")
    return state_path(None, {"DATACANARY_STATE": shared, "GITHUB_REPOSITORY": repo})


def _for_repo(payload: dict[str, Any], full_name: str) -> dict[str, Any]:
    owner, name = full_name.split("/")
    payload["repository"].update(full_name=full_name, name=name)
    payload["repository"]["owner"]["login"] = owner
    return payload


def _app(settings: Any, serve: Any, stub: Any) -> ServiceServer:
    """The App over `settings` with GitHub's stub; a protection rule needs no checkout."""
    return serve(
        create_app(
            settings,
            github=_port_factory(stub),
            repo_checkout=lambda *a: (_ for _ in ()).throw(AssertionError("no checkout needed")),
        )
    )


def _decide(state: Path, payload: dict[str, Any]):
    db = StateDB(state)
    try:
        return decide(parse_event("deployment_protection_rule", payload), db)
    finally:
        db.close()


def test_approved_when_the_digest_passed_the_environment_before(tmp_path):
    state = tmp_path / "state" / "state.sqlite"
    digest = _released(tmp_path, state, ("dev", "staging"))
    decision = _decide(state, _payload("prod", digest))
    assert decision.approved and decision.code == "approved" and "passed staging" in decision.reason


def test_the_digest_is_found_by_commit_when_the_payload_has_none(tmp_path):
    state = tmp_path / "state" / "state.sqlite"
    digest = _released(tmp_path, state, ("dev", "staging"))
    decision = _decide(state, _payload("prod"))
    assert decision.approved and decision.digest == digest


def test_rejected_as_unvalidated_when_it_skipped_an_environment(tmp_path):
    state = tmp_path / "state" / "state.sqlite"
    digest = _released(tmp_path, state, ("dev",))
    decision = _decide(state, _payload("prod", digest))
    assert not decision.approved and decision.reason.startswith("unvalidated digest: ")


def test_rejected_as_unvalidated_when_nothing_is_known_of_the_commit(tmp_path):
    decision = _decide(tmp_path / "state.sqlite", _payload("prod"))
    assert (
        not decision.approved
        and "no datacanary artifact is recorded for commit f95f852bd8fc" in decision.reason
    )


def test_rejected_for_parity(tmp_path):
    state = tmp_path / "state" / "state.sqlite"
    digest = _released(
        tmp_path, state, ("dev", "staging"), CONFIG + "    overrides:\n      canary: {seed: 9}\n"
    )
    decision = _decide(state, _payload("prod", digest))
    assert (
        not decision.approved and decision.reason.startswith("parity: ") and "canary.seed" in decision.reason
    )


def test_rejected_for_a_canary_failure_in_the_environment_before(tmp_path):
    state = tmp_path / "state" / "state.sqlite"
    digest = _released(tmp_path, state, ("dev",))
    db = StateDB(state)
    Ledger(db).record(
        digest=digest,
        environment="staging",
        at="t",
        actor="ci",
        passed=False,
        canary={"verdict": "fail"},
        reason="fct_orders: country 40% null",
    )
    db.close()
    decision = _decide(state, _payload("prod", digest))
    assert not decision.approved and decision.reason.startswith("canary failure: ")


def test_an_undeclared_environment_is_rejected(tmp_path):
    state = tmp_path / "state" / "state.sqlite"
    digest = _released(tmp_path, state, ("dev",))
    decision = _decide(state, _payload("qa", digest))
    assert not decision.approved and "not declared" in decision.reason


def _port_factory(stub: Any) -> Callable[[int | None, str], Any]:
    from app.github.client import GitHubClient

    def port(installation: int | None, repo: str) -> Any:
        return GitHubClient(
            repo,
            base_url=stub.base_url,
            token="t",
            seconds_between_requests=None,
            seconds_between_writes=None,
            retry=None,
        )

    return port


def test_review_effect_is_applied_through_pygithub_and_conforms_to_openapi(github_stub):
    effect = ReviewProtectionRule(1234567890, "prod", False, "datacanary: rejected: parity")
    result = apply([effect], port=_port_factory(github_stub)(1, "Codertocat/Hello-World"))
    assert result.ok, result.failed
    assert github_stub.protection_reviews == [
        {
            "run_id": 1234567890,
            "repo": "Codertocat/Hello-World",
            "environment_name": "prod",
            "state": "rejected",
            "comment": "datacanary: rejected: parity",
        }
    ]


@pytest.mark.parametrize("released, approved", [(("dev", "staging"), True), (("dev",), False)])
def test_signed_delivery_round_trip_through_the_app(
    tmp_path, make_settings, serve, github_stub, released, approved
):
    settings = make_settings()
    digest = _released(tmp_path, _runner_state(settings), released)
    server = _app(settings, serve, github_stub)
    body, headers = signed_delivery("deployment_protection_rule", _payload("prod", digest))
    response = httpx.post(f"{server.url}/webhooks", content=body, headers=headers, timeout=10)
    assert response.status_code == 202
    server.wait_idle()
    (review,) = github_stub.protection_reviews
    assert review["run_id"] == 1234567890 and review["environment_name"] == "prod"
    assert review["state"] == ("approved" if approved else "rejected")
    assert ("passed staging" if approved else "unvalidated digest") in review["comment"]
    calls = github_stub.calls_to(
        "POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule"
    )
    assert len(calls) == 1


def test_a_digest_validated_in_one_repository_is_not_validated_in_another_with_the_same_environments(
    tmp_path, make_settings, serve, github_stub
):
    """One App, two repositories, both with dev/staging/prod: each one's ledger is its own, so the
    shop's staging promotion does not let the other repository deploy that digest to prod."""
    settings = make_settings()
    digest = _released(tmp_path / "shop", _runner_state(settings), ("dev", "staging"))
    other = "Acme/Other"
    other_digest = _released(
        tmp_path / "other", _runner_state(settings, other), ("dev",), CONFIG + "# another project\n"
    )
    assert other_digest != digest
    server = _app(settings, serve, github_stub)
    for payload in (_payload("prod", digest), _for_repo(_payload("prod", digest), other)):
        body, headers = signed_delivery("deployment_protection_rule", payload)
        assert httpx.post(f"{server.url}/webhooks", content=body, headers=headers).status_code == 202
        server.wait_idle()
    shop_review, other_review = github_stub.protection_reviews
    assert (shop_review["repo"], shop_review["state"]) == ("Codertocat/Hello-World", "approved")
    assert (other_review["repo"], other_review["state"]) == (other, "rejected")
    assert "unvalidated digest" in other_review["comment"]
    # each repository's live digest in dev is its own, though both promoted to an environment `dev`
    for repo, live in (("Codertocat/Hello-World", digest), (other, other_digest)):
        db = StateDB(_runner_state(settings, repo))
        try:
            entry = Ledger(db).live("dev")
            assert entry is not None and entry.digest == live
        finally:
            db.close()
    shared = StateDB(settings.state)  # the App's own database holds no ledger of anyone's
    try:
        tables = table_names(shared.connect())
        assert "promotion" not in tables and "inbox" in tables
    finally:
        shared.close()


def test_a_ledger_kept_in_the_apps_own_database_before_the_split_is_adopted_with_its_artifacts(
    tmp_path, make_settings, serve, github_stub
):
    """An App upgraded from a single shared ledger: its one installed repository's promotions and the
    artifact store beside the old database still decide (parity checked from the artifact)."""
    from app.service.installations import Installations

    settings = make_settings()
    digest = _released(tmp_path, Path(settings.state), ("dev", "staging"))  # the old layout
    db = StateDB(settings.state)
    Installations(db).upsert(1, "Codertocat", 0.0)
    Installations(db).add_repos(1, ["Codertocat/Hello-World"])
    db.close()
    server = _app(settings, serve, github_stub)
    body, headers = signed_delivery("deployment_protection_rule", _payload("prod", digest))
    assert httpx.post(f"{server.url}/webhooks", content=body, headers=headers).status_code == 202
    server.wait_idle()
    (review,) = github_stub.protection_reviews
    assert review["state"] == "approved", review
    assert "passed staging" in review["comment"] and "parity not checked" not in review["comment"]
    # what an alert evaluates, `run` builds and `rollback` restores: the live artifact, from its new store
    from app.runs.session import open_session

    session = open_session(str(tmp_path / "shop"), "staging", str(_runner_state(settings)))
    try:
        assert session.artifact == digest
    finally:
        session.db.close()


def test_the_app_decides_from_githubs_deployments_when_its_own_ledger_knows_nothing(
    tmp_path, make_settings, serve, github_stub, workspace
):
    """Promotions ran on a runner with its own state; the App reads the deployments they recorded."""
    from action.__main__ import main as action_main

    from .test_action_promote import SHA as ACTION_SHA
    from .test_action_promote import _env

    ws, digest = workspace
    for env in ("dev", "staging"):
        assert action_main(_env(ws, github_stub, env)) == 0
    settings = make_settings()  # a fresh state database: the App has no ledger rows, no artifacts
    server = _app(settings, serve, github_stub)
    payload = _payload("prod")  # what GitHub Actions sends for a job's environment: no digest in it
    payload["deployment"]["sha"] = ACTION_SHA
    body, headers = signed_delivery("deployment_protection_rule", payload)
    assert httpx.post(f"{server.url}/webhooks", content=body, headers=headers, timeout=10).status_code == 202
    server.wait_idle()
    (review,) = github_stub.protection_reviews
    assert review["state"] == "approved", review
    assert "passed staging" in review["comment"] and "parity not checked here" in review["comment"]
    # a re-run for staging (after dev) is approved as already live; reviewing records no deployment
    github_stub.protection_reviews.clear()
    payload = _payload("staging", digest)
    payload["deployment"]["sha"] = ACTION_SHA
    records_before = len(github_stub.deployments)
    body, headers = signed_delivery("deployment_protection_rule", payload)
    httpx.post(f"{server.url}/webhooks", content=body, headers=headers, timeout=10)
    server.wait_idle()
    assert github_stub.protection_reviews[0]["state"] == "approved"
    assert "already live in staging" in github_stub.protection_reviews[0]["comment"]
    assert len(github_stub.deployments) == records_before


def test_github_failing_to_list_deployments_is_retried_not_decided_without_them(
    tmp_path, make_settings, serve, github_stub, workspace
):
    """A 502 on the deployments the Action recorded used to leave the App deciding from its own (empty)
    ledger: the deployment was rejected as unvalidated, for good, by a passing outage."""
    from action.__main__ import main as action_main

    from .test_action_promote import SHA as ACTION_SHA
    from .test_action_promote import _env

    ws, _ = workspace
    for env in ("dev", "staging"):
        assert action_main(_env(ws, github_stub, env)) == 0
    server = _app(make_settings(retry_seconds=0.5), serve, github_stub)  # tried again in 0.5 s, not 5
    github_stub.fail("GET", r"/repos/[^/]+/[^/]+/deployments$", 502)
    payload = _payload("prod")
    payload["deployment"]["sha"] = ACTION_SHA
    body, headers = signed_delivery("deployment_protection_rule", payload, delivery="outage")
    assert httpx.post(f"{server.url}/webhooks", content=body, headers=headers, timeout=10).status_code == 202
    server.wait_idle()
    (review,) = github_stub.protection_reviews
    assert review["state"] == "approved", review
    assert server.service.inbox.get("outage")["attempts"] == 2


def test_github_records_replay_into_a_ledger_view():
    from app.promotion.github_ledger import DeploymentRecord, view_from_deployments

    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    records = [
        DeploymentRecord(1, "prod", "s1", {"digest": a}, ("inactive", "success")),
        DeploymentRecord(2, "prod", "s2", {"digest": b}, ("inactive", "success")),
        DeploymentRecord(
            3, "prod", "s1", {"digest": a, "kind": "rollback", "previous_digest": b}, ("success",)
        ),
        DeploymentRecord(4, "staging", "s3", {"digest": b}, ("failure",)),
        DeploymentRecord(5, "prod", "s9", {}, ("success",)),  # GitHub Actions' own deployment: ignored
    ]
    view = view_from_deployments(records)
    assert view.live == {"prod": a}
    assert view.passed == {"prod": frozenset({a})}  # b was rolled back
    assert view.failed_in("staging", b)
