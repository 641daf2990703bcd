"""The run ledger (state DB): every versioned table a run wrote, what went into it, whether its audit
passed, and which version each dataset's view points at. Time is passed in."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.state import StateDB

DDL = """
CREATE TABLE IF NOT EXISTS run_versions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  env TEXT NOT NULL,
  dataset TEXT NOT NULL,
  version INTEGER NOT NULL,
  relation TEXT NOT NULL,              -- the versioned physical table
  run_window TEXT NOT NULL,            -- partition or run window ('' for a full rebuild)
  input_fingerprint TEXT NOT NULL,     -- upstream data versions + SQL
  artifact_digest TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('published', 'audit-failed', 'failed', 'skipped')),
  forced INTEGER NOT NULL DEFAULT 0,
  reason TEXT,
  audit TEXT NOT NULL DEFAULT '[]',    -- json: the audit checks and their measured values
  started_at TEXT NOT NULL,
  duration REAL,
  bytes REAL,                          -- rows written (the name predates that; it never held bytes)
  dropped INTEGER NOT NULL DEFAULT 0,  -- the physical table was removed by retention
  UNIQUE (env, dataset, version)
);
CREATE INDEX IF NOT EXISTS run_versions_key
  ON run_versions (env, dataset, run_window, input_fingerprint, artifact_digest, status);
CREATE TABLE IF NOT EXISTS run_switches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  env TEXT NOT NULL,
  dataset TEXT NOT NULL,
  version INTEGER NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('publish', 'restore')),
  at TEXT NOT NULL,
  run_id TEXT
);
CREATE INDEX IF NOT EXISTS run_switches_env ON run_switches (env, dataset, id);
CREATE TABLE IF NOT EXISTS run_claims (  -- every version number an attempt took, recorded or not
  env TEXT NOT NULL,
  dataset TEXT NOT NULL,
  version INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  prepared TEXT,                       -- json: the VersionRecord to record once its view swap is done
  PRIMARY KEY (env, dataset, version)
);
"""


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One versioned table written by a run."""

    run_id: str
    env: str
    dataset: str
    version: int
    relation: str
    window: str
    fingerprint: str
    artifact: str
    status: str
    forced: bool
    reason: str | None
    started_at: str
    duration: float | None
    rows: float | None  # rows the run wrote
    dropped: bool
    audit: tuple[Mapping[str, Any], ...] = ()

    @property
    def audited(self) -> bool:
        return self.status == "published"

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "env": self.env,
            "dataset": self.dataset,
            "version": self.version,
            "relation": self.relation,
            "window": self.window,
            "input_fingerprint": self.fingerprint,
            "artifact_digest": self.artifact,
            "status": self.status,
            "forced": self.forced,
            "reason": self.reason,
            "started_at": self.started_at,
            "duration_seconds": self.duration,
            "rows": self.rows,
            "dropped": self.dropped,
            "audit": [dict(a) for a in self.audit],
        }


def from_json(text: str) -> VersionRecord:
    """A VersionRecord from `json.dumps(dataclasses.asdict(rec))`."""
    fields = json.loads(text)
    return VersionRecord(**{**fields, "audit": tuple(fields.get("audit", ()))})


def _record(row: Any) -> VersionRecord:
    return VersionRecord(
        run_id=row["run_id"],
        env=row["env"],
        dataset=row["dataset"],
        version=row["version"],
        relation=row["relation"],
        window=row["run_window"],
        fingerprint=row["input_fingerprint"],
        artifact=row["artifact_digest"],
        status=row["status"],
        forced=bool(row["forced"]),
        reason=row["reason"],
        started_at=row["started_at"],
        duration=row["duration"],
        rows=row["bytes"],
        dropped=bool(row["dropped"]),
        audit=tuple(json.loads(row["audit"])),
    )


