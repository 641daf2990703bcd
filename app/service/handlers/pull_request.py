"""`pull_request`: gate every new head of a pull request (drafts wait until they are ready), and again
when it is retargeted to another base branch (`edited` with `changes.base`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from app.effects import Effect
from app.github.events import PullRequestEvent
from app.service.context import HandlerContext
from app.service.dispatch import Router, WorkKey
from app.service.gating import Target, gate
from app.service.inbox import Inbox

router = Router()
router.ignore(
    "pull_request",
    "only opened, synchronize, reopened, ready_for_review and a base change (edited) change what is gated",
)


def pr_key(repo: str, number: int) -> str:
    """The work key of a pull request: newer heads of it supersede older ones."""
    return f"{repo}#{number}"


def pr_number(work_key: str | None) -> int | None:
    """The pull request number of a `pr_key`, or None for another work key."""
    _, sep, number = (work_key or "").rpartition("#")
    return int(number) if sep and number.isdigit() else None


def _work(event: PullRequestEvent, inbox: Inbox | None) -> WorkKey:
    return WorkKey(
        pr_key(event.repo.full_name, event.number), event.head_sha, sets_head=True, head_at=event.updated_at
    )


@router.register("pull_request", "opened", work_key=_work)
@router.register("pull_request", "synchronize", work_key=_work)
@router.register("pull_request", "reopened", work_key=_work)
@router.register("pull_request", "ready_for_review", work_key=_work)
@router.register("pull_request", "edited", work_key=_work)
def on_pull_request(event: PullRequestEvent, ctx: HandlerContext) -> Iterator[Sequence[Effect]]:
    if event.draft:
        return  # a draft is gated once it is marked ready for review
    if event.action == "edited" and not event.base_changed:
        return  # a title or body edit: what is compared stays the same
    yield from gate(
        Target(event.repo.full_name, event.installation_id, event.base_sha, event.head_sha, event.number), ctx
    )
