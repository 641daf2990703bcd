"""The state database (SQLite, WAL): webhook inbox, installations, promotion ledger, run ledger, SLO
evaluations. Each concern declares its own tables next to its code and calls `StateDB.ensure`;
nothing is created at import time.

The GitHub App keeps its own concerns (inbox, installations, acknowledgments, gate results) in one state
database and each repository's ledgers (promotions, runs, SLO evaluations, incidents) in a database of
the repository's own, `ledger_path(<state dir>/ledgers, "owner/repo")`: environments of two repositories
that share a name never meet. A runner that shares the App's disk writes there by naming
`{repository}` in its state path (`resolve_state`)."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.errors import UsageError

DEFAULT_STATE = ".datacanary/state.sqlite"
LEDGER_FILE = "state.sqlite"  # the name of a repository's ledger database in its directory
LEDGERS = "ledgers"  # beside the App's state database: one directory per repository
REPOSITORY = "{repository}"  # in a state path: the repository's ledger directory (`resolve_state`)
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def repo_parts(full_name: str) -> tuple[str, str] | None:
    """("owner", "repo") of a GitHub `owner/repo`, lowercased (GitHub's names are case-insensitive), or
    None when it is not one (so a name can never walk out of the ledgers directory)."""
    parts = full_name.strip().split("/")
    if len(parts) != 2 or not all(_NAME.fullmatch(p) and p not in (".", "..") for p in parts):
        return None
    return parts[0].lower(), parts[1].lower()


def ledgers_root(service_state: str | Path) -> Path:
    """Where the App keeps each repository's ledger database: `ledgers/` beside its own state file."""
    return Path(service_state).parent / LEDGERS


def ledger_path(root: str | Path, full_name: str) -> Path:
    """`root/<owner>/<repo>/state.sqlite` (lowercase), with the repository's artifact store beside it."""
    parts = repo_parts(full_name)
    if parts is None:
        raise ValueError(f"{full_name!r} is not a GitHub repository name (owner/repo)")
    return Path(root, *parts, LEDGER_FILE)


def resolve_state(path: str, repository: str | None) -> Path:
    """A state path as given; `{repository}` in it stands for the lowercased `owner/repo`
    (`$GITHUB_REPOSITORY` on a runner), so `/srv/datacanary/ledgers/{repository}/state.sqlite` is the
    database the App reads for that repository. Raises ValueError when it cannot be filled in."""
    if REPOSITORY not in path:
        return Path(path)
    parts = repo_parts(repository or "")
    if parts is None:
        raise ValueError(
            f"the state path {path} names {REPOSITORY}, but "
            + (
                f"{repository!r} is not a repository name (owner/repo)"
                if repository
                else "no repository is known"
            )
        )
    return Path(path.replace(REPOSITORY, "/".join(parts)))


def table_names(conn: sqlite3.Connection) -> set[str]:
    """The tables of the SQLite database `conn` is connected to (its main schema)."""
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


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
        """This thread's connection. A file SQLite cannot use (not a database, a read-only or full
        disk) is a UsageError naming it, not a traceback."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA busy_timeout=30000")
                if not self.autocheckpoint:
                    conn.execute("PRAGMA wal_autocheckpoint=0")
            except sqlite3.DatabaseError as exc:
                if conn is not None:
                    conn.close()
                raise self._unusable(exc) from None
            self._local.conn = conn
        return conn

    def _unusable(self, exc: sqlite3.Error) -> UsageError:
        return UsageError(
            f"the state file {self.path} cannot be used: {exc}",
            hint="check that its directory is writable and has space, or move the file away if it is not "
            "datacanary's (a corrupt state file can be restored from a backup; run ledgers live in it)",
        )

    def ensure(self, name: str, ddl: str) -> None:
        """Create a concern's tables once per process (`ddl` must be idempotent: IF NOT EXISTS)."""
        if name in self._ensured:
            return
        with self._lock:
            if name not in self._ensured:
                try:
                    self.connect().executescript(ddl)
                except sqlite3.DatabaseError as exc:
                    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                        raise
                    raise self._unusable(exc) from None
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
