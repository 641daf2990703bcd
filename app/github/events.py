"""Webhook and Action event payloads, parsed once at the edge into small typed values.

Tolerant: only the fields datacanary uses are read, extra or unknown fields are ignored. A needed field
that is missing or of the wrong type raises `EventError` naming its path (e.g. `pull_request.head.sha`).
Payload reference: https://docs.github.com/webhooks/webhook-events-and-payloads
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.github.payload import EventError as EventError  # re-exported: callers catch it from here
from app.github.payload import Repo as Repo
from app.github.payload import names, opt, pull_numbers, repo_of, req, walk


@dataclass(frozen=True, slots=True)
class PullRequestEvent:
    action: str
    number: int
    repo: Repo
    base_sha: str
    base_ref: str
    head_sha: str
    head_ref: str
    head_repo: str | None  # None when the fork was deleted
    draft: bool
    merged: bool
    title: str
    installation_id: int | None
    sender: str | None
    # when the pull request last changed (ISO 8601, UTC); orders its heads, since GitHub does not
    # promise to deliver a push's synchronize after the PR's opened
    updated_at: str | None = None
    base_changed: bool = False  # an `edited` that retargeted the PR to another base branch

    @property
    def is_fork(self) -> bool:
        """A PR from another repository: under `pull_request` its token cannot write checks or comments."""
        return self.head_repo != self.repo.full_name


@dataclass(frozen=True, slots=True)
class MergeGroupEvent:
    """A merge queue asks for checks on a temporary branch: checks must report on `head_sha`."""

    action: str
    repo: Repo
    head_sha: str
    head_ref: str
    base_sha: str
    base_ref: str
    installation_id: int | None


@dataclass(frozen=True, slots=True)
class PullRef:
    """A pull request as listed in check_run / check_suite payloads: number and both ends' shas."""

    number: int
    base_sha: str | None
    head_sha: str | None


@dataclass(frozen=True, slots=True)
class CheckRunEvent:
    action: str
    repo: Repo
    check_run_id: int
    name: str
    head_sha: str
    external_id: str | None
    requested_action: str | None  # the button identifier for action == "requested_action"
    pull_numbers: tuple[int, ...]
    app_id: int | None
    installation_id: int | None
    sender: str | None
    pulls: tuple[PullRef, ...] = ()  # the service re-runs a PR's gate from these (base sha)


@dataclass(frozen=True, slots=True)
class CheckSuiteEvent:
    action: str
    repo: Repo
    check_suite_id: int
    head_sha: str
    head_branch: str | None
    before: str | None
    pull_numbers: tuple[int, ...]
    app_id: int | None
    installation_id: int | None
    pulls: tuple[PullRef, ...] = ()


@dataclass(frozen=True, slots=True)
class InstallationEvent:
    action: str
    installation_id: int
    account: str
    repositories: tuple[str, ...]  # full names, when the payload lists them


@dataclass(frozen=True, slots=True)
class InstallationRepositoriesEvent:
    action: str
    installation_id: int
    account: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RepositoryEvent:
    """A repository changed; for `renamed` and `transferred`, `previous` is its full name before."""

    action: str
    repo: Repo
    previous: str | None
    installation_id: int | None


@dataclass(frozen=True, slots=True)
class DeploymentProtectionRuleEvent:
    """An environment asks our App to approve or reject a deployment (custom protection rule)."""

    action: str
    repo: Repo
    environment: str
    event: str | None
    callback_url: str
    run_id: int  # from the callback URL: POST /repos/{o}/{r}/actions/runs/{run_id}/deployment_protection_rule
    sha: str | None
    ref: str | None
    deployment_id: int | None
    pull_numbers: tuple[int, ...]
    installation_id: int | None
    # the deployment's `payload` (an object, or JSON text); datacanary puts the artifact digest there
    deployment_payload: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class WorkflowRunEvent:
    """A workflow run finished (the trusted half of the fork split posts another run's results)."""

    action: str
    repo: Repo
    run_id: int
    event: str  # what triggered that run, e.g. pull_request
    head_sha: str
    head_repo: str | None
    conclusion: str | None
    pull_numbers: tuple[int, ...]  # empty for runs of fork PRs: GitHub does not list them


