"""The promotion ledger: which artifact digest is live in which environment, and how it got there.

One row per promotion attempt in the state database. A digest has *passed* an environment when it was
live there and was not rolled back; *last-known-good* is the most recent such digest before the live one.
Time and actor are passed in; nothing here reads a clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

from app.state import StateDB

DDL = """
CREATE TABLE IF NOT EXISTS promotion (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    digest TEXT NOT NULL,
    environment TEXT NOT NULL,
    promoted_at TEXT NOT NULL,          -- ISO 8601, UTC
    actor TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'promote' CHECK (kind IN ('promote', 'rollback')),
    status TEXT NOT NULL CHECK (status IN ('live', 'superseded', 'rolled-back', 'failed')),
    previous_digest TEXT,               -- what was live in the environment before
    canary TEXT NOT NULL DEFAULT '{}',  -- json: verdict, findings, per-model fingerprints
    reason TEXT,                        -- why it failed or was rolled back
    project TEXT,
    commit_sha TEXT                     -- the git commit the artifact was built from, when known
);
CREATE INDEX IF NOT EXISTS promotion_env ON promotion (environment, id);
CREATE INDEX IF NOT EXISTS promotion_digest ON promotion (digest, environment);
CREATE UNIQUE INDEX IF NOT EXISTS promotion_one_live ON promotion (environment) WHERE status = 'live';
"""


class Status(str, Enum):
    LIVE = "live"
    SUPERSEDED = "superseded"  # was live, replaced by a later promotion: still a good digest
    ROLLED_BACK = "rolled-back"  # was live, taken back: known bad
    FAILED = "failed"  # refused by the promotion canary: never went live


PASSED = (Status.LIVE.value, Status.SUPERSEDED.value)


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger row."""

    id: int
    digest: str
    environment: str
    promoted_at: str
    actor: str
    kind: str
    status: Status
    previous_digest: str | None
    canary: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    reason: str | None = None
    project: str | None = None
    commit_sha: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "digest": self.digest,
            "environment": self.environment,
            "promoted_at": self.promoted_at,
            "actor": self.actor,
            "kind": self.kind,
            "status": self.status.value,
            "previous_digest": self.previous_digest,
            "reason": self.reason,
            "project": self.project,
            "commit": self.commit_sha,
            "canary": dict(self.canary),
        }


@dataclass(frozen=True, slots=True)
class LedgerView:
    """What a promotion decision needs to know from the ledger, as plain values (so decisions stay pure)."""

    live: Mapping[str, str]  # environment -> live digest
    passed: Mapping[str, frozenset[str]]  # environment -> digests that passed there
    failed: Mapping[str, frozenset[str]]  # environment -> digests whose last attempt there failed
    # environment -> digests rolled back there (and not promoted there again since)
    rolled_back: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))

    def rolled_back_in(self, env: str, digest: str) -> bool:
        return digest in self.rolled_back.get(env, frozenset())

    def live_in(self, env: str) -> str | None:
        return self.live.get(env)

    def passed_in(self, env: str, digest: str) -> bool:
        return digest in self.passed.get(env, frozenset())

    def failed_in(self, env: str, digest: str) -> bool:
        return digest in self.failed.get(env, frozenset())


