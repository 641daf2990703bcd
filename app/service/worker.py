"""Workers: threads that claim deliveries from the inbox, run their handlers and apply the effects.

Handlers are blocking (git fetch, DuckDB, PyGithub), so workers are threads, not asyncio tasks; `serve`
runs each in a worker process of its own (app.service.processes), so that their CPU never competes
with the acknowledgments for the web process's GIL. A worker that dies leaves a lease that expires,
while a live one keeps its leases renewed (a heartbeat thread), however long the engine runs; a
delivery whose handler keeps failing is given up after `max_attempts`. Supersession is checked before
every batch of effects is applied: a delivery for an older head of a pull request never writes over
the newer head's results.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from app.effects import CheckOutput
from app.errors import DatacanaryError
from app.github.apply import Failure
from app.github.events import PARSERS, parse_event
from app.github.payload import EventError
from app.github.port import GitHubHttpError
from app.service.context import HandlerContext
from app.service.dispatch import Router, batches
from app.service.handlers.pull_request import pr_number
from app.service.inbox import Delivery, Inbox
from app.service.keylocks import KeyLocks
from app.service.metrics import MetricsRelay, ServiceMetrics
from app.service.perform import DeliveryEffects

log = logging.getLogger("datacanary.service")
RETRY_MAX = 300.0


class Retry(Exception):
    """Give the delivery back to the queue: a transient failure (GitHub 5xx or rate limit); `after`:
    seconds GitHub asked to wait (a rate limit's reset), waited instead of a shorter back-off."""

    def __init__(self, message: str, after: float | None = None) -> None:
        super().__init__(message)
        self.after = after

    @classmethod
    def raise_for(cls, failed: Sequence[Failure]) -> None:
        """Raise one for the transient failures among `failed` (the first's message, the longest wait)."""
        transient = [f for f in failed if _transient(f)]
        if transient:
            raise cls(transient[0].error, max(f.retry_after or 0.0 for f in transient))


class Defer(Retry):
    """Give the delivery back to the queue until another delivery it waits for is handled: this attempt
    does not count towards `max_attempts` (the one waited for ends, done or given up, in bounded time)."""


class Wake(Protocol):
    """How a queued delivery wakes an idle worker: a threading or multiprocessing semaphore."""

    def acquire(self, blocking: bool = True, /, timeout: float | None = None) -> bool: ...

    def release(self) -> None: ...


class Workers:
    """A pool of worker threads over one inbox."""

    def __init__(
        self,
        inbox: Inbox,
        router: Router,
        ctx: HandlerContext,
        metrics: ServiceMetrics | MetricsRelay,
        *,
        apply_kwargs: dict[str, Any] | None = None,
        hook: Callable[[Delivery, int], None] | None = None,
        wake: Wake | None = None,
    ) -> None:
        self.inbox = inbox
        self.router = router
        self.ctx = ctx
        self.metrics = metrics
        self.settings = ctx.settings
        self.apply_kwargs = apply_kwargs or {}
        self.hook = hook  # test-only: called before each batch is applied (batch index)
        # shared with the service process and the other worker processes in process mode
        self._wake: Wake = wake if wake is not None else threading.Semaphore(0)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._idle = 0  # threads waiting on the wake-up (what `stop` must wake)
        self._idle_lock = threading.Lock()
        self._beat: threading.Thread | None = None
        self._inflight: dict[str, Delivery] = {}
        self._inflight_lock = threading.Lock()
        self._key_locks = KeyLocks.beside(inbox.db.path)

    def start(self, count: int) -> None:
        for i in range(count):
            thread = threading.Thread(target=self._loop, name=f"datacanary-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if count and self._beat is None:
            self._beat = threading.Thread(target=self._heartbeat, name="datacanary-lease", daemon=True)
            self._beat.start()

    def alive(self) -> int:
        """How many worker threads are running."""
        return sum(1 for t in self._threads if t.is_alive())

    def wake(self) -> None:
        """A delivery was queued: let one idle worker look now rather than at its next poll."""
        self._wake.release()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking work; give back what is still running after `timeout` so a restarted service
        resumes it at once instead of after the lease."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            # an idle thread waits on the wake-up for up to poll_seconds: wake the idle ones until they
            # end (in process mode the wake-up is shared, and another process's idle worker may take
            # one); a thread running a delivery finishes it, or is given up on at the deadline
            while thread.is_alive() and time.monotonic() < deadline:
                for _ in range(self._idle):
                    self._wake.release()
                thread.join(min(0.05, max(0.0, deadline - time.monotonic())))
        self._threads.clear()
        if self._beat is not None:
            self._beat.join(max(0.0, deadline - time.monotonic()))
            self._beat = None
        with self._inflight_lock:
            unfinished = list(self._inflight.values())
        for delivery in unfinished:
            log.warning("delivery %s was still running at shutdown; queued again", delivery.delivery_id)
            self.inbox.release(delivery, "the service stopped while it was running")

    def _heartbeat(self) -> None:
        """Renew the lease of every delivery in flight, three times per lease: an engine run longer than
        the lease is not taken over by another worker while this process is alive. (A process that dies
        stops renewing, and its deliveries are claimed again once their lease runs out.)"""
        interval = self.settings.lease_seconds / 3
        while not self._stop.wait(interval):
            with self._inflight_lock:
                running = list(self._inflight.values())
            for delivery in running:
                try:
                    if not self.inbox.renew(delivery, self.ctx.clock()):
                        log.warning("delivery %s: lease taken over by another worker", delivery.delivery_id)
                except Exception:  # noqa: BLE001 - e.g. a locked database: try again next beat
                    log.exception("lease renewal of %s failed", delivery.delivery_id)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_once()
            except Exception:  # noqa: BLE001 - a worker thread must survive anything (e.g. a locked DB)
                log.exception("worker loop failed; continuing")
                worked = False
            if not worked:
                with self._idle_lock:
                    self._idle += 1
                try:
                    self._wake.acquire(timeout=self.settings.poll_seconds)
                finally:
                    with self._idle_lock:
                        self._idle -= 1

    def run_once(self) -> bool:
        """Claim and process one delivery; False when there was nothing to do."""
        delivery = self.inbox.claim(self.ctx.clock(), self.settings.lease_seconds)
        if delivery is None:
            return False
        with self._inflight_lock:
            self._inflight[delivery.delivery_id] = delivery
        try:
            self._complete(delivery)
        finally:
            with self._inflight_lock:
                self._inflight.pop(delivery.delivery_id, None)
        return True

    def _complete(self, delivery: Delivery) -> None:
        started = time.perf_counter()
        outcome, detail, asked = self._process(delivery)
        if outcome == "defer":
            self.inbox.release(
                delivery, detail or "", retry_at=self.ctx.clock() + self.settings.retry_seconds, counted=False
            )
        elif outcome == "retry":
            # back off: 5 s, 10 s, 20 s ... (retry_seconds, doubled, at most 5 minutes) so a GitHub outage
            # is not hammered; a rate limit that resets later is waited out, else the attempts run out
            first = self.settings.retry_seconds
            wait = max(min(first * 2 ** (delivery.attempts - 1), RETRY_MAX), asked or 0.0)
            self.inbox.release(delivery, detail or "", retry_at=self.ctx.clock() + wait)
        else:
            self.inbox.finish(delivery, outcome, self.ctx.clock(), detail)
        self.metrics.deliveries.labels(delivery.event, outcome).inc()
        self.metrics.processing.labels(delivery.event).observe(time.perf_counter() - started)

    def _process(self, delivery: Delivery) -> tuple[str, str | None, float | None]:
        """(outcome, detail, seconds GitHub asked to wait before a retry)."""
        if delivery.attempts > self.settings.max_attempts:
            log.error("delivery %s given up after %d attempts", delivery.delivery_id, delivery.attempts - 1)
            return "failed", f"gave up after {delivery.attempts - 1} attempts", None
        try:
            payload = json.loads(delivery.body)
            event = parse_event(delivery.event, payload) if delivery.event in PARSERS else payload
        except (ValueError, EventError) as exc:
            log.warning("delivery %s: unreadable payload: %s", delivery.delivery_id, exc)
            return "invalid", str(exc), None
        registrations = self.router.lookup(delivery.event, delivery.action)
        if not registrations:
            return "ignored", None, None
        try:
            return (*self._run(delivery, event, registrations), None)
        except Defer as exc:
            log.info("delivery %s: waits: %s", delivery.delivery_id, exc)
            return "defer", str(exc), None
        except Retry as exc:
            log.warning("delivery %s: will retry: %s", delivery.delivery_id, exc)
            return "retry", str(exc), exc.after
        except GitHubHttpError as exc:  # e.g. minting the installation token while GitHub is down
            if exc.transient:
                log.warning("delivery %s: will retry: %s", delivery.delivery_id, exc.message)
                return "retry", exc.render(), exc.retry_after
            log.warning("delivery %s failed: %s", delivery.delivery_id, exc.render())
            return "error", exc.render(), None
        except DatacanaryError as exc:
            log.warning("delivery %s failed: %s", delivery.delivery_id, exc.render())
            return "error", exc.render(), None
        except Exception as exc:  # noqa: BLE001 - a bug in one handler must not kill the worker
            log.exception("delivery %s: handler crashed", delivery.delivery_id)
            return "retry", f"{type(exc).__name__}: {exc}", None

    def _run(self, delivery: Delivery, event: Any, registrations: list[Any]) -> tuple[str, str | None]:
        ports: list[tuple[int | None, Any]] = []

        def github(installation_id: int | None, full_name: str) -> Any:
            port = self.ctx.github(installation_id, full_name)
            ports.append((installation_id, port))
            return port

        ctx = dataclasses.replace(self.ctx, delivery_id=delivery.delivery_id, github=github)
        try:
            return self._handle(delivery, event, registrations, ctx)
        finally:
            for installation_id, port in ports:
                self._count_calls(installation_id, port)

    def _count_calls(self, installation_id: int | None, port: Any) -> None:
        calls = getattr(port, "api_calls", 0)
        if isinstance(calls, int) and calls:
            self.metrics.github_calls.labels("rest").inc(calls)
        remaining = getattr(port, "rate_remaining", None)
        if isinstance(remaining, int):
            self.metrics.rate_limit_remaining.labels(str(installation_id or 0)).set(remaining)

    def _handle(
        self, delivery: Delivery, event: Any, registrations: list[Any], ctx: HandlerContext
    ) -> tuple[str, str | None]:
        repo = getattr(getattr(event, "repo", None), "full_name", None)
        installation = getattr(event, "installation_id", None)
        effects = DeliveryEffects(
            ctx.db,
            delivery.delivery_id,
            lambda: ctx.github(installation, repo or ""),
            apply_kwargs=self.apply_kwargs,
            resumed=delivery.attempts > 1,
        )
        problems: list[str] = []
        index = 0
        for registration in registrations:
            for batch in batches(registration.handler(event, ctx)):
                # the check and the posting are one step per work key, across worker processes: a
                # newer head's delivery cannot post in between and then be overwritten by this older one
                with self._key_locks.hold(delivery.work_key):
                    if not self.inbox.renew(delivery, self.ctx.clock()):
                        return "lost-lease", "another worker took the delivery over"
                    newer = self._newer_head(delivery, ctx, installation, repo)
                    if newer is not None:
                        effects.cancel_open(_superseded_output(newer))
                        return "superseded", f"superseded by {newer}"
                    if self.hook is not None:
                        self.hook(delivery, index)
                    result = effects.run(batch)
                index += 1
                Retry.raise_for(result.failed)
                problems.extend(f.error for f in result.failed)
                problems.extend(result.notes)
        return ("partial", "; ".join(problems)) if problems else ("done", None)

    def _newer_head(
        self, delivery: Delivery, ctx: HandlerContext, installation: int | None, repo: str | None
    ) -> str | None:
        """The head that replaced `delivery`'s (it is stale), or None. By the inbox's record of the pull
        request's heads; when that record ties (two heads set in one second), by GitHub's own answer:
        the pull request's head now (a failed lookup falls back to arrival order)."""
        number = pr_number(delivery.work_key)
        if repo and number is not None and self.inbox.tied_heads(delivery):
            try:
                head = ctx.github(installation, repo).get_pull(number).head_sha
            except Exception:  # GitHub unreachable, or the PR gone: the record's order has to do
                log.warning(
                    "delivery %s: the head of %s#%s could not be read", delivery.delivery_id, repo, number
                )
            else:
                return None if head == delivery.head_sha else str(head)
        return self.inbox.superseded_by(delivery)


def _transient(failure: Failure) -> bool:
    """GitHub down or rate limiting (a 403 that is not a permission refusal): worth another attempt."""
    status = failure.status
    if status is None:
        return False
    return status == 0 or status >= 500 or status == 429 or (status == 403 and not failure.not_permitted)


def _superseded_output(newer_head: str) -> CheckOutput:
    from app.report.env import render

    return CheckOutput(
        title="Superseded by a newer commit",
        summary=render("service/superseded.md.j2", newer_head=newer_head),
    )