@dataclass(frozen=True, slots=True)
class PingEvent:
    zen: str | None
    hook_id: int | None
    app_id: int | None


Event = (
    PullRequestEvent
    | MergeGroupEvent
    | CheckRunEvent
    | CheckSuiteEvent
    | InstallationEvent
    | InstallationRepositoriesEvent
    | RepositoryEvent
    | DeploymentProtectionRuleEvent
    | PingEvent
)


def _pulls(payload: Any, path: str) -> tuple[PullRef, ...]:
    """The listed pull requests of the event's repository: in a fork, a check payload also lists the
    upstream pull requests its branch heads, whose numbers mean nothing in the fork."""
    found, value = walk(payload, path)
    if not found or not isinstance(value, list):
        return ()
    repo_id = opt(payload, "repository.id", int)
    return tuple(
        PullRef(req(pr, "number", int), opt(pr, "base.sha", str), opt(pr, "head.sha", str))
        for pr in value
        if isinstance(pr, Mapping) and _based_in(pr, repo_id)
    )


def _based_in(pr: Any, repo_id: int | None) -> bool:
    base_id = opt(pr, "base.repo.id", int)
    return repo_id is None or base_id is None or base_id == repo_id


def _pull_request(p: Any) -> PullRequestEvent:
    return PullRequestEvent(
        action=req(p, "action", str),
        number=req(p, "pull_request.number", int),
        repo=repo_of(p),
        base_sha=req(p, "pull_request.base.sha", str),
        base_ref=req(p, "pull_request.base.ref", str),
        head_sha=req(p, "pull_request.head.sha", str),
        head_ref=req(p, "pull_request.head.ref", str),
        head_repo=opt(p, "pull_request.head.repo.full_name", str),
        draft=bool(opt(p, "pull_request.draft", bool)),
        merged=bool(opt(p, "pull_request.merged", bool)),
        title=opt(p, "pull_request.title", str) or "",
        installation_id=opt(p, "installation.id", int),
        sender=opt(p, "sender.login", str),
        updated_at=opt(p, "pull_request.updated_at", str),
        base_changed=walk(p, "changes.base")[0],
    )


def _merge_group(p: Any) -> MergeGroupEvent:
    return MergeGroupEvent(
        action=req(p, "action", str),
        repo=repo_of(p),
        head_sha=req(p, "merge_group.head_sha", str),
        head_ref=req(p, "merge_group.head_ref", str),
        base_sha=req(p, "merge_group.base_sha", str),
        base_ref=req(p, "merge_group.base_ref", str),
        installation_id=opt(p, "installation.id", int),
    )


def _check_run(p: Any) -> CheckRunEvent:
    return CheckRunEvent(
        action=req(p, "action", str),
        repo=repo_of(p),
        check_run_id=req(p, "check_run.id", int),
        name=req(p, "check_run.name", str),
        head_sha=req(p, "check_run.head_sha", str),
        external_id=opt(p, "check_run.external_id", str) or None,
        requested_action=opt(p, "requested_action.identifier", str),
        pull_numbers=pull_numbers(p, "check_run.pull_requests"),
        app_id=opt(p, "check_run.app.id", int),
        installation_id=opt(p, "installation.id", int),
        sender=opt(p, "sender.login", str),
        pulls=_pulls(p, "check_run.pull_requests"),
    )


def _check_suite(p: Any) -> CheckSuiteEvent:
    return CheckSuiteEvent(
        action=req(p, "action", str),
        repo=repo_of(p),
        check_suite_id=req(p, "check_suite.id", int),
        head_sha=req(p, "check_suite.head_sha", str),
        head_branch=opt(p, "check_suite.head_branch", str),
        before=opt(p, "check_suite.before", str),
        pull_numbers=pull_numbers(p, "check_suite.pull_requests"),
        app_id=opt(p, "check_suite.app.id", int),
        installation_id=opt(p, "installation.id", int),
        pulls=_pulls(p, "check_suite.pull_requests"),
    )


