"""Re-runs and merge queues: `check_run` / `check_suite` `rerequested` gate the same head again (new
check runs with the same names); `merge_group` `checks_requested` gates the queue's temporary head so
the merge queue does not stall waiting for a required check."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from app.effects import Effect
from app.github.events import (
    CheckRunEvent,
    CheckSuiteEvent,
    MergeGroupEvent,
    PullRef,
    PullRequestEvent,
    parse_event,
)
from app.service.context import HandlerContext
from app.service.dispatch import Router, WorkKey
from app.service.gating import Target, gate
from app.service.handlers.pull_request import pr_key
from app.service.inbox import Inbox

router = Router()
router.ignore("check_run", "created and completed report other runs' progress; datacanary acts on re-runs")
router.ignore("check_suite", "pull_request events start datacanary's runs; only re-runs are acted on")
router.ignore("merge_group", "destroyed: the queue dropped the group, there is nothing left to report on")


def pull_for(pulls: Sequence[PullRef], head_sha: str) -> PullRef | None:
    """The pull request whose head is `head_sha` (a commit can head several; take the first)."""
    return next((p for p in pulls if p.head_sha == head_sha and p.base_sha), None)


def find_pull(event: CheckRunEvent | CheckSuiteEvent, ctx: HandlerContext) -> PullRef | None:
    """The event's pull request."""
    return _find_pull(event, Inbox(ctx.db))


def _find_pull(event: CheckRunEvent | CheckSuiteEvent, inbox: Inbox) -> PullRef | None:
    """The pull request headed by the event's commit; else (a fork's PR, which GitHub leaves out of check
    payloads, or an older commit of a PR, listed with the PR's current head) the one whose
    pull_request delivery brought this head."""
    pull = pull_for(event.pulls, event.head_sha)
    if pull is not None:
        return pull
    body = inbox.pull_request_body(event.repo.full_name, event.head_sha)
    if body is None:
        return None
    pr = parse_event("pull_request", json.loads(body))
    assert isinstance(pr, PullRequestEvent)
    return PullRef(pr.number, pr.base_sha, pr.head_sha)


def rerun_key(event: CheckRunEvent | CheckSuiteEvent, inbox: Inbox | None) -> WorkKey | None:
    """The pull request's key with the re-run head: a re-run of a commit the PR no longer heads is
    superseded, so it never replaces the current head's comment."""
    pull = pull_for(event.pulls, event.head_sha) if inbox is None else _find_pull(event, inbox)
    if pull is None:
        # a PR GitHub lists by its branch (its head moved on): its number is what supersedes
        pull = next(iter(event.pulls), None)
    if pull is None:
        return None
    return WorkKey(pr_key(event.repo.full_name, pull.number), event.head_sha)


def is_ours(event: CheckRunEvent | CheckSuiteEvent, ctx: HandlerContext) -> bool:
    return event.app_id is None or event.app_id == ctx.settings.app_id


def rerun(event: CheckRunEvent | CheckSuiteEvent, ctx: HandlerContext) -> Iterator[Sequence[Effect]]:
    """Gate the event's head again against its pull request's base."""
    pull = find_pull(event, ctx)
    if pull is None or pull.base_sha is None or not is_ours(event, ctx):
        return  # not a pull request's head (or another app's run): nothing to compare against
    yield from gate(
        Target(event.repo.full_name, event.installation_id, pull.base_sha, event.head_sha, pull.number), ctx
    )


@router.register("check_run", "rerequested", work_key=rerun_key)
def on_check_run_rerequested(event: CheckRunEvent, ctx: HandlerContext) -> Iterator[Sequence[Effect]]:
    yield from rerun(event, ctx)


@router.register("check_suite", "rerequested", work_key=rerun_key)
def on_check_suite_rerequested(event: CheckSuiteEvent, ctx: HandlerContext) -> Iterator[Sequence[Effect]]:
    yield from rerun(event, ctx)


def _merge_key(event: MergeGroupEvent, inbox: Inbox | None) -> WorkKey:
    return WorkKey(f"{event.repo.full_name}@{event.head_ref}", event.head_sha)


@router.register("merge_group", "checks_requested", work_key=_merge_key)
def on_merge_group(event: MergeGroupEvent, ctx: HandlerContext) -> Iterator[Sequence[Effect]]:
    yield from gate(Target(event.repo.full_name, event.installation_id, event.base_sha, event.head_sha), ctx)
