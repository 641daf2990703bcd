"""Webhook and Action event payloads, parsed once at the edge into small typed values.

Tolerant: only the fields datacanary uses are read, extra or unknown fields are ignored. A needed field
that is missing or of the wrong type raises `EventError` naming its path (e.g. `pull_request.head.sha`).
Payload reference: https://docs.github.com/webhooks/webhook-events-and-payloads
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from app.errors import DatacanaryError

T = TypeVar("T")


class EventError(DatacanaryError):
    """A webhook or Action event payload lacks a field datacanary needs."""


def _walk(payload: Any, path: str) -> tuple[bool, Any]:
    node = payload
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _req(payload: Any, path: str, kind: type[T]) -> T:
    found, value = _walk(payload, path)
    if not found or value is None:
        raise EventError(f"event payload has no `{path}`", hint="is this the event datacanary expects?")
    # bool is an int in Python; a payload with `true` where an id belongs is still malformed
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise EventError(f"event payload field `{path}` is {type(value).__name__}, expected {kind.__name__}")
    return value


def _opt(payload: Any, path: str, kind: type[T]) -> T | None:
    found, value = _walk(payload, path)
    if not found or value is None:
        return None
    return _req(payload, path, kind)


@dataclass(frozen=True, slots=True)
class Repo:
    """The repository an event is about."""

    full_name: str
    id: int | None = None
    default_branch: str | None = None

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]


def _repo(payload: Any, path: str = "repository") -> Repo:
    full = _req(payload, f"{path}.full_name", str)
    if "/" not in full:
        raise EventError(f"event payload field `{path}.full_name` is not owner/name: {full!r}")
    return Repo(full, _opt(payload, f"{path}.id", int), _opt(payload, f"{path}.default_branch", str))


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
    | DeploymentProtectionRuleEvent
    | PingEvent
)


def _pull_numbers(payload: Any, path: str) -> tuple[int, ...]:
    found, value = _walk(payload, path)
    if not found or not isinstance(value, list):
        return ()
    return tuple(_req(pr, "number", int) for pr in value if isinstance(pr, Mapping))


def _pulls(payload: Any, path: str) -> tuple[PullRef, ...]:
    found, value = _walk(payload, path)
    if not found or not isinstance(value, list):
        return ()
    return tuple(
        PullRef(_req(pr, "number", int), _opt(pr, "base.sha", str), _opt(pr, "head.sha", str))
        for pr in value
        if isinstance(pr, Mapping)
    )


def _names(payload: Any, path: str) -> tuple[str, ...]:
    found, value = _walk(payload, path)
    if not found or not isinstance(value, list):
        return ()
    return tuple(_req(r, "full_name", str) for r in value if isinstance(r, Mapping))


def _pull_request(p: Any) -> PullRequestEvent:
    return PullRequestEvent(
        action=_req(p, "action", str),
        number=_req(p, "pull_request.number", int),
        repo=_repo(p),
        base_sha=_req(p, "pull_request.base.sha", str),
        base_ref=_req(p, "pull_request.base.ref", str),
        head_sha=_req(p, "pull_request.head.sha", str),
        head_ref=_req(p, "pull_request.head.ref", str),
        head_repo=_opt(p, "pull_request.head.repo.full_name", str),
        draft=bool(_opt(p, "pull_request.draft", bool)),
        merged=bool(_opt(p, "pull_request.merged", bool)),
        title=_opt(p, "pull_request.title", str) or "",
        installation_id=_opt(p, "installation.id", int),
        sender=_opt(p, "sender.login", str),
    )


def _merge_group(p: Any) -> MergeGroupEvent:
    return MergeGroupEvent(
        action=_req(p, "action", str),
        repo=_repo(p),
        head_sha=_req(p, "merge_group.head_sha", str),
        head_ref=_req(p, "merge_group.head_ref", str),
        base_sha=_req(p, "merge_group.base_sha", str),
        base_ref=_req(p, "merge_group.base_ref", str),
        installation_id=_opt(p, "installation.id", int),
    )


def _check_run(p: Any) -> CheckRunEvent:
    return CheckRunEvent(
        action=_req(p, "action", str),
        repo=_repo(p),
        check_run_id=_req(p, "check_run.id", int),
        name=_req(p, "check_run.name", str),
        head_sha=_req(p, "check_run.head_sha", str),
        external_id=_opt(p, "check_run.external_id", str) or None,
        requested_action=_opt(p, "requested_action.identifier", str),
        pull_numbers=_pull_numbers(p, "check_run.pull_requests"),
        app_id=_opt(p, "check_run.app.id", int),
        installation_id=_opt(p, "installation.id", int),
        sender=_opt(p, "sender.login", str),
        pulls=_pulls(p, "check_run.pull_requests"),
    )


def _check_suite(p: Any) -> CheckSuiteEvent:
    return CheckSuiteEvent(
        action=_req(p, "action", str),
        repo=_repo(p),
        check_suite_id=_req(p, "check_suite.id", int),
        head_sha=_req(p, "check_suite.head_sha", str),
        head_branch=_opt(p, "check_suite.head_branch", str),
        before=_opt(p, "check_suite.before", str),
        pull_numbers=_pull_numbers(p, "check_suite.pull_requests"),
        app_id=_opt(p, "check_suite.app.id", int),
        installation_id=_opt(p, "installation.id", int),
        pulls=_pulls(p, "check_suite.pull_requests"),
    )


def _installation(p: Any) -> InstallationEvent:
    return InstallationEvent(
        action=_req(p, "action", str),
        installation_id=_req(p, "installation.id", int),
        account=_req(p, "installation.account.login", str),
        repositories=_names(p, "repositories"),
    )


def _installation_repositories(p: Any) -> InstallationRepositoriesEvent:
    return InstallationRepositoriesEvent(
        action=_req(p, "action", str),
        installation_id=_req(p, "installation.id", int),
        account=_req(p, "installation.account.login", str),
        added=_names(p, "repositories_added"),
        removed=_names(p, "repositories_removed"),
    )


_RUN_ID = re.compile(r"/actions/runs/(\d+)/deployment_protection_rule/?$")


def _deployment_protection_rule(p: Any) -> DeploymentProtectionRuleEvent:
    callback = _req(p, "deployment_callback_url", str)
    match = _RUN_ID.search(callback)
    if match is None:
        raise EventError(f"event payload field `deployment_callback_url` has no run id: {callback!r}")
    return DeploymentProtectionRuleEvent(
        action=_req(p, "action", str),
        repo=_repo(p),
        environment=_req(p, "environment", str),
        event=_opt(p, "event", str),
        callback_url=callback,
        run_id=int(match.group(1)),
        sha=_opt(p, "deployment.sha", str),
        ref=_opt(p, "deployment.ref", str),
        deployment_id=_opt(p, "deployment.id", int),
        pull_numbers=_pull_numbers(p, "pull_requests"),
        installation_id=_opt(p, "installation.id", int),
        deployment_payload=_payload_object(_walk(p, "deployment.payload")[1]),
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
    return PingEvent(_opt(p, "zen", str), _opt(p, "hook_id", int), _opt(p, "hook.app_id", int))


PARSERS: Mapping[str, Callable[[Any], Event]] = {
    "pull_request": _pull_request,
    "merge_group": _merge_group,
    "check_run": _check_run,
    "check_suite": _check_suite,
    "installation": _installation,
    "installation_repositories": _installation_repositories,
    "deployment_protection_rule": _deployment_protection_rule,
    "ping": _ping,
}


def parse_workflow_run(payload: Any) -> WorkflowRunEvent:
    """Parse a `workflow_run` payload (the Action's `post` mode; the App ignores these events)."""
    if not isinstance(payload, Mapping):
        raise EventError("`workflow_run` event payload is not a JSON object")
    p = payload
    return WorkflowRunEvent(
        action=_req(p, "action", str),
        repo=_repo(p),
        run_id=_req(p, "workflow_run.id", int),
        event=_req(p, "workflow_run.event", str),
        head_sha=_req(p, "workflow_run.head_sha", str),
        head_repo=_opt(p, "workflow_run.head_repository.full_name", str),
        conclusion=_opt(p, "workflow_run.conclusion", str),
        pull_numbers=_pull_numbers(p, "workflow_run.pull_requests"),
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
