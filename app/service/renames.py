"""The renames and transfers the App handled, per repository id, with the time it received each: where a
repository's state goes (its current name), and what an old name is called now.

GitHub does not promise to deliver events in order, and workers do not handle them in order either, so
the current name is found by following the recorded moves from a rename's new name (A to B and B to C
give C, whichever came first). Only a chain that comes back to a name it passed (A to B, B to A) is
decided by the time each was received. `repository` `created` is recorded as a move onto the name itself,
so a new repository that takes an old name holds it."""

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
CREATE INDEX IF NOT EXISTS repository_moves_new ON repository_moves (new COLLATE NOCASE);
"""


def record(db: StateDB, delivery_id: str, repo_id: int, old: str, new: str, received_at: float) -> str:
    """Record a move of repository `repo_id` (`old` == `new`: it was created); its current name."""
    db.ensure("repository_moves", DDL)
    db.connect().execute(
        "INSERT OR IGNORE INTO repository_moves (delivery_id, repo_id, old, new, received_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (delivery_id, repo_id, old, new, received_at),
    )
    return current(db, repo_id, new)


def current(db: StateDB, repo_id: int, start: str) -> str:
    """Follow the recorded moves of `repo_id` from the name `start`; at a cycle, the latest received."""
    db.ensure("repository_moves", DDL)
    moves = [
        (str(r[0]), str(r[1]))
        for r in db.connect().execute(
            "SELECT old, new FROM repository_moves WHERE repo_id = ? AND lower(old) <> lower(new)"
            " ORDER BY received_at DESC, rowid DESC",
            (repo_id,),
        )
    ]
    name, seen = start, {start.lower()}
    while True:
        step = next((new for old, new in moves if old.lower() == name.lower()), None)
        if step is None:
            return name
        if step.lower() in seen:  # came back round: the latest rename received decides
            return moves[0][1]
        name = step
        seen.add(name.lower())


def renamed_to(db: StateDB, name: str) -> str | None:
    """The name a repository once called `name` has now (None: no repository the App saw was renamed
    away from `name`, or one holds that name now: it came back, or a new repository took it)."""
    db.ensure("repository_moves", DDL)
    rows = (
        db.connect()
        .execute(
            "SELECT repo_id FROM repository_moves WHERE old = ? COLLATE NOCASE OR new = ? COLLATE NOCASE"
            " GROUP BY repo_id ORDER BY max(received_at) DESC",
            (name, name),
        )
        .fetchall()
    )
    now = [current(db, int(r[0]), name) for r in rows]  # the latest to leave the name first
    if any(n.lower() == name.lower() for n in now):
        return None
    return now[0] if now else None
