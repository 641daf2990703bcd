"""Each repository's ledger database in the App: promotions, runs, SLO evaluations and profiles,
incidents and backfills, in `ledger_path(<state dir>/ledgers, owner/repo)` with the repository's
artifact store beside it. Two repositories with a `production` environment each have their own live
promotion, their own culprit search and their own dashboard page.

Ledgers written before this split sit in the App's own state database, keyed by environment only. When
the App starts they are *adopted* (copied once, with the artifact store, into a repository's ledger
database) if they can be attributed: every environment the App claimed in them is that repository's, or
nothing was claimed and that repository is the only one the App is installed on. Rows that cannot be
attributed, or whose repository already has a ledger database, stay where they are, with a warning in
the log (see docs/app.md#ledgers)."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.state import LEDGER_FILE, StateDB, ledger_path, ledgers_root, repo_parts, table_names

log = logging.getLogger("datacanary.ledgers")

# The tables of a repository's ledgers (the rest of the App's state database is the App's own).
LEDGER_TABLES = (
    "promotion",
    "run_versions",
    "run_switches",
    "run_claims",  # version numbers taken by runs and backfills, recorded or not (app.runs.ledger)
    "backfills",
    "backfill_leases",
    "slo_evaluations",
    "slo_health_profiles",
    "revert_incidents",
)
ADOPTED_DDL = """
CREATE TABLE IF NOT EXISTS ledger_adoptions (
  repo TEXT PRIMARY KEY COLLATE NOCASE,
  at REAL NOT NULL
);
"""
ADOPTED_FROM = "ledger_adopted_from"  # in an adopted copy: where its rows came from, and when


class RepoLedgers:
    """The ledger databases of the repositories one App serves (one StateDB each, opened on first use)."""

    def __init__(self, shared: StateDB, root: str | Path | None = None) -> None:
        self.shared = shared
        self.root = Path(root) if root is not None else ledgers_root(shared.path)
        self._dbs: dict[str, StateDB] = {}
        self._inodes: dict[str, tuple[int, int] | None] = {}  # the file each cached handle has open
        self._lock = threading.Lock()

    def path(self, full_name: str) -> Path:
        """The repository's ledger database (ValueError for a name that is not owner/repo)."""
        return ledger_path(self.root, full_name)

    def db(self, full_name: str) -> StateDB:
        """The repository's ledger database, created on first use."""
        found = self._open(full_name, create=True)
        assert found is not None
        return found

    def existing(self, full_name: str) -> StateDB | None:
        """The repository's ledger database if it has one; None otherwise, without creating a file (for
        readers such as the dashboard)."""
        return self._open(full_name, create=False)

    @contextmanager
    def renaming(self) -> Iterator[None]:
        """One repository rename at a time, across the App's processes (see handlers/repository.py)."""
        with _flock(self.root / ".rename.lock"):
            yield

    def move(self, old: str, new: str) -> bool:
        """A renamed or transferred repository's ledger directory under its new name; True when moved.
        A directory the new name already has is replaced when it holds no ledger rows and no artifacts
        (a protection rule or an alert for the new name, handled before the rename, opened it); one
        that holds some is kept, and the old one left, with a warning."""
        source, target = self.path(old).parent, self.path(new).parent
        if source == target or not source.is_dir():
            return False
        with self._lock, _flock(self.root / ".adopt.lock"):
            for key in (str(self.path(old)), str(self.path(new))):
                cached = self._dbs.pop(key, None)
                if cached is not None:
                    cached.close()
            if target.exists() and not _empty_ledger(target):
                log.warning(
                    "%s was renamed to %s, which already has a ledger directory %s with rows: both are kept, "
                    "and %s is no longer read (merge them with sqlite3)",
                    old,
                    new,
                    target,
                    source,
                )
                return False
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():  # empty: set aside first, so the new name is never without a ledger
                aside = target.with_name(f".{target.name}.replaced-{os.getpid()}-{time.monotonic_ns()}")
                os.rename(target, aside)
                os.rename(source, target)
                if _empty_ledger(aside):
                    shutil.rmtree(aside, ignore_errors=True)
                else:  # a writer committed to it between the check and the swap: nothing is deleted
                    log.warning(
                        "%s got ledger rows while %s's ledgers moved onto it: they are kept in %s, unread "
                        "(merge them with sqlite3)",
                        target,
                        old,
                        aside,
                    )
            else:
                os.rename(source, target)
        log.info("moved the ledgers of %s to %s", old, target)
        return True

    def close(self) -> None:
        with self._lock:
            for db in self._dbs.values():
                db.close()
            self._dbs.clear()

    def _open(self, full_name: str, create: bool) -> StateDB | None:
        path = self.path(full_name)
        key = str(path)
        with self._lock:
            db = self._dbs.get(key)
            if db is not None and _inode(path) != self._inodes.get(key):
                # moved away, or replaced, by another process (a rename): the handle is to the old file
                db.close()
                del self._dbs[key]
                db = None
            if db is None:
                if not create and not path.exists():
                    return None
                db = self._dbs[key] = StateDB(path)
                db.connect()  # the file exists from here on
                self._inodes[key] = _inode(path)
            return db

    def adopt_legacy(self) -> str | None:
        """Copy the ledger rows of the shared database (from before per-repository ledgers) and its
        artifact store into the one repository they belong to, once; the repository, or None (with a
        warning in the log when there were rows it could not adopt). Run when the App starts."""
        if str(self.shared.path) == ":memory:":
            return None
        conn = self.shared.connect()
        tables = table_names(conn)
        held = [
            t
            for t in LEDGER_TABLES
            if t in tables and conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone()
        ]
        if not held:
            return None
        self.shared.ensure("ledger_adoptions", ADOPTED_DDL)
        if conn.execute("SELECT 1 FROM ledger_adoptions LIMIT 1").fetchone():
            return None  # adopted already
        owner, why = _owner(conn, tables)
        where = (
            f"the state database {self.shared.path} holds ledger rows ({', '.join(held)}) from before "
            "per-repository ledgers"
        )
        if owner is not None and repo_parts(owner) is None:
            owner, why = None, f"{owner!r}, who claimed them, is not a repository name"
        if owner is None:
            log.warning("%s, and %s: they stay there, unread (see docs/app.md#ledgers)", where, why)
            return None
        target = self.path(owner)
        target.parent.mkdir(parents=True, exist_ok=True)
        with _flock(self.root / ".adopt.lock"):
            if target.exists() and not _adopted_copy(target):
                log.warning(
                    "%s, which are %s's, but %s already exists (written since): they stay there, unread; "
                    "copy what you need with sqlite3 (see docs/app.md#ledgers)",
                    where,
                    owner,
                    target,
                )
                return None
            if not target.exists():
                self._copy(conn, held, target)
            conn.execute(
                "INSERT OR IGNORE INTO ledger_adoptions (repo, at) VALUES (?, ?)", (owner, time.time())
            )
        log.info("adopted the ledger rows of %s from %s into %s", owner, self.shared.path, target)
        return owner

    def _copy(self, conn: sqlite3.Connection, held: list[str], target: Path) -> None:
        """The ledger tables (schema, indexes, rows) into a new database at `target`, published by a hard
        link (never over a file that appeared meanwhile), and the artifact store beside it."""
        names = [t for t in LEDGER_TABLES if t in table_names(conn)]
        marks = ", ".join("?" * len(names))
        schema = conn.execute(
            f"SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name IN ({marks}) AND sql IS NOT NULL"
            " ORDER BY type = 'index'",
            names,
        ).fetchall()
        partial = target.with_name(target.name + ".adopting")
        partial.unlink(missing_ok=True)
        copy = sqlite3.connect(partial, isolation_level=None)
        try:
            copy.execute("ATTACH DATABASE ? AS old", (str(self.shared.path),))
            copy.execute("BEGIN")
            for row in schema:
                copy.execute(row[3])
            for name in names:
                copy.execute(f'INSERT INTO main."{name}" SELECT * FROM old."{name}"')
            if "sqlite_sequence" in table_names(conn) and "sqlite_sequence" in table_names(copy):
                # AUTOINCREMENT's high-water marks: an id deleted before the copy is not handed out again
                copy.execute(
                    f"DELETE FROM main.sqlite_sequence WHERE name IN ({marks})",
                    names,
                )
                copy.execute(
                    f"INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM old.sqlite_sequence"
                    f" WHERE name IN ({marks})",
                    names,
                )
            copy.execute(
                f'CREATE TABLE "{ADOPTED_FROM}" (path TEXT NOT NULL, at REAL NOT NULL, tables TEXT NOT NULL)'
            )
            copy.execute(
                f'INSERT INTO "{ADOPTED_FROM}" VALUES (?, ?, ?)',
                (str(self.shared.path), time.time(), ",".join(held)),
            )
            copy.execute("COMMIT")
            copy.execute("DETACH DATABASE old")
        finally:
            copy.close()
        _link_tree(self.shared.path.parent / "artifacts", target.parent / "artifacts")
        try:
            os.link(partial, target)
        except FileExistsError:  # created meanwhile, without the lock (a runner): it is kept
            log.warning(
                "%s appeared while the old ledger rows were copied: it is kept, they stay unread", target
            )
        finally:
            partial.unlink(missing_ok=True)


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _empty_ledger(directory: Path) -> bool:
    """`directory` is a ledger directory with nothing in it yet: its database holds no ledger rows, its
    artifact store no file, and it has nothing else."""
    for path in directory.iterdir():
        if path.name == "artifacts" and path.is_dir():
            if any(p.is_file() for p in path.rglob("*")):
                return False
        elif path.name not in (LEDGER_FILE, LEDGER_FILE + "-wal", LEDGER_FILE + "-shm"):
            return False
    database = directory / LEDGER_FILE
    if not database.exists():
        return True
    conn = sqlite3.connect(database, timeout=30)
    try:
        tables = table_names(conn)
        return not any(
            conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in LEDGER_TABLES if t in tables
        )
    finally:
        conn.close()


