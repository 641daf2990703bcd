"""`alert`: a firing Alertmanager group stored by `POST /alerts` (a pseudo-event; GitHub never sends it).

Unlike the webhook handlers this one applies its own effects (through app.github.apply, inside
app.revert.respond.handle): what a revert opened must be recorded with the numbers GitHub returned, so
the next alert for the same breach updates that pull request instead of opening another.
"""

from __future__ import annotations

from typing import Any

import app.github.apply_revert  # noqa: F401  (registers the revert performers)
from app.service.alerting import ALERT_EVENT, group_of, process
from app.service.context import HandlerContext
from app.service.dispatch import Router

router = Router()


@router.register(ALERT_EVENT)
def on_alert(payload: dict[str, Any], ctx: HandlerContext) -> None:
    if ctx.stand_in():
        return
    process(group_of(payload), ctx)
