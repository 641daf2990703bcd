"""A health breach takes the same path as every SLI breach: PR #7 renames a category of `orders`, the
distribution check breaches, and the Action opens the revert pull request (real git repository, real
prod DuckDB file run with write-audit-publish, the shared GitHub stub)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from action.slo import main
from app.slo.service import evaluate_env
from tests.revert.conftest import Repo
from tests.revert.scenario import START, _run
from tests.revert.test_action_slo import _env
from tests.support.fixtures import github_stub  # noqa: F401
from tests.support.github_stub import GitHubStub

CONFIG = """name: shop
sources:
  raw_orders:
    columns: {order_id: bigint, status: varchar}
environments:
  prod:
    parameters: {data: prod.duckdb, schema: analytics}
slos:
  orders:
    owners: [ada-lovelace]
    health:
      distribution: {}
      schema: {}
"""


def test_a_renamed_category_opens_the_revert_of_the_change_that_renamed_it(
    tmp_path: Path, github_stub: GitHubStub
) -> None:
    repo = Repo(tmp_path / "repo", clock=START)
    repo.path.mkdir()
    repo.git("init", "-q", "-b", "main")
    repo.commit(
        "root",
        {
            "datacanary.yml": CONFIG,
            ".gitignore": "*.duckdb*\n",
            "models/orders.sql": "select order_id, status from raw_orders\n",
        },
    )
    conn = duckdb.connect(str(repo.path / "prod.duckdb"))
    conn.execute(
        "CREATE TABLE raw_orders AS SELECT range AS order_id,"
        " CASE WHEN range % 3 = 0 THEN 'returned' ELSE 'shipped' END AS status FROM range(3000)"
    )
    conn.close()
    state = tmp_path / "state.sqlite"

    def at(hours: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(repo.clock, tz=dt.UTC) + dt.timedelta(hours=hours)

    _run(repo, state, at(1))
    for hour in (2, 3):
        report = evaluate_env(str(repo.path), "prod", str(state), at(hour))
        assert not report.breaches
    repo.clock += 4 * 3600
    repo.merge_pr(
        7,
        "upper-status",
        "Upper-case statuses",
        {"models/orders.sql": "select order_id, upper(status) as status from raw_orders\n"},
    )
    _run(repo, state, at(1))
    head = repo.git("rev-parse", "main")
    github_stub.refs["heads/main"] = head
    github_stub.add_commit(head, tree_sha="e" * 40)
    github_stub.add_pull(7, title="Upper-case statuses")
    github_stub.graphql_responder = lambda body: {"errors": [{"message": "cannot revert"}]}

    from tests.revert.scenario import Breached

    env = _env(Breached(repo, state), github_stub, tmp_path)
    out: list[str] = []
    assert main(env, write=out.append, log=lambda m: None, now=at(2)) == 1
    (pull,) = [p for n, p in github_stub.pulls.items() if n != 7]
    assert pull["title"] == 'Revert "Upper-case statuses" (orders:health.distribution breached in prod)'
    assert "datacanary restore orders --to 1 --env prod" in pull["body"]
    assert "`orders:health.distribution`: shifted since" in pull["body"] and ": status" in pull["body"]
    assert github_stub.requested_reviewers[pull["number"]] == ["ada-lovelace"]
