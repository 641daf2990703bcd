"""`installation` and `installation_repositories`: keep the list of installed repositories."""

from __future__ import annotations

from app.github.events import InstallationEvent, InstallationRepositoriesEvent
from app.service.context import HandlerContext
from app.service.dispatch import Router
from app.service.installations import Installations

router = Router()
router.ignore("installation", "new_permissions_accepted changes nothing datacanary keeps")


@router.register("installation", "created")
@router.register("installation", "deleted")
@router.register("installation", "suspend")
@router.register("installation", "unsuspend")
def on_installation(event: InstallationEvent, ctx: HandlerContext) -> None:
    store = Installations(ctx.db)
    if event.action == "deleted":
        store.delete(event.installation_id)
        return
    store.upsert(
        event.installation_id,
        event.account,
        ctx.clock(),
        suspended={"suspend": True, "unsuspend": False}.get(event.action),
    )
    if event.action == "created":
        store.add_repos(event.installation_id, event.repositories)


@router.register("installation_repositories", "added")
@router.register("installation_repositories", "removed")
def on_installation_repositories(event: InstallationRepositoriesEvent, ctx: HandlerContext) -> None:
    store = Installations(ctx.db)
    store.upsert(event.installation_id, event.account, ctx.clock())
    store.add_repos(event.installation_id, event.added)
    store.remove_repos(event.installation_id, event.removed)
