"""What the promote and rollback fronts (CLI and Action) share: building the Context from the
environment, and rendering an Outcome."""

from __future__ import annotations

import datetime as dt
import getpass
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from app.promotion.ledger import Ledger
from app.promotion.release import Context, Outcome
from app.promotion.store import ArtifactStore
from app.report.env import render
from app.state import DEFAULT_STATE, REPOSITORY, StateDB, resolve_state

STATE_ENV = "DATACANARY_STATE"


def state_path(explicit: str | None, env: Mapping[str, str] | None = None) -> Path:
    """--state, else $DATACANARY_STATE, else the default; `{repository}` in it is $GITHUB_REPOSITORY."""
    from app.errors import UsageError

    environ = os.environ if env is None else env
    given = explicit or environ.get(STATE_ENV) or DEFAULT_STATE
    try:
        return resolve_state(given, environ.get("GITHUB_REPOSITORY"))
    except ValueError as exc:
        raise UsageError(
            str(exc),
            hint=f"set GITHUB_REPOSITORY=owner/repo (Actions sets it), or give a state path without {REPOSITORY}",
        ) from None


def context_for(
    project_dir: str,
    state: str | None,
    actor: str | None,
    commit: str | None,
    progress: Callable[[str], None] | None,
    env: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
) -> tuple[Context, StateDB]:
    """A promotion Context over the state database (the artifact store sits next to it)."""
    environ = os.environ if env is None else env
    path = state_path(state, environ)
    db = StateDB(path)
    when = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    ctx = Context(
        ledger=Ledger(db),
        store=ArtifactStore(path.parent / "artifacts"),
        project_dir=Path(project_dir).resolve(),
        actor=actor or environ.get("GITHUB_ACTOR") or _user(),
        at=when.isoformat(timespec="seconds").replace("+00:00", "Z"),
        commit_sha=commit or environ.get("GITHUB_SHA"),
        progress=progress,
    )
    return ctx, db


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "decision": outcome.decision.to_json(),
        "parity": outcome.parity.to_json() if outcome.parity else None,
        "canary": outcome.canary.to_json() if outcome.canary else None,
        "ledger_entry": outcome.entry.to_json() if outcome.entry else None,
        "dry_run": outcome.dry_run,
    }


def render_outcome(outcome: Outcome, fmt: str = "text") -> str:
    template = "promotion/promote.md.j2" if fmt == "markdown" else "promotion/promote.txt.j2"
    return render(
        template, outcome=outcome, canary=outcome.canary, parity=outcome.parity, result=outcome.parity
    )
