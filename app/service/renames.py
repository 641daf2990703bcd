"""The renames and transfers the App handled, per repository id, with the time it received each: where a
repository's state went (the latest name), and what an old name is called now."""

from __future__ import annotations

from app.state import StateDB

DDL = """
CREATE TABLE IF NOT EXISTS repository_moves (
  delivery_id TEXT PRIMARY KEY,
  repo_id     INTEGER NOT NULL,
  old         TEXT NOT NULL,
  new         TEXT NOT NULL,
  received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS repository_moves_latest ON repository_moves (repo_id, received_at);
CREATE INDEX IF NOT EXISTS repository_moves_old ON repository_moves (old COLLATE NOCASE);
"""


def record(db: StateDB, delivery_id: str, repo_id: int, old: str, new: str, received_at: float) -> str:
    """Record a move of repository `repo_id`; the name its latest move (by the time received) gave it: a
    rename received after this one may have been handled first."""
    db.ensure("repository_moves", DDL)
    conn = db.connect()
    conn.execute(
        "INSERT OR IGNORE INTO repository_moves (delivery_id, repo_id, old, new, received_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (delivery_id, repo_id, old, new, received_at),
    )
    return latest(db, repo_id) or new


def latest(db: StateDB, repo_id: int) -> str | None:
    db.ensure("repository_moves", DDL)
    row = (
        db.connect()
        .execute(
            "SELECT new FROM repository_moves WHERE repo_id = ? ORDER BY received_at DESC, rowid DESC LIMIT 1",
            (repo_id,),
        )
        .fetchone()
    )
    return None if row is None else str(row[0])


def renamed_to(db: StateDB, name: str) -> str | None:
    """The name a repository once called `name` has now (None: no repository the App saw was renamed
    away from `name`, or it has that name again)."""
    db.ensure("repository_moves", DDL)
    ids = [
        int(r[0])
        for r in db.connect().execute(
            "SELECT DISTINCT repo_id FROM repository_moves WHERE old = ? COLLATE NOCASE", (name,)
        )
    ]
    for repo_id in ids:
        now = latest(db, repo_id)
        if now is not None and now.lower() != name.lower():
            return now
    return None
