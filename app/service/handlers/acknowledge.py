"""The "Acknowledge breaking change" button on a failing contract check (`check_run.requested_action`):
a user with write access accepts the head commit's breaking changes. The acknowledgment is recorded
(who, when, which pull request and head) and the gate runs again so the report shows it."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from app.effects import Effect
from app.github.events import CheckRunEvent
from app.report.effects import ACK_ACTION
from app.service.acks import Acknowledgments
from app.service.context import HandlerContext
from app.service.dispatch import Router
from app.service.gating import Target, gate
from app.service.handlers.checks import find_pull, is_ours, rerun_key

WRITERS = frozenset({"admin", "write"})  # `permission` folds maintain into write and triage into read

log = logging.getLogger("datacanary.service")
router = Router()


@router.register("check_run", "requested_action", work_key=rerun_key)
def on_requested_action(event: CheckRunEvent, ctx: HandlerContext) -> Iterator[Sequence[Effect]]:
    pull = find_pull(event, ctx)
    if (
        event.requested_action != ACK_ACTION.identifier
        or not is_ours(event, ctx)
        or pull is None
        or pull.base_sha is None
    ):
        return
    repo = event.repo.full_name
    if event.sender is None:
        log.warning("acknowledgment on %s@%s without a sender: ignored", repo, event.head_sha[:12])
        return
    # https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user
    permission = ctx.github(event.installation_id, repo).collaborator_permission(event.sender)
    if permission not in WRITERS:
        log.warning(
            "%s (permission %r) may not acknowledge breaking changes on %s#%d",
            event.sender,
            permission,
            repo,
            pull.number,
        )
        return
    Acknowledgments(ctx.db).record(
        repo, pull.number, event.head_sha, event.sender, ctx.clock(), ctx.delivery_id
    )
    yield from gate(Target(repo, event.installation_id, pull.base_sha, event.head_sha, pull.number), ctx)