def _adopted_copy(path: Path) -> bool:
    """`path` is a copy this module published (the App stopped before it marked the adoption done)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return ADOPTED_FROM in table_names(conn)
    finally:
        conn.close()


def _link_tree(source: Path, target: Path) -> None:
    """Every file under `source` at the same place under `target` (hard links; copies across devices),
    keeping what `target` already has."""
    if not source.is_dir():
        return
    for path in source.rglob("*"):
        if not path.is_file() or path.name.endswith(".part"):
            continue
        dest = target / path.relative_to(source)
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:
            shutil.copy2(path, dest)


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` across processes (the kernel drops it when a process dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _owner(conn: sqlite3.Connection, tables: set[str]) -> tuple[str | None, str]:
    """The one repository the shared ledger rows belong to, or (None, why they belong to no one)."""
    if "repo_environments" in tables:
        claims = sorted(
            {r[0].lower(): r[0] for r in conn.execute("SELECT repo FROM repo_environments")}.values()
        )
        if len(claims) == 1:
            return claims[0], ""
        if claims:
            return (
                None,
                f"their environments were claimed by {len(claims)} repositories ({', '.join(claims)})",
            )
    if "installed_repos" in tables:
        repos = sorted(
            {r[0].lower(): r[0] for r in conn.execute("SELECT full_name FROM installed_repos")}.values()
        )
        if len(repos) == 1:
            return repos[0], ""
        return None, f"the App is installed on {len(repos)} repositories and none claimed them"
    return None, "no repository claimed them"
