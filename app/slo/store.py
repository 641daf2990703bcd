"""Stored evaluations (state DB table `slo_evaluations`), so budgets and burn rates can look back."""

from __future__ import annotations

import datetime as dt
import json

from app.slo.budget import Sample
from app.slo.status import Evaluation, Status
from app.state import StateDB

DDL = """
CREATE TABLE IF NOT EXISTS slo_evaluations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  env TEXT NOT NULL,
  at TEXT NOT NULL,              -- ISO 8601 UTC, sortable
  key TEXT NOT NULL,             -- dataset:sli or invariant:name
  dataset TEXT NOT NULL,
  sli TEXT NOT NULL,
  status TEXT NOT NULL,
  value REAL,
  threshold REAL NOT NULL,
  result TEXT NOT NULL           -- the SliResult as JSON
);
CREATE INDEX IF NOT EXISTS slo_evaluations_key ON slo_evaluations (env, key, at);
"""


def _iso(at: dt.datetime) -> str:
    utc = at.astimezone(dt.UTC) if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


class EvaluationStore:
    """Evaluations of one state database."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.ensure("slo_evaluations", DDL)

    def save(self, evaluation: Evaluation) -> None:
        """Store the evaluation's results. An evaluation of an instant already stored (a retried cron job,
        `--at` given twice) replaces it: one instant is one measurement, however often it is taken, so a
        retry never adds burn-rate evidence."""
        at = _iso(evaluation.at)
        with self.db.transaction() as conn:
            conn.executemany(
                "DELETE FROM slo_evaluations WHERE env = ? AND key = ? AND at = ?",
                [(evaluation.env, r.objective.key, at) for r in evaluation.results],
            )
            conn.executemany(
                "INSERT INTO slo_evaluations (env, at, key, dataset, sli, status, value, threshold, result)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        evaluation.env,
                        at,
                        r.objective.key,
                        r.objective.dataset,
                        r.objective.sli,
                        r.status.value,
                        r.value,
                        r.objective.threshold,
                        json.dumps(r.to_json(), default=str),
                    )
                    for r in evaluation.results
                ],
            )

    def samples(self, env: str, key: str, since: dt.datetime) -> list[Sample]:
        rows = (
            self.db.connect()
            .execute(
                # one sample per instant, the latest stored (a state file written before `save` replaced
                # re-evaluations may hold several)
                "SELECT at, status FROM slo_evaluations WHERE id IN (SELECT max(id) FROM slo_evaluations"
                " WHERE env = ? AND key = ? AND at > ? GROUP BY at) ORDER BY at",
                (env, key, _iso(since)),
            )
            .fetchall()
        )
        return [Sample(_parse(r["at"]), Status(r["status"])) for r in rows]

    def last_good(self, env: str, key: str, before: dt.datetime) -> dt.datetime | None:
        """When this SLI was last measured good (the start of the culprit search)."""
        row = (
            self.db.connect()
            .execute(
                "SELECT MAX(at) AS at FROM slo_evaluations WHERE status = 'ok' AND id IN (SELECT max(id)"
                " FROM slo_evaluations WHERE env = ? AND key = ? AND at <= ? GROUP BY at)",  # as samples()
                (env, key, _iso(before)),
            )
            .fetchone()
        )
        return _parse(row["at"]) if row and row["at"] else None
