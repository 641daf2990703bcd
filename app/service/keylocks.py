"""Work-key locks shared by every worker of one state database, threads and processes alike.

A worker checks supersession and posts a batch of effects as one step per work key (`owner/repo#12`),
so that a newer head's delivery cannot post in between and then be overwritten by an older one. Keys are
striped over a bounded set of locks (keys that hash alike share one, rarely contended). Inside a process
a stripe is a `threading.Lock`; across worker processes it is also an `flock` on a file next to the
state database (`<state>.locks/<stripe>`), which the kernel releases when a process dies, so a crashed
worker never leaves a key locked.
"""

from __future__ import annotations

import fcntl
import os
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STRIPES = 64


class KeyLocks:
    """`hold(key)`: the lock of a work key; `directory` None keeps them inside this process."""

    def __init__(self, directory: Path | None, stripes: int = STRIPES) -> None:
        self.directory = directory
        self._threads = [threading.Lock() for _ in range(stripes)]
        self._files: dict[int, int] = {}  # stripe -> open descriptor (kept: opened once per process)

    @classmethod
    def beside(cls, state: Path) -> KeyLocks:
        """Locks for the workers of the state database at `state` (in-process only for `:memory:`)."""
        if str(state) == ":memory:":
            return cls(None)
        return cls(state.with_name(state.name + ".locks"))

    @contextmanager
    def hold(self, key: str | None) -> Iterator[None]:
        if key is None:  # nothing to serialize with
            yield
            return
        stripe = zlib.crc32(key.encode()) % len(self._threads)
        with self._threads[stripe]:  # threads of this process queue here, on one descriptor below
            if self.directory is None:
                yield
                return
            fd = self._file(stripe)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _file(self, stripe: int) -> int:
        fd = self._files.get(stripe)
        if fd is None:
            assert self.directory is not None
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.directory / str(stripe), os.O_RDWR | os.O_CREAT, 0o600)
            self._files[stripe] = fd
        return fd
