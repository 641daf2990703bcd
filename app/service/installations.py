"""The installations of the app and the repositories each one covers, kept from `installation` and
`installation_repositories` events."""

from __future__ import annotations

from collections.abc import Iterable

from app.state import StateDB

DDL = """
CREATE TABLE IF NOT EXISTS installations (
    installation_id INTEGER PRIMARY KEY,
    account         TEXT NOT NULL,
    suspended       INTEGER NOT NULL DEFAULT 0,
    updated_at      REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS installed_repos (
    installation_id INTEGER NOT NULL REFERENCES installations (installation_id) ON DELETE CASCADE,
    full_name       TEXT NOT NULL,
    PRIMARY KEY (installation_id, full_name)
);
"""


class Installations:
    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.ensure("installations", DDL)

    def upsert(
        self, installation_id: int, account: str, now: float, *, suspended: bool | None = None
    ) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO installations (installation_id, account, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (installation_id) DO UPDATE SET account = excluded.account,"
                " updated_at = excluded.updated_at",
                (installation_id, account, now),
            )
            if suspended is not None:
                conn.execute(
                    "UPDATE installations SET suspended = ? WHERE installation_id = ?",
                    (int(suspended), installation_id),
                )

    def add_repos(self, installation_id: int, names: Iterable[str]) -> None:
        self.db.connect().executemany(
            "INSERT OR IGNORE INTO installed_repos (installation_id, full_name) VALUES (?, ?)",
            [(installation_id, n) for n in names],
        )

    def remove_repos(self, installation_id: int, names: Iterable[str]) -> None:
        self.db.connect().executemany(
            "DELETE FROM installed_repos WHERE installation_id = ? AND full_name = ?",
            [(installation_id, n) for n in names],
        )

    def delete(self, installation_id: int) -> None:
        """The app was uninstalled: forget the installation and its repositories."""
        self.db.connect().execute("DELETE FROM installations WHERE installation_id = ?", (installation_id,))

    def repos(self, installation_id: int | None = None) -> list[str]:
        """Installed repositories (of one installation, or of all active ones), sorted."""
        sql = (
            "SELECT r.full_name FROM installed_repos r JOIN installations i USING (installation_id)"
            " WHERE i.suspended = 0"
        )
        args: tuple[int, ...] = ()
        if installation_id is not None:
            sql += " AND r.installation_id = ?"
            args = (installation_id,)
        return sorted(str(r[0]) for r in self.db.connect().execute(sql + " ORDER BY 1", args))

    def installation_for(self, full_name: str) -> int | None:
        """The active installation covering repository `full_name` (None: not installed or suspended)."""
        row = (
            self.db.connect()
            .execute(
                "SELECT r.installation_id FROM installed_repos r JOIN installations i USING (installation_id)"
                " WHERE i.suspended = 0 AND lower(r.full_name) = lower(?) ORDER BY 1 LIMIT 1",
                (full_name,),
            )
            .fetchone()
        )
        return None if row is None else int(row[0])

    def get(self, installation_id: int) -> dict[str, object] | None:
        row = (
            self.db.connect()
            .execute("SELECT * FROM installations WHERE installation_id = ?", (installation_id,))
            .fetchone()
        )
        return None if row is None else dict(row)
