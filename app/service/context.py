"""What a handler gets injected: settings, the state database (and each repository's ledger database),
GitHub ports per installation and repository, a checkout function, the engine entry point and a clock.
Nothing here is a global."""

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
    from app.service.ledgers import RepoLedgers
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
    ledgers: RepoLedgers | None = None  # each repository's promotions, runs, evaluations (`ledger`)

    def ledger(self, full_name: str) -> StateDB:
        """The ledger database of repository `full_name` (its own: see app.service.ledgers)."""
        assert self.ledgers is not None, "the context is built by app.service.wiring"
        return self.ledgers.db(full_name)

    def stand_in(self) -> bool:
        """Benchmark modes, True when the handler should stop here: `noop` does nothing; `cpu:MS` first
        runs MS milliseconds of pure Python, holding the CPU and the GIL as a gate's engine run does."""
        hook = self.settings.test_hook or ""
        if hook.startswith("cpu:"):
            _hold_cpu(float(hook.removeprefix("cpu:")) / 1000)
            return True
        return hook == "noop"


def _hold_cpu(seconds: float) -> None:
    deadline = time.thread_time() + seconds  # CPU time of this thread: a shared core stretches the wall time
    n = 0
    while time.thread_time() < deadline:
        for i in range(2000):  # bytecode, not a C call that could release the GIL
            n += i * i
