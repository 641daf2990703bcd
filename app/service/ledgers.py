"""Each repository's ledger database in the App: promotions, runs, SLO evaluations and profiles,
incidents and backfills, in `ledger_path(<state dir>/ledgers, owner/repo)` with the repository's
artifact store beside it. Two repositories with a `production` environment each have their own live
promotion, their own culprit search and their own dashboard page.

Ledgers written before this split sit in the App's own state database, keyed by environment only. They
are *adopted* (copied into a repository's ledger database, once) when they can be attributed: every
environment the App claimed in them is that repository's, or nothing was claimed and that repository is
the only one the App is installed on. Rows that cannot be attributed stay where they are, with a warning
in the log; the repository starts with an empty ledger (see docs/app.md#ledgers)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

from app.service.keylocks import KeyLocks
from app.state import StateDB, ledger_path, ledgers_root, repo_parts

log = logging.getLogger("datacanary.ledgers")

# The tables of a repository's ledgers (the rest of the App's state database is the App's own).
LEDGER_TABLES = (
    "promotion",
    "run_versions",
    "run_switches",
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


class RepoLedgers:
    """The ledger databases of the repositories one App serves (one StateDB each, opened on first use)."""

    def __init__(self, shared: StateDB, root: str | Path | None = None) -> None:
        self.shared = shared
        self.root = Path(root) if root is not None else ledgers_root(shared.path)
        self._dbs: dict[str, StateDB] = {}
        self._lock = threading.Lock()
        self._adopting = KeyLocks.beside(shared.path)  # one adoption at a time, across worker processes

    def path(self, full_name: str) -> Path:
        """The repository's ledger database (ValueError for a name that is not owner/repo)."""
        return ledger_path(self.root, full_name)

    def artifacts(self, full_name: str) -> Path:
        return self.path(full_name).parent / "artifacts"

    def db(self, full_name: str) -> StateDB:
        """The repository's ledger database, created (or adopted from the shared rows) on first use."""
        found = self._open(full_name, create=True)
        assert found is not None
        return found

    def existing(self, full_name: str) -> StateDB | None:
        """The repository's ledger database if it has one (adopting the shared rows if they are its own);
        None otherwise, without creating a file: for readers such as the dashboard."""
        return self._open(full_name, create=False)

    def close(self) -> None:
        with self._lock:
            for db in self._dbs.values():
                db.close()
            self._dbs.clear()

    def _open(self, full_name: str, create: bool) -> StateDB | None:
        key = "/".join(repo_parts(full_name) or ("", ""))
        with self._lock:
            db = self._dbs.get(key)
            if db is not None:
                return db
            path = self.path(full_name)
            if not path.exists():
                with self._adopting.hold("ledgers:adopt"):
                    if not path.exists() and not self._adopt(full_name, path) and not create:
                        return None
            db = self._dbs[key] = StateDB(path)
            return db

    def _adopt(self, full_name: str, target: Path) -> bool:
        """Copy the shared ledger rows into `target` when they are `full_name`'s alone (see the module);
        True when `target` now exists."""
        conn = self.shared.connect()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        held = [
            t
            for t in LEDGER_TABLES
            if t in tables and conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone()
        ]
        if not held:
            return False
        self.shared.ensure("ledger_adoptions", ADOPTED_DDL)
        if conn.execute("SELECT 1 FROM ledger_adoptions LIMIT 1").fetchone():
            return False  # adopted once already, by the one repository they were attributed to
        owner, why = _owner(conn, tables)
        if owner is None or owner.lower() != full_name.lower():
            log.warning(
                "the state database %s holds ledger rows (%s) from before per-repository ledgers, and %s; "
                "%s starts with an empty ledger in %s (see docs/app.md#ledgers)",
                self.shared.path,
                ", ".join(held),
                why if owner is None else f"they are {owner}'s",
                full_name,
                target,
            )
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".adopting")
        partial.unlink(missing_ok=True)
        copy = sqlite3.connect(partial)
        try:
            conn.backup(copy)  # a consistent snapshot, WAL included
            for (name,) in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                if name not in LEDGER_TABLES and not name.startswith("sqlite_"):
                    copy.execute(f'DROP TABLE "{name}"')
            copy.commit()
            copy.execute("VACUUM")
        finally:
            copy.close()
        partial.replace(target)
        conn.execute(
            "INSERT OR IGNORE INTO ledger_adoptions (repo, at) VALUES (?, ?)", (full_name, time.time())
        )
        log.info("adopted the ledger rows of %s into %s", full_name, target)
        return True


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
