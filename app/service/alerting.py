"""Alerts in the GitHub App: `POST /alerts` stores each firing (repository, environment) group in the
durable inbox as a pseudo-event `alert`, and a worker turns it into the one revert pull request (or
conflict issue): a full-history workspace of the repository, the SLO evaluation against the
environment's data, the culprit search over the repository's promotion ledger in the App (app.service.ledgers), and the
revert opened with the installation token (an App token, so the pull request's workflows run).

A crash mid-work leaves the delivery's lease to expire and the alert is handled again; incidents kept in
the same ledger database make that (and Alertmanager's repeated notifications) update the incident
instead of opening another pull request.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.errors import ConfigError, GitHubError
from app.revert.alerts import AlertGroup
from app.revert.respond import DEFAULT_SUPPRESSION
from app.service.inbox import Delivery, Inbox
from app.service.installations import Installations

if TYPE_CHECKING:
    from app.github.apply import RetryPolicy
    from app.revert.respond import Handled
    from app.service.context import HandlerContext
    from app.service.workspace import Workspace
    from app.state import StateDB

ALERT_EVENT = "alert"  # never sent by GitHub: only POST /alerts stores it
log = logging.getLogger("datacanary.alerts")


@dataclass(frozen=True)
class AlertWiring:
    """What handling an alert needs besides the HandlerContext (built by create_app from the settings)."""

    workspace: Callable[[int, str], Workspace]  # (installation, owner/repo) -> full-history checkout
    revert_port: Callable[[int, str], Any]  # (installation, owner/repo) -> RevertPort on the App's token
    suppression: dt.timedelta = DEFAULT_SUPPRESSION
    retry: RetryPolicy | None = None
    # owner/repo -> (installation id, account) asked of GitHub, for a repository the table does not know
    find_installation: Callable[[str], tuple[int, str] | None] | None = None
    _locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def lock(self, full_name: str) -> threading.Lock:
        """One alert per repository at a time: its workspace is checked out anew for each, and two
        workers planning the same breach at once would both find no incident and open two reverts."""
        with self._guard:
            return self._locks.setdefault(full_name.lower(), threading.Lock())


def refusal(
    db: StateDB, group: AlertGroup, find: Callable[[str], tuple[int, str] | None] | None = None
) -> str | None:
    """Why the App will not act on `group` (None: it will): the repository must be one it is installed on,
    by the installed-repositories table or, when given, by asking GitHub (`find`: the App's JWT)."""
    from app.state import repo_parts

    if repo_parts(group.repository) is None:
        return (
            f"{group.repository!r} is not a repository name (owner/repo): fix the alert's `repository` label"
        )
    store = Installations(db)
    if store.installation_for(group.repository) is None:
        from app.service.renames import renamed_to

        now = renamed_to(db, group.repository)
        if now is not None:
            return f"{group.repository} was renamed to {now}: change the alert's `repository` label to {now}"
    if store.installation_for(group.repository) is None and find is not None:
        found = find(group.repository)
        if found is not None:
            # installed before this state database saw the installation events: remember it as they would
            installation, account = found
            store.upsert(installation, account, time.time())
            store.add_repos(installation, [group.repository])
    if store.installation_for(group.repository) is None:
        return (
            f"{group.repository} is not a repository this GitHub App is installed on (or its installation "
            f"is suspended); install the app there or fix the alert's `repository` label"
        )
    return None


def enqueue(inbox: Inbox, group: AlertGroup, now: float | None = None) -> str:
    """Store `group` as an `alert` delivery (durable before the answer); returns the delivery id."""
    delivery_id = f"alert-{uuid.uuid4()}"
    body = {
        "repository": group.repository,
        "environment": group.environment,
        "datasets": sorted(group.datasets),
        "slis": sorted(group.slis),
        "names": list(group.names),
    }
    inbox.add(
        Delivery(
            delivery_id=delivery_id,
            event=ALERT_EVENT,
            action=None,
            body=json.dumps(body).encode(),
            work_key=f"alert:{group.repository}:{group.environment}",
            received_at=time.time() if now is None else now,
        )
    )
    return delivery_id


def group_of(body: dict[str, Any]) -> AlertGroup:
    """The AlertGroup stored by `enqueue`."""
    return AlertGroup(
        repository=str(body["repository"]),
        environment=str(body["environment"]),
        datasets=frozenset(body.get("datasets") or ()),
        slis=frozenset(body.get("slis") or ()),
        names=tuple(body.get("names") or ("alert",)),
    )


def process(group: AlertGroup, ctx: HandlerContext) -> Handled | None:
    """Evaluate, find the culprit, open or update the revert; raises to have the worker retry or fail."""
    wiring = ctx.alerts
    if wiring is None:
        raise ConfigError(
            "this service is not wired for alerts",
            hint="run the service with `datacanary serve` (create_app wires alerts from the settings)",
        )
    installation = Installations(ctx.db).installation_for(group.repository)
    if installation is None:  # uninstalled between the alert's answer and its processing
        raise GitHubError(refusal(ctx.db, group) or group.repository)
    with wiring.lock(group.repository):
        return _handle(group, ctx, wiring, installation)


def _handle(group: AlertGroup, ctx: HandlerContext, wiring: AlertWiring, installation: int) -> Handled | None:
    from app.revert.alerts import local_processor
    from app.service.worker import Retry

    workspace = wiring.workspace(installation, group.repository)
    port = wiring.revert_port(installation, group.repository)
    processor = local_processor(
        workspace.path,
        group.repository,
        project_root=ctx.settings.project_dir,
        default_branch=workspace.branch,
        # the repository's own ledgers: promotions, runs, evaluations, incidents
        state=str(ctx.ledger(group.repository).path),
        port_for=lambda _repo: port,
        clock=lambda: dt.datetime.fromtimestamp(ctx.clock(), dt.UTC),
        suppression=wiring.suppression,
        retry=wiring.retry,
    )
    handled: Handled | None = processor(group)  # type: ignore[assignment]
    if handled is None or handled.applied is None:
        log.info("alert for %s %s: nothing breached to act on", group.repository, group.environment)
        return handled
    for plan in handled.plans:
        number = handled.applied.check_runs.get(f"revert:{plan.fingerprint}")
        opened = f" #{number}" if number else ""
        log.info("alert for %s %s: %s%s", group.repository, group.environment, plan.kind, opened)
    failed = handled.applied.failed
    Retry.raise_for(failed)
    if failed:
        raise GitHubError(
            "; ".join(f.error for f in failed),
            hint="check the app's permissions: contents, pull requests and issues need write access",
        )
    return handled
