"""Work side by side on one sandbox database: a pool of threads, each on its own session (DuckDB runs
sessions in parallel and releases the GIL while it works), and a scheduler for steps that depend on
each other (model builds in DAG order)."""

from __future__ import annotations

import functools
import heapq
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from app.canary.runner import Sandbox

T = TypeVar("T")


class Sessions:
    """`submit(fn)` runs `fn(session)` on one of `workers` threads, each with a session of its own, opened
    on the thread's first task; leaving the block waits for every task and closes the sessions."""

    def __init__(self, db: Sandbox, workers: int) -> None:
        self._db = db
        self._local = threading.local()
        self._opened: list[Sandbox] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="datacanary-session")

    def __enter__(self) -> Sessions:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._pool.shutdown(wait=True)
        for session in self._opened:
            session.close()

    def submit(self, fn: Callable[[Sandbox], T]) -> Future[T]:
        return self._pool.submit(self._on_session, fn)

    def _on_session(self, fn: Callable[[Sandbox], T]) -> T:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._db.session()
            with self._lock:
                self._opened.append(db)
        return fn(db)


def _on_item(work: Callable[[Sandbox, int], T], item: int, db: Sandbox) -> T:
    return work(db, item)


def by_dependency(
    db: Sandbox,
    count: int,
    after: Mapping[int, set[int]],
    workers: int,
    work: Callable[[Sandbox, int], T],
    done: Callable[[int, T], None],
    priority: Callable[[int], Any] | None = None,
) -> None:
    """Run steps 0..count-1, step i only once every step in `after[i]` has finished, `workers` at a time
    (one: on `db` itself, one after the other); of the steps that are ready, the one with the lowest
    `priority` (default: index) first. `done(i, result)` is called on this thread as each one finishes,
    before the steps waiting on it start. `after` must not loop."""
    key = priority or (lambda i: i)
    waiting = {i: len(after.get(i, ())) for i in range(count)}
    unblocks: dict[int, list[int]] = {}
    for i in range(count):
        for j in after.get(i, ()):
            unblocks.setdefault(j, []).append(i)
    ready = [(key(i), i) for i, n in waiting.items() if n == 0]
    heapq.heapify(ready)

    def finish(i: int, result: T) -> None:
        done(i, result)
        for k in unblocks.get(i, ()):
            waiting[k] -= 1
            if not waiting[k]:
                heapq.heappush(ready, (key(k), k))

    if workers <= 1:
        while ready:
            _, i = heapq.heappop(ready)
            finish(i, work(db, i))
        return
    with Sessions(db, workers) as pool:
        running: dict[Future[T], int] = {}
        while ready or running:
            while ready and len(running) < workers:
                _, i = heapq.heappop(ready)
                running[pool.submit(functools.partial(_on_item, work, i))] = i
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                finish(running.pop(future), future.result())
