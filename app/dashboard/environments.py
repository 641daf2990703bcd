"""Which repository an environment's rows belong to (state DB table `repo_environments`).

The App keeps one state database for every repository it serves, and the SLO evaluations, incidents,
promotions and runs in it are keyed by environment name only. The App claims (repository, environment)
whenever it acts for one (an alert, a deployment protection rule), and the dashboard shows an
environment's rows to the readers of the repository that claimed it. An environment claimed by two
repositories cannot be told apart, so it is shown to neither (see docs/dashboard.md)."""

from __future__ import annotations

from app.state import StateDB

DDL = """
CREATE TABLE IF NOT EXISTS repo_environments (
  repo TEXT NOT NULL COLLATE NOCASE,
  env TEXT NOT NULL,
  first_seen REAL NOT NULL,
  PRIMARY KEY (repo, env)
);
CREATE INDEX IF NOT EXISTS repo_environments_env ON repo_environments (env);
"""


class RepoEnvironments:
    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.ensure("repo_environments", DDL)

    def claim(self, repo: str, env: str, now: float) -> None:
        self.db.connect().execute(
            "INSERT OR IGNORE INTO repo_environments (repo, env, first_seen) VALUES (?, ?, ?)",
            (repo, env, now),
        )

    def of(self, repo: str) -> tuple[list[str], list[str]]:
        """(environments only `repo` claimed, environments it shares with another repository), sorted."""
        rows = (
            self.db.connect()
            .execute(
                "SELECT e.env, (SELECT COUNT(*) FROM repo_environments o WHERE o.env = e.env) AS n"
                " FROM repo_environments e WHERE e.repo = ? ORDER BY e.env",
                (repo,),
            )
            .fetchall()
        )
        return [r["env"] for r in rows if r["n"] == 1], [r["env"] for r in rows if r["n"] > 1]
