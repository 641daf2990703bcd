"""`repository` `renamed` and `transferred`: the repository keeps its ledgers, its installed-repository
row, its dashboard history and its acknowledgments under the new name (they are kept by name)."""

from __future__ import annotations

import logging

from app.github.events import RepositoryEvent
from app.service.context import HandlerContext
from app.service.dispatch import Router

router = Router()
router.ignore("repository", "only renames and transfers change where datacanary keeps a repository's state")
log = logging.getLogger("datacanary.ledgers")

# The App's own tables that name a repository: (table, column).
BY_NAME = (("installed_repos", "full_name"), ("gate_results", "repo"), ("acknowledgments", "repo"))


@router.register("repository", "renamed")
@router.register("repository", "transferred")
def on_moved(event: RepositoryEvent, ctx: HandlerContext) -> None:
    new, old = event.repo.full_name, event.previous
    if old is None or old == new:
        return
    if ctx.ledgers is not None:
        ctx.ledgers.move(old, new)
    with ctx.db.transaction() as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, column in BY_NAME:
            if table in tables:
                # OR IGNORE: a row the new name already has (installed_repos' key) wins over the old one
                conn.execute(
                    f'UPDATE OR IGNORE "{table}" SET "{column}" = ? WHERE lower("{column}") = lower(?)',
                    (new, old),
                )
                if old.lower() != new.lower():  # a change of case only: those rows are the updated ones
                    conn.execute(f'DELETE FROM "{table}" WHERE lower("{column}") = lower(?)', (old,))
    log.info("repository %s is now %s (%s): its state moved with it", old, new, event.action)
