"""`create_app(settings)`: the FastAPI app of the GitHub App. Everything it needs is built here from the
settings (or injected by tests); workers start and stop with the app's lifespan."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI

from app.config import Settings
from app.errors import ConfigError
from app.service.alerting import AlertWiring
from app.service.context import PortFactory
from app.service.dispatch import Router, discover
from app.service.inbox import Delivery, Inbox
from app.service.metrics import ServiceMetrics
from app.service.runtime import Service
from app.service.wiring import settings_hook, wiring
from app.service.worker import Workers
from app.state import StateDB


def create_app(
    settings: Settings,
    *,
    github: PortFactory | None = None,
    repo_checkout: Callable[[int | None, str, Sequence[str]], Path] | None = None,
    run_check: Callable[..., Any] | None = None,
    clock: Callable[[], float] | None = None,
    router: Router | None = None,
    apply_kwargs: dict[str, Any] | None = None,
    hook: Callable[[Delivery, int], None] | None = None,
    alerts: AlertWiring | None = None,
) -> FastAPI:
    """The service app. Keyword arguments replace the real GitHub, git, engine and clock in tests (they
    reach worker threads only: set `worker_mode="thread"`)."""
    injected = (github, repo_checkout, run_check, clock, router, apply_kwargs, hook)
    processes = settings.worker_mode == "process" and settings.workers > 0
    if processes and any(part is not None for part in injected):
        raise ConfigError(
            "worker processes build their GitHub clients, checkouts and engine from the settings",
            hint="pass worker_mode='thread' to create_app's settings to inject test doubles",
        )
    # the acknowledgment path never copies the WAL: _checkpoints does, once a second
    db = StateDB(settings.state, autocheckpoint=False)
    inbox = Inbox(db)
    metrics = ServiceMetrics(queue_depth=inbox.depth)
    ctx, auth = wiring(
        settings,
        db,
        metrics,
        github=github,
        repo_checkout=repo_checkout,
        run_check=run_check,
        clock=clock,
        alerts=alerts,
        apply_kwargs=apply_kwargs,
    )
    if ctx.ledgers is not None:  # before any worker reads a repository's ledger
        ctx.ledgers.adopt_legacy()
    # in process mode these never start: the routes use their router and context (POST /alerts)
    workers = Workers(
        inbox,
        router or discover(),
        ctx,
        metrics,
        apply_kwargs=apply_kwargs,
        hook=hook or settings_hook(settings),
    )
    pool = None
    if processes:
        from app.service.processes import WorkerProcesses

        pool = WorkerProcesses(settings, metrics)
    service = Service(settings, db, inbox, workers.router, metrics, workers, auth, pool, ctx.ledgers)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        import threading

        stopping = threading.Event()
        checkpoints = threading.Thread(
            target=_checkpoints, args=(inbox, stopping), name="datacanary-checkpoint", daemon=True
        )
        checkpoints.start()
        if pool is not None:
            pool.start(settings.workers)
        else:
            workers.start(settings.workers)
        try:
            yield
        finally:
            if pool is not None:
                pool.stop()
            workers.stop()
            stopping.set()
            checkpoints.join(5)
            if auth is not None:
                auth.close()

    app = FastAPI(title="datacanary", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service
    for api_router in _route_modules():
        app.include_router(api_router)
    return app


def _checkpoints(inbox: Inbox, stopping: Any, interval: float = 1.0) -> None:
    """The WAL checkpoints the acknowledgment path does not run (Inbox.add), once per `interval`."""
    import logging

    while not stopping.wait(interval):
        try:
            inbox.checkpoint()
        except Exception:  # noqa: BLE001 - e.g. a locked database: the next round tries again
            logging.getLogger("datacanary.service").exception("WAL checkpoint failed")


def _route_modules(package: str = "app.service.routes") -> list[APIRouter]:
    root = importlib.import_module(package)
    found = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        router = getattr(importlib.import_module(f"{package}.{info.name}"), "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found
