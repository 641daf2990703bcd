"""What a handler gets injected: settings, the state database, GitHub ports per installation and
repository, a checkout function, the engine entry point and a clock. Nothing here is a global."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.config import Settings
    from app.github.port import AppPort
    from app.service.alerting import AlertWiring
    from app.state import StateDB

PortFactory = Callable[[int | None, str], "AppPort"]  # (installation id, owner/repo) -> port
Checkout = Callable[[int | None, str, Sequence[str]], Path]  # (installation, owner/repo, shas) -> repo


def default_run_check(*args: Any, **kwargs: Any) -> Any:
    from app.pipeline import run_check

    return run_check(*args, **kwargs)


@dataclass(frozen=True)
class HandlerContext:
    """Per-delivery context; `delivery_id` makes the idempotency keys of what a handler creates."""

    settings: Settings
    db: StateDB
    github: PortFactory
    repo_checkout: Checkout
    run_check: Callable[..., Any] = default_run_check
    clock: Callable[[], float] = time.time
    delivery_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    alerts: AlertWiring | None = None  # how `alert` deliveries reach a workspace and a revert port

    @property
    def noop(self) -> bool:
        """Benchmark mode: handlers acknowledge and do nothing."""
        return self.settings.test_hook == "noop"
