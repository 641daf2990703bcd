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
from app.service.context import HandlerContext, PortFactory, default_run_check
from app.service.dispatch import Router, discover
from app.service.inbox import Delivery, Inbox
from app.service.metrics import MetricsRelay, ServiceMetrics
from app.service.runtime import Service
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
    db = StateDB(settings.state)
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
    service = Service(settings, db, inbox, workers.router, metrics, workers, auth, pool)

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


def wiring(
    settings: Settings,
    db: StateDB,
    metrics: ServiceMetrics | MetricsRelay,
    *,
    github: PortFactory | None = None,
    repo_checkout: Callable[[int | None, str, Sequence[str]], Path] | None = None,
    run_check: Callable[..., Any] | None = None,
    clock: Callable[[], float] | None = None,
    alerts: AlertWiring | None = None,
    apply_kwargs: dict[str, Any] | None = None,
) -> tuple[HandlerContext, Any]:
    """What handlers get (and the App's authentication, None when everything is injected): real GitHub
    clients, git checkouts and engine unless given. Built the same way in the service process and in
    every worker process."""
    import time

    auth = None
    if github is None or repo_checkout is None:
        from app.github.auth import AppAuth

        auth = AppAuth(
            settings.app_id,
            settings.private_key_pem(),
            settings.api_url,
            on_response=lambda r: metrics.token_response(r.status_code, dict(r.headers)),
        )
    if github is None:
        github = _github_ports(settings, auth)
    if repo_checkout is None:
        from app.service.checkout import RepoCache

        assert auth is not None
        app_auth = auth
        cache = RepoCache(
            settings.repo_cache,
            settings.git_url_template,
            lambda inst: app_auth.installation_token(_need_installation(inst)),
            api_url=settings.api_url,
            depth=settings.fetch_depth,
        )
        repo_checkout = cache.checkout
    if alerts is None and auth is not None:
        alerts = _alert_wiring(settings, auth, retry=(apply_kwargs or {}).get("retry"))
    ctx = HandlerContext(
        settings=settings,
        db=db,
        github=github,
        repo_checkout=repo_checkout,
        run_check=run_check or default_run_check,
        clock=clock or time.time,
        alerts=alerts,
    )
    return ctx, auth


def settings_hook(settings: Settings) -> Callable[[Delivery, int], None] | None:
    """The worker hook DATACANARY_TEST_HOOK asks for (`block:EVENT`), if any."""
    if settings.test_hook and settings.test_hook.startswith("block:"):
        return _blocking_hook(settings.test_hook.removeprefix("block:"))
    return None


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


def _need_installation(installation_id: int | None) -> int:
    from app.errors import GitHubError

    if installation_id is None:
        raise GitHubError(
            "the event carries no installation id, so the app cannot authenticate for it",
            hint="events must come from a GitHub App installation (not a repository webhook)",
        )
    return installation_id


def _github_ports(settings: Settings, auth: Any, *, revert: bool = False) -> PortFactory:
    """Ports over PyGithub, authenticated with the installation's (cached) token; `revert`: RevertClients."""

    def port(installation_id: int | None, full_name: str) -> Any:
        from app.github.client import GitHubClient

        client = GitHubClient
        if revert:  # importing apply_revert also registers the revert performers
            from app.github.apply_revert import RevertClient

            client = RevertClient
        token = auth.installation_token(_need_installation(installation_id))
        return client(
            full_name,
            token=token,
            base_url=settings.api_url,
            seconds_between_requests=settings.seconds_between_requests,
            seconds_between_writes=settings.seconds_between_writes,
            retry=settings.github_retry,
        )

    return port


def _alert_wiring(settings: Settings, auth: Any, retry: Any = None) -> AlertWiring:
    """Alerts through full-history workspaces (the cache's git URL template and token) and RevertClients."""
    import datetime as dt

    from app.errors import ConfigError
    from app.service.checkout import RepoCache
    from app.service.workspace import Workspaces
    from app.slo.durations import seconds

    try:
        suppression = seconds(settings.alerts_suppression)
    except ConfigError as err:
        raise ConfigError(f"DATACANARY_ALERTS_SUPPRESSION: {err.message}", hint=err.hint) from None
    urls = RepoCache(
        settings.repo_cache,
        settings.git_url_template,
        lambda inst: str(auth.installation_token(_need_installation(inst))),
        api_url=settings.api_url,
    )
    return AlertWiring(
        workspace=Workspaces(settings.alerts_workspace, urls.url).update,
        revert_port=_github_ports(settings, auth, revert=True),
        suppression=dt.timedelta(seconds=suppression),
        retry=retry,  # the applier's RetryPolicy, as for webhook effects (apply_kwargs)
        find_installation=auth.repository_installation,
    )


def _blocking_hook(event: str) -> Callable[[Delivery, int], None]:
    """Test-only: hang forever before the second batch of `event`'s effects (the crash test kills us)."""
    import threading

    def hook(delivery: Delivery, index: int) -> None:
        if delivery.event == event and index == 1 and delivery.attempts == 1:
            threading.Event().wait()

    return hook
