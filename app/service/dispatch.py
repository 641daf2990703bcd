"""Route webhook events to handlers. Each module in `app/service/handlers/` exports a `router` (as in
gidgethub and CPython's bedevere bots) and `discover()` joins them.

A handler takes the typed event and a HandlerContext and returns (or yields) lists of effects; the
worker applies each list as it comes, so a handler can show an `in_progress` check run before its
slow part. Handlers never call GitHub themselves.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.effects import Effect
    from app.service.context import HandlerContext
    from app.service.inbox import Inbox

HandlerResult = "Iterable[Sequence[Effect]] | Sequence[Effect] | None"
Handler = Callable[[Any, "HandlerContext"], Any]
# the work key of a parsed event; the inbox (None when there is none) tells what the payload does not,
# e.g. which pull request a fork's head belongs to
KeyOf = Callable[[Any, "Inbox | None"], "WorkKey | None"]


@dataclass(frozen=True, slots=True)
class WorkKey:
    """What a delivery works on (`owner/repo#12`), the head it is about, and whether it moves that head:
    a pull_request event sets the PR's head; a re-run for an older head is superseded by it. `head_at`
    (an ISO 8601 UTC time) says when the head was set: the latest, not the last delivered, is current."""

    key: str
    head_sha: str | None = None
    sets_head: bool = False
    head_at: str | None = None


@dataclass(frozen=True, slots=True)
class Registration:
    handler: Handler
    work_key: KeyOf | None = None


# Events GitHub sends to an App that datacanary subscribes to or receives anyway, on purpose unused.
# A payload of these is answered 200 "ignored"; any other unhandled event name is a 422.
IGNORED: MappingProxyType[str, str] = MappingProxyType(
    {
        "push": "pull_request.synchronize carries the same new head for gated branches",
        "issue_comment": "no comment commands yet; acknowledgments use the check run button",
        "deployment": "promotion reacts to deployment_protection_rule, not to deployments",
        "deployment_status": "deployment outcomes are read by the promotion ledger, not by webhooks",
        "deployment_review": "environment reviews are GitHub's own, datacanary is a protection rule",
        "release": "releases are not gated",
        "repository_dispatch": "not used",
        "workflow_dispatch": "not used",
        "workflow_run": "the GitHub Action reports its own runs",
        "github_app_authorization": "the app keeps no user tokens",
    }
)


class Router:
    """Maps (event, action) to handlers; `action=None` registers for every action of the event."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str | None], list[Registration]] = {}
        self._ignored: dict[str, str] = {}

    def register(
        self,
        event: str,
        action: str | None = None,
        *,
        work_key: KeyOf | None = None,
    ) -> Callable[[Handler], Handler]:
        """Decorator: call the handler for `event` (and `action`); `work_key` names what it supersedes."""

        def decorate(handler: Handler) -> Handler:
            self._routes.setdefault((event, action), []).append(Registration(handler, work_key))
            return handler

        return decorate

    def ignore(self, event: str, reason: str) -> None:
        """Document why the actions of `event` without a handler are ignored on purpose."""
        self._ignored[event] = reason

    def add(self, other: Router) -> None:
        for key, regs in other._routes.items():
            self._routes.setdefault(key, []).extend(regs)
        for event, reason in other._ignored.items():
            self._ignored[event] = "; ".join(r for r in (self._ignored.get(event), reason) if r)

    def events(self) -> frozenset[str]:
        return frozenset(event for event, _ in self._routes)

    def ignored_reason(self, event: str, action: str | None) -> str | None:
        """Why a delivery with no handler is ignored (None when that is undocumented)."""
        if event in IGNORED:
            return IGNORED[event]
        if event in self._ignored and not self.lookup(event, action):
            return f"action {action!r} is not handled: {self._ignored[event]}"
        return None

    def routes(self) -> frozenset[tuple[str, str | None]]:
        return frozenset(self._routes)

    def lookup(self, event: str, action: str | None) -> list[Registration]:
        """Handlers for this event and action, specific ones first."""
        specific = self._routes.get((event, action), []) if action is not None else []
        return [*specific, *self._routes.get((event, None), [])]

    def work_key(
        self, event: str, action: str | None, parsed: Any, inbox: Inbox | None = None
    ) -> WorkKey | None:
        for reg in self.lookup(event, action):
            if reg.work_key is not None:
                return reg.work_key(parsed, inbox)
        return None


def discover(package: str = "app.service.handlers") -> Router:
    """A router holding every `router` found in the modules of `package`."""
    root = importlib.import_module(package)
    combined = Router()
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, Router):
            combined.add(router)
    return combined


def batches(result: Any) -> Iterator[Sequence[Effect]]:
    """Normalize a handler's return: None, one list of effects, or a generator of lists."""
    from app.effects import Effect

    if result is None:
        return
    if isinstance(result, (list, tuple)):
        if all(isinstance(e, Effect) for e in result):
            if result:
                yield result
            return
    for batch in result:
        if batch:
            yield tuple(batch)
