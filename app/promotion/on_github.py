"""A promotion's record on GitHub, shared by the Action (`mode: promote`) and the CLI run inside GitHub
Actions: read what earlier jobs recorded, and record this outcome as a deployment with a status."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app.promotion.effects import RecordDeployment
from app.promotion.ledger import LedgerView
from app.promotion.release import Outcome


def deployment_effect(outcome: Outcome, sha: str, log_url: str | None) -> RecordDeployment:
    """The GitHub record of a ledger entry: a deployment of `sha` with the digest in its payload (and
    the promotion path, so the App can decide protection rules from GitHub's deployments alone)."""
    from app.promotion.promote import short

    entry, decision = outcome.entry, outcome.decision
    assert entry is not None, "only a recorded outcome has a deployment"
    path = promotion_path(outcome)
    verb = "rollback" if entry.kind == "rollback" else "promotion"
    passed = not decision.refused
    description = f"datacanary {verb} of {short(entry.digest)}: " + (
        "canary passed" if passed else (entry.reason or "canary failed")
    )
    payload = {
        "digest": entry.digest,
        "previous_digest": entry.previous_digest,
        "project": entry.project,
        "ledger_id": entry.id,
        "kind": entry.kind,
        "canary": (outcome.canary.verdict.value if outcome.canary else None),
        "environments": path,
    }
    return RecordDeployment(
        sha=entry.commit_sha or sha,  # a rollback deploys the commit its digest was built from
        environment=entry.environment,
        state="success" if passed else "failure",
        description=description,
        payload=payload,
        production=bool(path) and path[-1] == entry.environment,
        log_url=log_url,
    )


def github_view(port: Any, log: Callable[[str], object]) -> LedgerView | None:
    """What datacanary's deployments on GitHub say about earlier promotions: on an ephemeral runner the
    local ledger is empty, and a digest promoted to dev by an earlier job must still count."""
    from app.errors import DatacanaryError
    from app.github.apply_deployments import read_deployments
    from app.promotion.github_ledger import view_from_deployments

    try:
        return view_from_deployments(read_deployments(port))
    except DatacanaryError as exc:
        log(f"datacanary: could not read earlier deployments from GitHub: {exc.message}\n")
        return None


def promotion_path(outcome: Outcome) -> list[str]:
    """The artifact's environments in promotion order (the last is GitHub's `production_environment`)."""
    from app.promotion.bundle import artifact_project

    if outcome.artifact is None:
        return []
    return list(artifact_project(outcome.artifact).config.environments)


def port_from_env(env: Mapping[str, str]) -> Any | None:
    """A GitHub connection when running inside GitHub Actions with a token (`GITHUB_TOKEN`), else None."""
    repo, token = env.get("GITHUB_REPOSITORY", ""), env.get("GITHUB_TOKEN", "")
    if env.get("GITHUB_ACTIONS") != "true" or "/" not in repo or not token:
        return None
    from app.config import github_api_url
    from app.github.client import GitHubClient

    base_url = github_api_url(env)
    if env.get("DATACANARY_GITHUB_THROTTLE", "").lower() == "off":  # a loopback GitHub in tests
        return GitHubClient(
            repo,
            base_url=base_url,
            token=token,
            seconds_between_requests=None,
            seconds_between_writes=None,
            retry=None,
        )
    return GitHubClient(repo, base_url=base_url, token=token)


def record(outcome: Outcome, port: Any, env: Mapping[str, str], log: Callable[[str], object]) -> None:
    """Record a ledger entry as a GitHub deployment of `GITHUB_SHA`; failures are logged, never raised."""
    import app.github.apply_deployments  # noqa: F401  (registers the deployment performers)
    from app.github.apply import apply

    sha = env.get("GITHUB_SHA")
    if outcome.entry is None or not sha:
        return
    run = env.get("GITHUB_RUN_ID")
    server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    log_url = f"{server}/{env.get('GITHUB_REPOSITORY')}/actions/runs/{run}" if run else None
    for failure in apply([deployment_effect(outcome, sha, log_url)], port=port).failed:
        log(f"datacanary: could not record the deployment on GitHub: {failure.error}\n")
