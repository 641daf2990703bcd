"""A real git history in tmp_path: pull requests merged into main with GitHub's merge-commit messages."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.revert.culprit import Lineage
from tests.service.conftest import private_key_pem  # noqa: F401  (the App's key, for the alerts route)
from tests.support.fixtures import github_stub  # noqa: F401


@dataclass
class Repo:
    path: Path
    clock: int = 1_790_000_000  # commit times advance one hour per commit: deterministic history
    merges: dict[int, str] = field(default_factory=dict)

    def git(self, *args: str) -> str:
        self.clock += 3600
        env = {
            **os.environ,
            "GIT_AUTHOR_DATE": f"@{self.clock} +0000",
            "GIT_COMMITTER_DATE": f"@{self.clock} +0000",
        }
        return subprocess.run(
            ["git", "-C", str(self.path), *args], capture_output=True, check=True, text=True, env=env
        ).stdout.strip()

    def write(self, files: dict[str, str | None]) -> None:
        for rel, text in files.items():
            target = self.path / rel
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.git("add", "-A")

    def commit(self, message: str, files: dict[str, str | None]) -> str:
        self.write(files)
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def merge_pr(self, number: int, branch: str, title: str, files: dict[str, str | None]) -> str:
        """A pull request branch with one commit, merged with GitHub's merge-commit message."""
        self.git("checkout", "-q", "-b", branch)
        self.commit(title, files)
        self.git("checkout", "-q", "main")
        self.git(
            "merge",
            "-q",
            "--no-ff",
            branch,
            "-m",
            f"Merge pull request #{number} from acme/{branch}",
            "-m",
            title,
        )
        sha = self.git("rev-parse", "HEAD")
        self.merges[number] = sha
        return sha


LINEAGE = Lineage(
    upstream={
        "stg_orders": ("raw_orders",),
        "orders": ("stg_orders",),
        "customers": ("raw_customers",),
        "revenue": ("orders",),
    },
    files={
        "stg_orders": ("models/stg_orders.sql",),
        "orders": ("models/orders.sql", "contracts/orders.odcs.yaml"),
        "customers": ("models/customers.sql",),
        "revenue": ("models/revenue.sql",),
    },
    shared=("datacanary.yml",),
)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """main: a root commit, PR #1 changes stg_orders (upstream of orders), PR #2 changes customers only."""
    r = Repo(tmp_path / "repo")
    r.path.mkdir()
    r.git("init", "-q", "-b", "main")
    r.commit(
        "root",
        {
            "datacanary.yml": "name: shop\n",
            "models/stg_orders.sql": "select order_id, amount from raw_orders\n",
            "models/orders.sql": "select * from stg_orders\n",
            "models/customers.sql": "select * from raw_customers\n",
            "models/revenue.sql": "select sum(amount) from orders\n",
        },
    )
    r.merge_pr(
        1,
        "cents-to-euros",
        "Amounts in euros",
        {
            "models/stg_orders.sql": "select order_id, amount / 100 as amount from raw_orders\n",
            "models/stg_helpers.sql": "select 1 as one\n",
        },
    )
    r.merge_pr(
        2,
        "customer-names",
        "Customer names",
        {"models/customers.sql": "select id, name from raw_customers\n"},
    )
    return r