class Ledger:
    """The `promotion` table of a StateDB."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.ensure("promotion", DDL)

    def record(
        self,
        *,
        digest: str,
        environment: str,
        at: str,
        actor: str,
        passed: bool,
        canary: Mapping[str, Any],
        kind: str = "promote",
        reason: str | None = None,
        project: str | None = None,
        commit_sha: str | None = None,
    ) -> Entry:
        """Record an attempt. A passed one becomes live; the previous live row becomes superseded (or
        rolled-back when this is a rollback). One transaction, so there is never zero or two live rows."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT id, digest FROM promotion WHERE environment = ? AND status = 'live'", (environment,)
            ).fetchone()
            previous = row["digest"] if row else None
            if passed and row is not None:
                old_status = Status.ROLLED_BACK if kind == "rollback" else Status.SUPERSEDED
                conn.execute(
                    "UPDATE promotion SET status = ?, reason = COALESCE(reason, ?) WHERE id = ?",
                    (old_status.value, reason if kind == "rollback" else None, row["id"]),
                )
            cur = conn.execute(
                "INSERT INTO promotion (digest, environment, promoted_at, actor, kind, status,"
                " previous_digest, canary, reason, project, commit_sha)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    digest,
                    environment,
                    at,
                    actor,
                    kind,
                    (Status.LIVE if passed else Status.FAILED).value,
                    previous,
                    json.dumps(dict(canary), sort_keys=True, default=str),
                    reason,
                    project,
                    commit_sha,
                ),
            )
            new_id = cur.lastrowid
        entry = self.entry(int(new_id or 0))
        assert entry is not None
        return entry

    def entry(self, entry_id: int) -> Entry | None:
        row = self.db.connect().execute("SELECT * FROM promotion WHERE id = ?", (entry_id,)).fetchone()
        return _entry(row) if row else None

    def history(self, environment: str | None = None, digest: str | None = None) -> list[Entry]:
        """Rows, newest first, optionally for one environment and/or digest."""
        sql, args = "SELECT * FROM promotion WHERE 1 = 1", list[str]()
        if environment is not None:
            sql, args = sql + " AND environment = ?", [*args, environment]
        if digest is not None:
            sql, args = sql + " AND digest = ?", [*args, digest]
        rows = self.db.connect().execute(sql + " ORDER BY id DESC", args).fetchall()
        return [_entry(r) for r in rows]

    def live(self, environment: str) -> Entry | None:
        """The live row of an environment, if any digest was ever promoted there."""
        row = (
            self.db.connect()
            .execute("SELECT * FROM promotion WHERE environment = ? AND status = 'live'", (environment,))
            .fetchone()
        )
        return _entry(row) if row else None

    def passed_digests(self, environment: str) -> list[str]:
        """Digests that passed in `environment` (and were not rolled back since), most recent first."""
        good = self.view().passed.get(environment, frozenset())
        seen: list[str] = []
        for e in self.history(environment):
            if e.digest in good and e.digest not in seen:
                seen.append(e.digest)
        return seen

    def last_passed(self, environment: str, digest: str) -> Entry | None:
        """The most recent passing row of `digest` in `environment` (its fingerprints are the baseline)."""
        row = (
            self.db.connect()
            .execute(
                "SELECT * FROM promotion WHERE environment = ? AND digest = ? AND status IN (?, ?)"
                " ORDER BY id DESC LIMIT 1",
                (environment, digest, *PASSED),
            )
            .fetchone()
        )
        return _entry(row) if row else None

    def last_known_good(self, environment: str) -> Entry | None:
        """The most recent passed row of another digest than the live one, skipping digests whose latest
        outcome in the environment is a rollback."""
        current = self.live(environment)
        good = self.view().passed.get(environment, frozenset())
        for e in self.history(environment):
            if current is not None and e.digest == current.digest:
                continue
            if e.status is Status.SUPERSEDED and e.digest in good:
                return e
        return None

    def view(self) -> LedgerView:
        """A snapshot of every environment's live, passed and failed digests."""
        live: dict[str, str] = {}
        settled: dict[tuple[str, str], str] = {}  # latest status that is not a failed attempt
        last: dict[tuple[str, str], str] = {}
        for r in self.db.connect().execute("SELECT environment, digest, status FROM promotion ORDER BY id"):
            key, status = (r["environment"], r["digest"]), r["status"]
            if status == Status.LIVE.value:
                live[key[0]] = key[1]
            if status != Status.FAILED.value:
                settled[key] = status
            last[key] = status
        passed: dict[str, set[str]] = {}
        for (env, digest), status in settled.items():
            if status in PASSED:
                passed.setdefault(env, set()).add(digest)
        failed: dict[str, set[str]] = {}
        for (env, digest), status in last.items():
            if status == Status.FAILED.value:
                failed.setdefault(env, set()).add(digest)
        rolled: dict[str, set[str]] = {}
        for (env, digest), status in settled.items():
            if status == Status.ROLLED_BACK.value:
                rolled.setdefault(env, set()).add(digest)
        return LedgerView(
            MappingProxyType(live),
            MappingProxyType({k: frozenset(v) for k, v in passed.items()}),
            MappingProxyType({k: frozenset(v) for k, v in failed.items()}),
            MappingProxyType({k: frozenset(v) for k, v in rolled.items()}),
        )


def _entry(row: Any) -> Entry:
    return Entry(
        id=row["id"],
        digest=row["digest"],
        environment=row["environment"],
        promoted_at=row["promoted_at"],
        actor=row["actor"],
        kind=row["kind"],
        status=Status(row["status"]),
        previous_digest=row["previous_digest"],
        canary=MappingProxyType(json.loads(row["canary"] or "{}")),
        reason=row["reason"],
        project=row["project"],
        commit_sha=row["commit_sha"],
    )
