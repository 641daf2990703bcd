"""What handlers are given, built from the settings (or injected by tests): the GitHub clients, the git
checkouts, the engine, the alert wiring. The web process and every worker process build it alike; no
FastAPI here, so a worker process does not import it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.config import Settings
from app.service.alerting import AlertWiring
from app.service.context import HandlerContext, PortFactory, default_run_check
from app.service.inbox import Delivery
from app.service.metrics import MetricsRelay, ServiceMetrics
from app.state import StateDB


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
    from app.service.ledgers import RepoLedgers

    ctx = HandlerContext(
        settings=settings,
        db=db,
        ledgers=RepoLedgers(db),
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