class RunLedger:
    """The run tables of a StateDB."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.ensure("run_ledger", DDL)

    def next_version(
        self, env: str, dataset: str, run_id: str = "", taken: Callable[[int], bool] = lambda v: False
    ) -> int:
        """Claim a version number no attempt has used: above every recorded or claimed one (a run or
        backfill that died before its record still claimed its number), and not `taken` (a table of
        that number is already in the warehouse). Claimed in one state transaction: two processes never
        get the same number."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT MAX(v) AS v FROM (SELECT MAX(version) AS v FROM run_versions WHERE env = ? AND"
                " dataset = ? UNION ALL SELECT MAX(version) FROM run_claims WHERE env = ? AND dataset = ?)",
                (env, dataset, env, dataset),
            ).fetchone()
            version = int(row["v"] or 0) + 1
            while taken(version):
                version += 1
            conn.execute(
                "INSERT INTO run_claims (env, dataset, version, run_id) VALUES (?, ?, ?, ?)",
                (env, dataset, version, run_id),
            )
        return version

    def prepare(self, rec: VersionRecord) -> None:
        """Keep the record of a version about to be published, for whoever finds its view swapped after
        a crash cut the writer off before `record` (`prepared`)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO run_claims (env, dataset, version, run_id, prepared) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (env, dataset, version) DO UPDATE SET prepared = excluded.prepared",
                (rec.env, rec.dataset, rec.version, rec.run_id, json.dumps(dataclasses.asdict(rec))),
            )

    def prepared(self, env: str, dataset: str, version: int) -> VersionRecord | None:
        """The record `prepare` kept for a version, if any."""
        row = (
            self.db.connect()
            .execute(
                "SELECT prepared FROM run_claims WHERE env = ? AND dataset = ? AND version = ?",
                (env, dataset, version),
            )
            .fetchone()
        )
        return from_json(row["prepared"]) if row and row["prepared"] else None

    def applied(
        self, env: str, dataset: str, window: str, fingerprint: str, artifact: str
    ) -> VersionRecord | None:
        """The earlier published run that already applied exactly this data, if any."""
        row = (
            self.db.connect()
            .execute(
                "SELECT * FROM run_versions WHERE env = ? AND dataset = ? AND run_window = ?"
                " AND input_fingerprint = ?"
                " AND artifact_digest = ? AND status = 'published' ORDER BY id DESC LIMIT 1",
                (env, dataset, window, fingerprint, artifact),
            )
            .fetchone()
        )
        return _record(row) if row else None

    def record(self, rec: VersionRecord, live: bool = True) -> None:
        """Store a version; a published one becomes the live one unless `live` is False (a crashed
        publish found after the view had moved on)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO run_versions (run_id, env, dataset, version, relation, run_window,"
                " input_fingerprint,"
                " artifact_digest, status, forced, reason, audit, started_at, duration, bytes)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rec.run_id,
                    rec.env,
                    rec.dataset,
                    rec.version,
                    rec.relation,
                    rec.window,
                    rec.fingerprint,
                    rec.artifact,
                    rec.status,
                    int(rec.forced),
                    rec.reason,
                    json.dumps([dict(a) for a in rec.audit]),
                    rec.started_at,
                    rec.duration,
                    rec.rows,
                ),
            )
            if rec.status == "published" and live:
                conn.execute(
                    "INSERT INTO run_switches (env, dataset, version, action, at, run_id)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (rec.env, rec.dataset, rec.version, "publish", rec.started_at, rec.run_id),
                )

    def switch(self, env: str, dataset: str, version: int, at: str) -> None:
        """Record a restore (the view now points at `version`)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO run_switches (env, dataset, version, action, at) VALUES (?, ?, ?, 'restore', ?)",
                (env, dataset, version, at),
            )

    def live_version(self, env: str, dataset: str) -> int | None:
        row = (
            self.db.connect()
            .execute(
                "SELECT version FROM run_switches WHERE env = ? AND dataset = ? ORDER BY id DESC LIMIT 1",
                (env, dataset),
            )
            .fetchone()
        )
        return int(row["version"]) if row else None

    def versions(self, env: str, dataset: str) -> list[VersionRecord]:
        rows = (
            self.db.connect()
            .execute(
                "SELECT * FROM run_versions WHERE env = ? AND dataset = ? ORDER BY version", (env, dataset)
            )
            .fetchall()
        )
        return [_record(r) for r in rows]

    def version(self, env: str, dataset: str, version: int) -> VersionRecord | None:
        row = (
            self.db.connect()
            .execute(
                "SELECT * FROM run_versions WHERE env = ? AND dataset = ? AND version = ?",
                (env, dataset, version),
            )
            .fetchone()
        )
        return _record(row) if row else None

    def mark_dropped(self, env: str, dataset: str, versions: list[int]) -> None:
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE run_versions SET dropped = 1 WHERE env = ? AND dataset = ? AND version = ?",
                [(env, dataset, v) for v in versions],
            )

    def latest_published(self, env: str) -> dict[str, VersionRecord]:
        """Per dataset, the version its view points at now (for freshness-by-publish and cost SLIs)."""
        rows = (
            self.db.connect()
            .execute(
                "SELECT v.* FROM run_versions v JOIN (SELECT env, dataset, version, MAX(id) FROM run_switches"
                " WHERE env = ? GROUP BY dataset) s"
                " ON s.env = v.env AND s.dataset = v.dataset AND s.version = v.version",
                (env,),
            )
            .fetchall()
        )
        return {r["dataset"]: _record(r) for r in rows}
