"""Incidents by breach fingerprint (state DB table `revert_incidents`): which pull request or issue a
breach opened, and when it last alerted, so a repeated alert updates instead of opening another."""

from __future__ import annotations

import datetime as dt

from app.revert.plan import Incident
from app.state import StateDB

DDL = """
CREATE TABLE IF NOT EXISTS revert_incidents (
  fingerprint TEXT PRIMARY KEY,
  env TEXT NOT NULL,
  kind TEXT NOT NULL,               -- pull | issue
  number INTEGER,                   -- NULL until GitHub answered
  culprit TEXT,                     -- the culprit commit, when known
  opened_at TEXT NOT NULL,
  last_alert_at TEXT NOT NULL,
  alerts INTEGER NOT NULL DEFAULT 1
);
"""


class IncidentStore:
    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.ensure("revert_incidents", DDL)

    def get(self, fingerprint: str) -> Incident | None:
        row = (
            self.db.connect()
            .execute("SELECT * FROM revert_incidents WHERE fingerprint = ?", (fingerprint,))
            .fetchone()
        )
        if row is None:
            return None
        return Incident(
            row["fingerprint"],
            row["kind"],
            row["number"],
            dt.datetime.fromisoformat(row["last_alert_at"]),
            row["alerts"],
        )

    def opened(
        self, fingerprint: str, env: str, kind: str, number: int | None, culprit: str | None, at: dt.datetime
    ) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO revert_incidents"
                " (fingerprint, env, kind, number, culprit, opened_at, last_alert_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO UPDATE SET kind = excluded.kind,"
                " number = excluded.number, last_alert_at = excluded.last_alert_at",
                (fingerprint, env, kind, number, culprit, at.isoformat(), at.isoformat()),
            )

    def alerted(self, fingerprint: str, at: dt.datetime) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE revert_incidents SET last_alert_at = ?, alerts = alerts + 1 WHERE fingerprint = ?",
                (at.isoformat(), fingerprint),
            )
