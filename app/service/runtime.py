"""The running service's parts, held on `app.state.service` and reached by routes through `service_of`
(FastAPI's request-scoped access, not module globals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from fastapi import Request

if TYPE_CHECKING:
    from app.config import Settings
    from app.github.auth import AppAuth
    from app.service.dispatch import Router
    from app.service.inbox import Inbox
    from app.service.ledgers import RepoLedgers
    from app.service.metrics import ServiceMetrics
    from app.service.processes import WorkerProcesses
    from app.service.worker import Workers
    from app.state import StateDB


@dataclass
class Service:
    settings: Settings
    db: StateDB
    inbox: Inbox
    router: Router
    metrics: ServiceMetrics
    workers: Workers
    auth: AppAuth | None = None
    pool: WorkerProcesses | None = None  # worker processes (the default); None: worker threads
    ledgers: RepoLedgers | None = None  # each repository's ledger database (the dashboard reads them)

    def wake(self) -> None:
        if self.pool is not None:
            self.pool.wake()
        else:
            self.workers.wake()

    def alive(self) -> int:
        """How many workers are running (processes or threads)."""
        return self.pool.alive() if self.pool is not None else self.workers.alive()


def service_of(request: Request) -> Service:
    """The Service of the app handling `request`."""
    # starlette's State holds untyped attributes; create_app stores the Service there
    return cast(Service, request.app.state.service)
