"""Stored table profiles (state DB table `slo_health_profiles`, next to `slo_evaluations`), bounded:
the newest KEEP_ROWS evaluations of each dataset keep their row count and statuses (the volume
baseline), the newest KEEP_COLUMNS also their column profiles (the schema and distribution baselines).
`history` is the read API for the dashboard."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from app.slo.health import ColumnProfile, Profile
from app.slo.store import _iso, _parse
from app.state import StateDB

KEEP_ROWS = 20_000  # ten weeks of 5-minute evaluations: enough same-weekday buckets for the volume check
KEEP_COLUMNS = 100  # more than the default accept_after (12): the distribution baseline is always kept

DDL = """
CREATE TABLE IF NOT EXISTS slo_health_profiles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  env TEXT NOT NULL,
  dataset TEXT NOT NULL,
  at TEXT NOT NULL,              -- ISO 8601 UTC, as slo_evaluations.at
  rows INTEGER NOT NULL,
  columns TEXT,                  -- JSON column profiles; NULL once pruned
  statuses TEXT NOT NULL         -- JSON {health sli: status} of this evaluation
);
CREATE INDEX IF NOT EXISTS slo_health_profiles_key ON slo_health_profiles (env, dataset, at);
"""


class HealthStore:
    """Profiles of one state database."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.ensure("slo_health_profiles", DDL)

    def save(self, env: str, profile: Profile, statuses: Mapping[str, str]) -> None:
        cols = None if profile.columns is None else json.dumps([c.to_json() for c in profile.columns])
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO slo_health_profiles (env, dataset, at, rows, columns, statuses)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (env, profile.dataset, _iso(profile.at), profile.rows, cols, json.dumps(dict(statuses))),
            )
            for keep, what in (
                (KEEP_COLUMNS, "UPDATE slo_health_profiles SET columns = NULL"),
                (KEEP_ROWS, "DELETE FROM slo_health_profiles"),
            ):
                conn.execute(
                    f"{what} WHERE env = ? AND dataset = ? AND id NOT IN (SELECT id FROM slo_health_profiles"
                    " WHERE env = ? AND dataset = ? ORDER BY at DESC, id DESC LIMIT ?)"
                    + (" AND columns IS NOT NULL" if what.startswith("UPDATE") else ""),
                    (env, profile.dataset, env, profile.dataset, keep),
                )

    def recent(self, env: str, dataset: str, before: dt.datetime, limit: int = KEEP_ROWS) -> list[Profile]:
        """Stored profiles evaluated before `before`, newest first."""
        rows = (
            self.db.connect()
            .execute(
                "SELECT at, rows, columns, statuses FROM slo_health_profiles"
                " WHERE env = ? AND dataset = ? AND at < ? ORDER BY at DESC, id DESC LIMIT ?",
                (env, dataset, _iso(before), limit),
            )
            .fetchall()
        )
        return [
            Profile(
                dataset,
                _parse(r["at"]),
                int(r["rows"]),
                None
                if r["columns"] is None
                else tuple(ColumnProfile.from_json(c) for c in json.loads(r["columns"])),
                json.loads(r["statuses"]),
            )
            for r in rows
        ]


def history(db: StateDB, env: str, dataset: str, limit: int = 100) -> list[dict[str, Any]]:
    """The dashboard's read API: the newest `limit` profiles of `dataset` in `env`, oldest first, as
    plain dicts: `at` (ISO), `rows`, `statuses` ({health.volume: ok|breach|unknown, ...}) and `columns`
    (per column: type, kind, nulls, distinct, mean, quantiles; None once pruned)."""
    profiles = HealthStore(db).recent(env, dataset, dt.datetime.max.replace(tzinfo=dt.UTC), limit)
    return [
        {
            "at": p.at.isoformat(),
            "rows": p.rows,
            "statuses": dict(p.statuses),
            "columns": None if p.columns is None else [c.to_json() for c in p.columns],
        }
        for p in reversed(profiles)
    ]


def statuses_of(results: Sequence[Any], dataset: str) -> dict[str, str]:
    """{health sli: status} of one dataset's results in an evaluation."""
    return {r.objective.sli: r.status.value for r in results if r.objective.dataset == dataset}
