"""Acknowledged breaking changes: who accepted a head commit's breaking changes with the check-run
button, and when. The pipeline marks the findings of that head as accepted and the report shows it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from app.state import StateDB

if TYPE_CHECKING:
    from app.pipeline import Acknowledgment

DDL = """
CREATE TABLE IF NOT EXISTS acknowledgments (
    repo        TEXT NOT NULL,
    pr_number   INTEGER,
    head_sha    TEXT NOT NULL,
    login       TEXT NOT NULL,
    at          TEXT NOT NULL,          -- ISO 8601, UTC
    delivery_id TEXT NOT NULL UNIQUE    -- a redelivered click records nothing new
);
CREATE INDEX IF NOT EXISTS acknowledgments_head ON acknowledgments (repo, head_sha);
"""


class Acknowledgments:
    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.ensure("acknowledgments", DDL)

    def record(
        self, repo: str, pr_number: int | None, head_sha: str, login: str, at: float, delivery_id: str
    ) -> None:
        """Record that `login` acknowledged the breaking changes of `head_sha` at epoch `at`."""
        stamp = dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds")
        self.db.connect().execute(
            "INSERT OR IGNORE INTO acknowledgments (repo, pr_number, head_sha, login, at, delivery_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (repo, pr_number, head_sha, login, stamp, delivery_id),
        )

    def for_head(self, repo: str, head_sha: str) -> list[Acknowledgment]:
        """The acknowledgments of one head commit, earliest first (the pipeline shows the first)."""
        from app.pipeline import Acknowledgment

        rows = (
            self.db.connect()
            .execute(
                "SELECT head_sha, login, at FROM acknowledgments WHERE repo = ? AND head_sha = ?"
                " ORDER BY at, rowid",
                (repo, head_sha),
            )
            .fetchall()
        )
        return [Acknowledgment(sha=r["head_sha"], by=r["login"], at=r["at"]) for r in rows]
