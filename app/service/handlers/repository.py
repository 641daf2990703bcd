"""`repository` `renamed` and `transferred`: the repository keeps its ledgers, its installed-repository
row, its dashboard history and its acknowledgments under the new name (they are kept by name).

Renames are handled one at a time across the App's processes, and each is recorded (app.service.renames).
GitHub may deliver, and workers may take, two renames of one repository out of order (A to B, B to C);
the state goes to the repository's current name by the recorded moves, so B to C handled first (nothing
is at B yet) and A to B after it leave everything at C. `created` is recorded too: a new repository that
takes an old name holds it."""

from __future__ import annotations

import logging
import sqlite3

from app.github.events import RepositoryEvent
from app.service import renames
from app.service.context import HandlerContext
from app.service.dispatch import Router
from app.state import table_names

router = Router()
router.ignore(
    "repository", "only creations, renames and transfers change how datacanary names a repository's state"
)
log = logging.getLogger("datacanary.ledgers")

# The App's own tables that name a repository: (table, column). installed_repos is handled on its own.
BY_NAME = (("gate_results", "repo"), ("acknowledgments", "repo"))


@router.register("repository", "renamed")
@router.register("repository", "transferred")
def on_moved(event: RepositoryEvent, ctx: HandlerContext) -> None:
    new, old = event.repo.full_name, event.previous
    if old is None or old == new:
        return
    received = _received_at(ctx)
    blocker = _pending_move_from(ctx, event, new, received)
    if blocker is not None:
        from app.service.worker import Defer

        # its rows would be taken along with the other repository's, or its ledger would not move
        raise Defer(
            f"{new} was the name of {blocker}, whose rename is not handled yet: this one waits for it"
        )
    ledgers = ctx.ledgers
    assert ledgers is not None, "the context is built by app.service.wiring"
    with ledgers.renaming():
        name = _latest_name(ctx, event, new, old, received)
        ledgers.move(old, name)
        with ctx.db.transaction() as conn:
            tables = table_names(conn)
            for table, column in BY_NAME:
                if table in tables:
                    _rename(conn, table, column, old, name)
            if "installed_repos" in tables:
                _rename_installed(conn, event.installation_id, old, name)
    if name != new:
        log.info(
            "%s moved to %s; a later rename, handled first, named it %s: its state is there", old, new, name
        )
    log.info("repository %s is now %s (%s): its state moved with it", old, name, event.action)


@router.register("repository", "created")
def on_created(event: RepositoryEvent, ctx: HandlerContext) -> None:
    """A new repository holds its name, also when a renamed one had it before (alerts for it are its own)."""
    if event.repo.id is not None:
        renames.record(
            ctx.db,
            ctx.delivery_id or f"created-{event.repo.id}",
            event.repo.id,
            event.repo.full_name,
            event.repo.full_name,
            ctx.clock(),
        )


def _pending_move_from(ctx: HandlerContext, event: RepositoryEvent, name: str, received: float) -> str | None:
    """Another repository's rename or transfer away from `name`, received before this one and not yet
    handled (two repositories swapping names in one backlog): that repository's new name, or None.
    Only earlier ones are waited for, so two renames never wait for each other."""
    import json

    from app.github.events import EventError, parse_event

    conn = ctx.db.connect()
    for status in ("queued", "working"):  # each on its partial index
        rows = conn.execute(
            "SELECT body FROM inbox WHERE status = ? AND event = 'repository'"
            " AND action IN ('renamed', 'transferred') AND delivery_id IS NOT ? AND received_at < ?",
            (status, ctx.delivery_id, received),
        )
        for (body,) in rows:
            try:
                other = parse_event("repository", json.loads(body))
            except (ValueError, EventError):
                continue
            if (
                isinstance(other, RepositoryEvent)
                and other.previous is not None
                and other.previous.lower() == name.lower()
                and other.repo.id != event.repo.id
            ):
                return other.repo.full_name
    return None


def _received_at(ctx: HandlerContext) -> float:
    """When the App received this delivery (the inbox's record; the clock for a handler called directly)."""
    row = (
        ctx.db.connect()
        .execute("SELECT received_at FROM inbox WHERE delivery_id = ?", (ctx.delivery_id,))
        .fetchone()
    )
    return float(row[0]) if row is not None else ctx.clock()


def _latest_name(ctx: HandlerContext, event: RepositoryEvent, new: str, old: str, received: float) -> str:
    """Records this rename; the repository's name now: `new`, unless a later rename was handled first."""
    if event.repo.id is None:
        return new
    return renames.record(ctx.db, ctx.delivery_id or f"at-{received}", event.repo.id, old, new, received)


def _rename(conn: sqlite3.Connection, table: str, column: str, old: str, new: str) -> None:
    if old == new:
        return
    # OR IGNORE: a row the new name already has (a table's key) wins over the old one
    conn.execute(
        f'UPDATE OR IGNORE "{table}" SET "{column}" = ? WHERE lower("{column}") = lower(?)', (new, old)
    )
    if old.lower() != new.lower():  # a change of case only: those rows are the updated ones
        conn.execute(f'DELETE FROM "{table}" WHERE lower("{column}") = lower(?)', (old,))


def _rename_installed(conn: sqlite3.Connection, installation_id: int | None, old: str, new: str) -> None:
    """No repository has the old name any more, so every installation's row for it goes (after a
    transfer, the old owner's installation no longer covers it). The new name is covered by the event's
    installation (GitHub sent it the event) unless a row has it already: a later move, handled first,
    gave it its installation."""
    if old == new:
        return
    if installation_id is None:  # no installation in the payload: every row is renamed
        _rename(conn, "installed_repos", "full_name", old, new)
        return
    conn.execute("DELETE FROM installed_repos WHERE lower(full_name) = lower(?)", (old,))
    conn.execute(
        "INSERT INTO installed_repos (installation_id, full_name)"
        " SELECT installation_id, ? FROM installations WHERE installation_id = ?"
        " AND NOT EXISTS (SELECT 1 FROM installed_repos WHERE lower(full_name) = lower(?))",
        (new, installation_id, new),
    )
