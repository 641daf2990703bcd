"""A breach with a culprit: PR #7 doubles `revenue`, breaking the invariant revenue = sum of orders.
A real git repository, a real prod DuckDB file run with write-audit-publish before and after the merge,
one good evaluation before it, and the GitHub stub seeded with the default branch and PR #7. No contract
names owners: CODEOWNERS does."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from app.project.load import load_project
from app.project.tree import DirTree
from app.runs.ledger import RunLedger
from app.runs.target import graph, target
from app.runs.wap import RunRequest, execute
from app.slo.service import evaluate_env
from app.state import StateDB
from tests.revert.conftest import Repo
from tests.support.github_stub import GitHubStub

START = int(dt.datetime(2026, 11, 20, tzinfo=dt.UTC).timestamp())
CONFIG = """name: shop
sources:
  raw_orders:
    columns: {order_id: bigint, amount: double}
environments:
  prod:
    parameters: {data: prod.duckdb, schema: analytics}
invariants:
  - name: revenue_matches_orders
    left: {dataset: orders, measure: sum(amount)}
    right: {dataset: revenue, measure: sum(total)}
    tolerance: {absolute: 0.01}
"""


@dataclass
class Breached:
    repo: Repo
    state: Path

    def at(self, hours: float = 0) -> dt.datetime:
        """`hours` after the last commit (and the last run)."""
        return dt.datetime.fromtimestamp(self.repo.clock, tz=dt.UTC) + dt.timedelta(hours=hours)


def _run(repo: Repo, state: Path, started: dt.datetime) -> None:
    project = load_project(DirTree(repo.path))
    tgt = target(project, repo.path, "prod")
    conn = duckdb.connect(str(tgt.database))
    req = RunRequest(
        env="prod",
        schema=tgt.schema,
        source_schema=tgt.source_schema,
        window="",
        artifact="working-tree",
        run_id=f"run-{started:%H%M}",
        started=started,
    )
    assert execute(conn, graph(project, tgt), req, RunLedger(StateDB(state)), progress=lambda m: None).ok
    conn.close()


def build(tmp_path: Path, stub: GitHubStub, state: Path | None = None) -> Breached:
    repo = Repo(tmp_path / "repo", clock=START)
    repo.path.mkdir()
    repo.git("init", "-q", "-b", "main")
    repo.commit(
        "root",
        {
            "datacanary.yml": CONFIG,
            ".gitignore": "*.duckdb*\n",
            ".github/CODEOWNERS": "*  @someone\n/models/  @ada-lovelace @acme/data\n",
            "models/orders.sql": "select order_id, amount from raw_orders\n",
            "models/revenue.sql": "select sum(amount) as total from orders\n",
        },
    )
    conn = duckdb.connect(str(repo.path / "prod.duckdb"))
    conn.execute("CREATE TABLE raw_orders AS SELECT range AS order_id, 10.0 AS amount FROM range(5)")
    conn.close()
    b = Breached(repo, state or tmp_path / "state.sqlite")
    _run(repo, b.state, b.at(1))
    assert evaluate_env(str(repo.path), "prod", str(b.state), b.at(2)).evaluation.status.value == "ok"
    repo.clock += 3 * 3600
    repo.merge_pr(
        7,
        "double-revenue",
        "Count revenue twice",
        {"models/revenue.sql": "select sum(amount) * 2 as total from orders\n"},
    )
    _run(repo, b.state, b.at(1))
    head = repo.git("rev-parse", "main")
    stub.refs["heads/main"] = head
    stub.add_commit(head, tree_sha="e" * 40)
    stub.add_pull(7, title="Count revenue twice")
    stub.graphql_responder = lambda body: {"errors": [{"message": "cannot revert"}]}
    return b