def _installation(p: Any) -> InstallationEvent:
    return InstallationEvent(
        action=req(p, "action", str),
        installation_id=req(p, "installation.id", int),
        account=req(p, "installation.account.login", str),
        repositories=names(p, "repositories"),
    )


def _installation_repositories(p: Any) -> InstallationRepositoriesEvent:
    return InstallationRepositoriesEvent(
        action=req(p, "action", str),
        installation_id=req(p, "installation.id", int),
        account=req(p, "installation.account.login", str),
        added=names(p, "repositories_added"),
        removed=names(p, "repositories_removed"),
    )


def _repository(p: Any) -> RepositoryEvent:
    repo = repo_of(p)
    owner, name = repo.full_name.split("/", 1)
    action = req(p, "action", str)
    previous = None
    if action == "renamed":
        previous = f"{owner}/{req(p, 'changes.repository.name.from', str)}"
    elif action == "transferred":
        before = opt(p, "changes.owner.from.organization.login", str) or req(
            p, "changes.owner.from.user.login", str
        )
        previous = f"{before}/{name}"
    return RepositoryEvent(action, repo, previous, opt(p, "installation.id", int))


_RUN_ID = re.compile(r"/actions/runs/(\d+)/deployment_protection_rule/?$")


def _deployment_protection_rule(p: Any) -> DeploymentProtectionRuleEvent:
    callback = req(p, "deployment_callback_url", str)
    match = _RUN_ID.search(callback)
    if match is None:
        raise EventError(f"event payload field `deployment_callback_url` has no run id: {callback!r}")
    return DeploymentProtectionRuleEvent(
        action=req(p, "action", str),
        repo=repo_of(p),
        environment=req(p, "environment", str),
        event=opt(p, "event", str),
        callback_url=callback,
        run_id=int(match.group(1)),
        sha=opt(p, "deployment.sha", str),
        ref=opt(p, "deployment.ref", str),
        deployment_id=opt(p, "deployment.id", int),
        pull_numbers=pull_numbers(p, "pull_requests"),
        installation_id=opt(p, "installation.id", int),
        deployment_payload=_payload_object(walk(p, "deployment.payload")[1]),
    )


def _payload_object(value: Any) -> Mapping[str, Any] | None:
    """GitHub's deployment `payload` is an object or a JSON string; anything else counts as absent."""
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def _ping(p: Any) -> PingEvent:
    return PingEvent(opt(p, "zen", str), opt(p, "hook_id", int), opt(p, "hook.app_id", int))


PARSERS: Mapping[str, Callable[[Any], Event]] = {
    "pull_request": _pull_request,
    "merge_group": _merge_group,
    "check_run": _check_run,
    "check_suite": _check_suite,
    "installation": _installation,
    "installation_repositories": _installation_repositories,
    "repository": _repository,
    "deployment_protection_rule": _deployment_protection_rule,
    "ping": _ping,
}


def parse_workflow_run(payload: Any) -> WorkflowRunEvent:
    """Parse a `workflow_run` payload (the Action's `post` mode; the App ignores these events)."""
    if not isinstance(payload, Mapping):
        raise EventError("`workflow_run` event payload is not a JSON object")
    p = payload
    return WorkflowRunEvent(
        action=req(p, "action", str),
        repo=repo_of(p),
        run_id=req(p, "workflow_run.id", int),
        event=req(p, "workflow_run.event", str),
        head_sha=req(p, "workflow_run.head_sha", str),
        head_repo=opt(p, "workflow_run.head_repository.full_name", str),
        conclusion=opt(p, "workflow_run.conclusion", str),
        pull_numbers=pull_numbers(p, "workflow_run.pull_requests"),
    )


def parse_event(name: str, payload: Any) -> Event:
    """Parse the payload of event `name` (the `X-GitHub-Event` header / `GITHUB_EVENT_NAME`)."""
    parser = PARSERS.get(name)
    if parser is None:
        raise EventError(
            f"datacanary does not handle `{name}` events",
            hint=f"subscribe to one of: {', '.join(sorted(PARSERS))}",
        )
    if not isinstance(payload, Mapping):
        raise EventError(f"`{name}` event payload is {type(payload).__name__}, expected a JSON object")
    return parser(payload)
