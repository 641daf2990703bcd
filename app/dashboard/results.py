"""Gate results (state DB table `gate_results`): the JSON report of every gate a worker finished, per
repository, pull request and head SHA, so the dashboard can show them. The newest `retention` per
repository are kept; the report is stored zlib-compressed (a canary report of many models is large)."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from app.service.perform import DDL as CHECK_RUNS_DDL
from app.state import StateDB

DDL = """
CREATE TABLE IF NOT EXISTS gate_results (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  installation_id INTEGER,
  repo TEXT NOT NULL,               -- owner/name as GitHub spells it
  pr_number INTEGER,                -- NULL for a merge group
  head_sha TEXT NOT NULL,
  base_sha TEXT NOT NULL,
  delivery_id TEXT NOT NULL,        -- joins delivery_check_runs: the check runs the gate posted
  at REAL NOT NULL,                 -- unix time the gate finished
  verdict TEXT NOT NULL,
  summary TEXT NOT NULL,            -- json: per gate verdict and counts (the list pages read only this)
  report BLOB NOT NULL              -- zlib(json) of the report (docs/report-json.md)
);
CREATE INDEX IF NOT EXISTS gate_results_repo ON gate_results (repo COLLATE NOCASE, id);
CREATE UNIQUE INDEX IF NOT EXISTS gate_results_head
  ON gate_results (repo COLLATE NOCASE, COALESCE(pr_number, 0), head_sha);
"""


@dataclass(frozen=True, slots=True)
class GateRun:
    """One stored gate result, without its report."""

    id: int
    repo: str
    pr_number: int | None
    head_sha: str
    base_sha: str
    at: float
    verdict: str
    gates: tuple[dict[str, Any], ...]  # name, verdict, counts
    check_runs: tuple[tuple[str, int], ...]  # (check run name, id) posted for this head


class GateResults:
    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.ensure("delivery_check_runs", CHECK_RUNS_DDL)
        db.ensure("gate_results", DDL)

    def save(
        self,
        report: dict[str, Any],
        *,
        repo: str,
        installation_id: int | None,
        pr_number: int | None,
        head_sha: str,
        base_sha: str,
        delivery_id: str,
        at: float,
        retention: int,
    ) -> None:
        """Keep `report` (a RunReport's JSON) for this head, replacing an earlier run of the same head,
        and drop the repository's results beyond the newest `retention`."""
        summary = [
            {"name": g.get("name"), "verdict": g.get("verdict"), "counts": g.get("counts") or {}}
            for g in report.get("gates") or []
        ]
        blob = zlib.compress(json.dumps(report, default=str, ensure_ascii=False).encode(), 6)
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM gate_results WHERE repo = ? COLLATE NOCASE AND COALESCE(pr_number, 0) = ?"
                " AND head_sha = ?",
                (repo, pr_number or 0, head_sha),
            )
            conn.execute(
                "INSERT INTO gate_results (installation_id, repo, pr_number, head_sha, base_sha, delivery_id,"
                " at, verdict, summary, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    installation_id,
                    repo,
                    pr_number,
                    head_sha,
                    base_sha,
                    delivery_id,
                    at,
                    str(report.get("verdict", "")),
                    json.dumps(summary),
                    blob,
                ),
            )
            conn.execute(
                "DELETE FROM gate_results WHERE repo = ? COLLATE NOCASE AND id NOT IN"
                " (SELECT id FROM gate_results WHERE repo = ? COLLATE NOCASE ORDER BY id DESC LIMIT ?)",
                (repo, repo, retention),
            )

    def recent(self, repo: str, limit: int = 50) -> list[GateRun]:
        """The repository's newest results first."""
        rows = (
            self.db.connect()
            .execute(
                "SELECT id, repo, pr_number, head_sha, base_sha, at, verdict, summary, delivery_id"
                " FROM gate_results WHERE repo = ? COLLATE NOCASE ORDER BY id DESC LIMIT ?",
                (repo, limit),
            )
            .fetchall()
        )
        return [self._run(r) for r in rows]

    def find(self, repo: str, pr_number: int, head_sha: str) -> tuple[GateRun, dict[str, Any]] | None:
        """A result and its report; `head_sha` may be a prefix of at least 7 characters."""
        if len(head_sha) < 7 or not all(c in "0123456789abcdef" for c in head_sha):
            return None
        row = (
            self.db.connect()
            .execute(
                "SELECT * FROM gate_results WHERE repo = ? COLLATE NOCASE AND COALESCE(pr_number, 0) = ?"
                " AND head_sha LIKE ? || '%' ORDER BY id DESC LIMIT 1",
                (repo, pr_number, head_sha),
            )
            .fetchone()
        )
        if row is None:
            return None
        report: dict[str, Any] = json.loads(zlib.decompress(row["report"]))
        return self._run(row), report

    def _run(self, row: Any) -> GateRun:
        runs = (
            self.db.connect()
            .execute(
                "SELECT name, check_run_id FROM delivery_check_runs WHERE delivery_id = ? AND head_sha = ?"
                " ORDER BY name",
                (row["delivery_id"], row["head_sha"]),
            )
            .fetchall()
        )
        return GateRun(
            id=int(row["id"]),
            repo=str(row["repo"]),
            pr_number=row["pr_number"],
            head_sha=str(row["head_sha"]),
            base_sha=str(row["base_sha"]),
            at=float(row["at"]),
            verdict=str(row["verdict"]),
            gates=tuple(json.loads(row["summary"])),
            check_runs=tuple((str(r["name"]), int(r["check_run_id"])) for r in runs),
        )
