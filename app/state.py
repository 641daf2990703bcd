"""The state database (SQLite, WAL): webhook inbox, installations, promotion ledger, run ledger, SLO
evaluations. Each concern declares its own tables next to its code and calls `StateDB.ensure`;
nothing is created at import time."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_STATE = ".datacanary/state.sqlite"


class StateDB:
    """A small wrapper over one SQLite file: one connection per thread, WAL, foreign keys on."""

    def __init__(self, path: str | Path = DEFAULT_STATE, *, autocheckpoint: bool = True) -> None:
        """`autocheckpoint=False`: no commit of this process copies the WAL into the database (SQLite does
        it in the commit that crosses 1,000 pages); its owner calls `checkpoint` instead."""
        self.path = Path(path)
        self.autocheckpoint = autocheckpoint
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._ensured: set[str] = set()
        self._lock = threading.Lock()

    def connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            if not self.autocheckpoint:
                conn.execute("PRAGMA wal_autocheckpoint=0")
            self._local.conn = conn
        return conn

    def ensure(self, name: str, ddl: str) -> None:
        """Create a concern's tables once per process (`ddl` must be idempotent: IF NOT EXISTS)."""
        if name in self._ensured:
            return
        with self._lock:
            if name not in self._ensured:
                self.connect().executescript(ddl)
                self._ensured.add(name)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: a writer that never interleaves with another writer."""
        conn = self.connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
