"""What a runner hands the Action: `GITHUB_*` variables, the event file, and `INPUT_*` inputs, parsed once
into typed values; and which revisions to compare for the triggering event.
https://docs.github.com/actions/reference/variables-reference
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import DatacanaryError, UsageError
from app.github.events import CheckRunEvent, EventError, MergeGroupEvent, PullRequestEvent, parse_event
from app.report.effects import ACK_ACTION

FAIL_ON = ("breaking", "canary", "warning", "never")
MODES = ("pr", "post", "promote", "slo")


def input_value(env: Mapping[str, str], name: str, default: str = "") -> str:
    """An action input: `INPUT_FAIL-ON` as a JavaScript action would get it, or `INPUT_FAIL_ON` as our
    composite action.yml passes it."""
    upper = name.upper()
    for key in (f"INPUT_{upper}", f"INPUT_{upper.replace('-', '_')}"):
        value = env.get(key, "").strip()
        if value:
            return value
    return default


def _flag(value: str, name: str) -> bool:
    if value.lower() in ("true", "yes", "1", "on"):
        return True
    if value.lower() in ("false", "no", "0", "off"):
        return False
    raise UsageError(f"input `{name}` is {value!r}", hint="use true or false")


@dataclass(frozen=True, slots=True)
class ActionEnv:
    event_name: str
    event_path: Path | None
    repository: str
    api_url: str
    server_url: str
    run_id: str | None
    workspace: Path
    output_path: Path | None
    summary_path: Path | None
    temp_dir: Path
    token: str
    project: str
    base: str
    head: str
    fail_on: str
    comment: bool
    mode: str
    fast: bool  # no client-side throttling (tests against a loopback GitHub)
    dry_run: bool = False  # print what would be posted instead of posting it
    manifest: Path | None = None  # dbt: head and base manifest.json, compiled by the workflow
    base_manifest: Path | None = None
    engine: str = ""  # duckdb | postgres | spark; "": datacanary.yml's `engine`

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ActionEnv:
        """Read the runner environment; a wrong input is a UsageError naming it."""
        fail_on = input_value(env, "fail-on", "canary").lower()
        if fail_on not in FAIL_ON:
            raise UsageError(f"input `fail-on` is {fail_on!r}", hint=f"use one of: {', '.join(FAIL_ON)}")
        mode = input_value(env, "mode", "pr").lower()
        if mode not in MODES:
            raise UsageError(f"input `mode` is {mode!r}", hint=f"use one of: {', '.join(MODES)}")
        engine = input_value(env, "engine").lower()
        if engine:
            from app.engines import check_kind

            try:
                check_kind(engine)
            except DatacanaryError as exc:
                raise UsageError(f"input `engine` is {engine!r}", hint=exc.hint) from None
        repository = env.get("GITHUB_REPOSITORY", "")
        if "/" not in repository:
            raise UsageError("GITHUB_REPOSITORY is not set", hint="run the Action on a GitHub runner")
        workspace = Path(env.get("GITHUB_WORKSPACE") or ".").resolve()
        from app.config import github_api_url

        def path(key: str) -> Path | None:
            return Path(env[key]) if env.get(key) else None

        return cls(
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event_path=path("GITHUB_EVENT_PATH"),
            repository=repository,
            api_url=github_api_url(env),
            server_url=env.get("GITHUB_SERVER_URL") or "https://github.com",
            run_id=env.get("GITHUB_RUN_ID") or None,
            workspace=workspace,
            output_path=path("GITHUB_OUTPUT"),
            summary_path=path("GITHUB_STEP_SUMMARY"),
            temp_dir=Path(env.get("RUNNER_TEMP") or workspace / ".datacanary"),
            token=input_value(env, "github-token") or env.get("GITHUB_TOKEN", ""),
            project=input_value(env, "project", "."),
            base=input_value(env, "base"),
            head=input_value(env, "head"),
            fail_on=fail_on,
            comment=_flag(input_value(env, "comment", "true"), "comment"),
            mode=mode,
            fast=env.get("DATACANARY_GITHUB_THROTTLE", "").lower() == "off",
            dry_run=_flag(input_value(env, "dry-run", "false"), "dry-run"),
            manifest=workspace / m if (m := input_value(env, "manifest")) else None,
            base_manifest=workspace / b if (b := input_value(env, "base-manifest")) else None,
            engine=engine,
        )

    @property
    def details_url(self) -> str | None:
        """The workflow run page, linked from check runs and the comment."""
        if not self.run_id:
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"

    def payload(self) -> dict[str, Any]:
        if self.event_path is None or not self.event_path.is_file():
            return {}
        try:
            data = json.loads(self.event_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise EventError(f"GITHUB_EVENT_PATH {self.event_path} is not JSON: {exc}") from None
        return data if isinstance(data, dict) else {}


@dataclass(frozen=True, slots=True)
class Target:
    """What to compare and where to report: base and head revisions, the PR (if any), and whether the
    token can be expected to write (not under a fork's `pull_request`)."""

    base: str
    head: str
    pr_number: int | None
    fork: bool
    reason: str  # how base/head were chosen, for the log
    ack_by: str | None = None  # who pressed "Acknowledge breaking" (a check_run requested_action)


def target_for(action: ActionEnv, payload: Mapping[str, Any]) -> Target:
    """Base/head per event: a PR's base and head shas, a merge group's base and head (checks must land on
    the merge group head, or the queue stalls), explicit `base`/`head` inputs for anything else."""
    name = action.event_name
    if name in ("pull_request", "pull_request_target"):
        pr = parse_event("pull_request", payload)
        assert isinstance(pr, PullRequestEvent)
        if name == "pull_request_target" and pr.is_fork:
            raise UsageError(
                "refusing to run a fork's SQL under pull_request_target (its token can write)",
                hint="run on `pull_request`, post from a `workflow_run` job (docs/action.md: Forks)",
            )
        fork = name == "pull_request" and pr.is_fork
        return Target(
            action.base or pr.base_sha,
            action.head or pr.head_sha,
            pr.number,
            fork,
            f"pull request #{pr.number}",
        )
    if name == "check_run":
        return _acknowledged(action, payload)
    if name == "merge_group":
        mg = parse_event("merge_group", payload)
        assert isinstance(mg, MergeGroupEvent)
        return Target(action.base or mg.base_sha, action.head or mg.head_sha, None, False, "merge group")
    base = action.base or (str(payload.get("before", "")) if name == "push" else "")
    if not base or set(base) == {"0"}:  # a new branch's push has before = 000…0
        raise UsageError(
            f"no base revision for a `{name or 'unknown'}` event",
            hint="pass the `base` input (a branch, tag or sha), e.g. base: main",
        )
    return Target(base, action.head or "HEAD", None, False, f"{name or 'manual'} event")


def _acknowledged(action: ActionEnv, payload: Mapping[str, Any]) -> Target:
    """The "Acknowledge breaking" button of a datacanary check run: re-gate that commit with its breaking
    changes accepted by the person who pressed it (the caller checks they may write)."""
    event = parse_event("check_run", payload)
    assert isinstance(event, CheckRunEvent)
    if event.action != "requested_action" or event.requested_action != ACK_ACTION.identifier:
        raise NothingToDo(f"check_run {event.action} ({event.requested_action or 'no button'}) is not ours")
    pull = next((p for p in event.pulls if p.head_sha == event.head_sha and p.base_sha), None)
    if pull is None or pull.base_sha is None:
        raise UsageError(
            f"the acknowledged check run on {event.head_sha[:12]} lists no open pull request",
            hint="GitHub does not list fork pull requests here: accept with a major version or a waiver",
        )
    if not event.sender:
        raise UsageError("the check_run event names no sender to record the acknowledgment for")
    return Target(
        pull.base_sha, event.head_sha, pull.number, False, f"acknowledgment by @{event.sender}", event.sender
    )


class NothingToDo(Exception):
    """The event is not one this mode acts on (exit 0, after saying so)."""
