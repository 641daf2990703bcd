"""Worker processes: how `datacanary serve` runs its workers (DATACANARY_WORKER_MODE=process, the default).

Why processes: a gate's engine run (sqlglot, Jinja2, PyGithub, git) holds the GIL most of the time, and
in worker threads it starved the event loop answering webhooks (ack p99 318 ms at 200 deliveries/s). In
processes of their own the workers take only CPU time from the web process, which the kernel shares
(and `DATACANARY_WORKER_NICE` tilts toward the acknowledgments); the inbox insert is all that happens
before the 202.

The hand-off is the SQLite inbox (WAL, busy timeout): the web process inserts a delivery and wakes one
worker through a pipe shared by all processes (PipeWake). Each worker process runs one `Workers` thread built
from the same settings (claim with a lease, heartbeat, supersession, retries, exactly-once effects),
with supersession's per-key step locked across processes (app.service.keylocks). Metrics come back over
one pipe per process (app.service.metrics.MetricsRelay): `/metrics` shows the workers' counters too.

Lifecycle: the processes are started with the app's lifespan, spawned (a fresh interpreter, not a fork
of a process running an event loop and threads), and stopped with it: SIGTERM to each, which stops
taking work and gives back what still runs after a grace period, then SIGKILL for any left after that.
A worker process that dies is replaced, and the lease of the delivery it held expires so that a worker
claims it again. A worker process whose service process died exits at once (it watches the parent's
sentinel), so no orphan keeps renewing leases of work nobody will finish.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection as mpc
import os
import select
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.config import Settings
    from app.service.metrics import ServiceMetrics, Update
    from app.service.worker import Wake

log = logging.getLogger("datacanary.service")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(processName)s]: %(message)s"
RESPAWN_PAUSE = 1.0  # a process that dies as it starts is not restarted in a hot loop


class PipeWake:
    """A wake-up count shared by processes: `release` writes a byte to a pipe, `acquire` takes one.

    Unlike a POSIX semaphore it needs no resource tracker (which warns of a leak whenever a service
    stopped by a signal skips its exit handlers), and a process killed at any instant leaves it usable.
    Both ends are non-blocking: a full pipe means every worker has wake-ups pending anyway.
    """

    def __init__(self) -> None:
        readable, writable = os.pipe()
        os.set_blocking(readable, False)  # shared by every reader: one may take the byte another polled
        os.set_blocking(writable, False)
        # Connections, so that spawning hands the descriptors to the children (their pickling dups them)
        self._reader = mpc.Connection(readable, writable=False)
        self._writer = mpc.Connection(writable, readable=False)

    def release(self) -> None:
        try:
            os.write(self._writer.fileno(), b"\0")
        except OSError:  # full (every worker has a wake-up pending) or closed (the service is stopping)
            pass

    def acquire(self, blocking: bool = True, /, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        poller = select.poll()
        poller.register(self._reader.fileno(), select.POLLIN)
        while True:
            try:
                if os.read(self._reader.fileno(), 1):
                    return True
            except BlockingIOError:
                pass
            left = None if deadline is None else deadline - time.monotonic()
            if not blocking or (left is not None and left <= 0):
                return False
            poller.poll(None if left is None else left * 1000)

    def close(self) -> None:
        self._reader.close()
        self._writer.close()


@dataclass
class _Child:
    slot: int
    process: BaseProcess
    updates: mpc.Connection | None  # the metrics pipe; None once the child's end closed
    started: float


class WorkerProcesses:
    """`count` worker processes over the inbox of `settings.state`, supervised from a thread."""

    def __init__(self, settings: Settings, metrics: ServiceMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self._mp = multiprocessing.get_context("spawn")
        self._wake = PipeWake()
        self._children: dict[int, _Child] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    def start(self, count: int) -> None:
        for slot in range(count):
            self._spawn(slot)
        self._supervisor = threading.Thread(target=self._supervise, name="datacanary-workers", daemon=True)
        self._supervisor.start()

    def wake(self) -> None:
        """A delivery was queued: let one idle worker look now (a one-byte write, no other work)."""
        self._wake.release()

    def alive(self) -> int:
        with self._lock:
            return sum(1 for c in self._children.values() if c.process.is_alive())

    def stop(self, grace: float | None = None) -> None:
        """SIGTERM every worker (each gives back its unfinished delivery after the settings'
        stop_grace_seconds), wait up to `grace` seconds (default: 5 s more), then SIGKILL what is left
        (its lease expires instead)."""
        if grace is None:
            grace = self.settings.stop_grace_seconds + 5.0
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(5)  # from here on this thread alone reads the pipes
            self._supervisor = None
        with self._lock:
            children = list(self._children.values())
        for child in children:
            if child.process.is_alive():
                child.process.terminate()
        deadline = time.monotonic() + grace
        for child in children:
            while child.process.is_alive() and time.monotonic() < deadline:
                self._drain(child, close=False)  # a stopping worker still counts what it finishes
                child.process.join(0.05)
            if child.process.is_alive():
                log.warning("worker process %s did not stop in %.0f s; killed", child.process.pid, grace)
                child.process.kill()
                child.process.join(5)
            self._drain(child)
        self._wake.close()

    def _spawn(self, slot: int) -> None:
        updates, sender = self._mp.Pipe(duplex=False)
        process = self._mp.Process(
            target=run_worker,
            args=(self.settings, self._wake, sender, logging.getLogger().getEffectiveLevel()),
            name=f"datacanary-worker-{slot}",
            daemon=True,  # a backstop: multiprocessing terminates daemons when the service exits
        )
        process.start()
        sender.close()  # the child holds the only writing end: its exit closes the pipe
        with self._lock:
            self._children[slot] = _Child(slot, process, updates, time.monotonic())

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                children = list(self._children.values())
            waiting: dict[Any, _Child] = {}
            for child in children:
                if child.updates is not None:
                    waiting[child.updates] = child
                waiting[child.process.sentinel] = child
            try:
                for ready in mpc.wait(list(waiting), timeout=0.5):
                    child = waiting[ready]
                    if ready is child.updates:
                        self._receive(child)
                    elif not self._stopping.is_set():
                        self._replace(child)
            except Exception:  # noqa: BLE001 - the supervision must outlive any one failure
                log.exception("supervising the worker processes failed; continuing")
                self._stopping.wait(RESPAWN_PAUSE)

    def _receive(self, child: _Child) -> None:
        assert child.updates is not None
        try:
            update: Update = child.updates.recv()
        except (EOFError, OSError):  # the process exited (its sentinel says so next)
            child.updates.close()
            child.updates = None
            return
        try:
            self.metrics.apply(update)
        except Exception:  # noqa: BLE001 - a bad update must not stop the supervision
            log.exception("worker process %s sent a bad metrics update", child.process.pid)

    def _drain(self, child: _Child, *, close: bool = True) -> None:
        while child.updates is not None and child.updates.poll():
            self._receive(child)
        if close and child.updates is not None:
            child.updates.close()
            child.updates = None

    def _replace(self, child: _Child) -> None:
        self._drain(child)
        child.process.join(5)  # its sentinel can signal before the exit status is there to reap
        log.warning(
            "worker process %s exited (code %s); starting another (a delivery it held is claimed again"
            " when its lease expires)",
            child.process.pid,
            child.process.exitcode,
        )
        if time.monotonic() - child.started < RESPAWN_PAUSE:
            self._stopping.wait(RESPAWN_PAUSE)
        if not self._stopping.is_set():
            self._spawn(child.slot)  # takes the slot over: from now on nobody asks the old process
            child.process.close()


def run_worker(settings: Settings, wake: Wake, updates: mpc.Connection, log_level: int) -> None:
    """A worker process's main: one Workers thread until SIGTERM, or until the service process dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the service decides
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    logging.basicConfig(level=log_level, format=LOG_FORMAT)
    if settings.worker_nice:
        os.nice(settings.worker_nice)

    from app.service.dispatch import discover
    from app.service.inbox import Inbox
    from app.service.metrics import MetricsRelay
    from app.service.wiring import settings_hook, wiring
    from app.service.worker import Workers
    from app.state import StateDB

    sending = threading.Lock()

    def send(update: Update) -> None:
        with sending:  # the worker thread and the token refresh may both count
            try:
                updates.send(update)
            except OSError:  # the service process is gone: nobody to count for
                pass

    relay = MetricsRelay(send)
    db = StateDB(settings.state)
    ctx, auth = wiring(settings, db, relay)
    workers = Workers(Inbox(db), discover(), ctx, relay, hook=settings_hook(settings), wake=wake)
    workers.start(1)
    parent = multiprocessing.parent_process()
    while not stop.is_set():
        if parent is None:
            stop.wait(0.2)
        elif mpc.wait([parent.sentinel], timeout=0.2):
            os._exit(1)  # the service died: die with it, as one process would have (leases expire)
    workers.stop(settings.stop_grace_seconds)
    if auth is not None:
        auth.close()
