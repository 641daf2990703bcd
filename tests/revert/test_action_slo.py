"""Breach to revert end to end: the Action's `mode: slo` on a real git repository, a real DuckDB
environment and the shared GitHub stub."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
import duckdb

from action.slo import main
from app.project.load import load_project
from app.project.tree import DirTree
from app.revert.history import show
from app.runs.ledger import RunLedger
from app.runs.plan import Graph
from app.runs.target import graph, target
from app.runs.wap import RunRequest, execute
from app.slo.service import evaluate_env
from app.state import StateDB
from tests.revert.conftest import Repo
from tests.support.fixtures import github_stub  # noqa: F401
from tests.support.github_stub import GitHubStub

START = int(dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc).timestamp())
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


def _at(repo: Repo, hours: int = 0) -> dt.datetime:
    return dt.datetime.fromtimestamp(repo.clock, tz=dt.timezone.utc) + dt.timedelta(hours=hours)


def _run(repo: Repo, state: Path, started: dt.datetime) -> None:
    project = load_project(DirTree(repo.path))
    tgt = target(project, repo.path, "prod")
    g: Graph = graph(project, tgt)
    conn = duckdb.connect(str(tgt.database))
    req = RunRequest(env="prod", schema=tgt.schema, source_schema=tgt.source_schema, window="",
                     artifact="working-tree", run_id=f"run-{started:%H%M}", started=started)
    assert execute(conn, g, req, RunLedger(StateDB(state)), progress=lambda m: None).ok
    conn.close()


def _env(repo: Repo, stub: GitHubStub, state: Path, tmp: Path) -> dict[str, str]:
    return {"GITHUB_REPOSITORY": "o/r", "GITHUB_WORKSPACE": str(repo.path), "GITHUB_API_URL": stub.base_url,
            "GITHUB_REF_NAME": "main", "GITHUB_OUTPUT": str(tmp / "out"), "GITHUB_STEP_SUMMARY": str(tmp / "sum"),
            "INPUT_MODE": "slo", "INPUT_ENVIRONMENT": "prod", "INPUT_TRIGGER": "breach", "INPUT_STATE": str(state),
            "INPUT_REVERT_TOKEN": "app-token", "DATACANARY_GITHUB_THROTTLE": "off"}


def test_a_breach_opens_one_revert_pull_request_and_repeats_update_it(tmp_path: Path,
                                                                    github_stub: GitHubStub) -> None:
    repo = Repo(tmp_path / "repo", clock=START)
    repo.path.mkdir()
    repo.git("init", "-q", "-b", "main")
    repo.commit("root", {"datacanary.yml": CONFIG, ".gitignore": "*.duckdb*\n",
                         "models/orders.sql": "select order_id, amount from raw_orders\n",
                         "models/revenue.sql": "select sum(amount) as total from orders\n"})
    conn = duckdb.connect(str(repo.path / "prod.duckdb"))
    conn.execute("CREATE TABLE raw_orders AS SELECT range AS order_id, 10.0 AS amount FROM range(5)")
    conn.close()
    state = tmp_path / "state.sqlite"
    _run(repo, state, _at(repo, 1))
    assert evaluate_env(str(repo.path), "prod", str(state), _at(repo, 2)).evaluation.status.value == "ok"
    repo.clock += 3 * 3600
    repo.merge_pr(7, "double-revenue", "Count revenue twice",
                  {"models/revenue.sql": "select sum(amount) * 2 as total from orders\n"})
    _run(repo, state, _at(repo, 1))
    head = repo.git("rev-parse", "main")
    github_stub.refs["heads/main"] = head
    github_stub.add_commit(head, tree_sha="e" * 40)
    github_stub.add_pull(7, title="Count revenue twice")
    github_stub.graphql_responder = lambda body: {"errors": [{"message": "cannot revert"}]}
    out: list[str] = []
    env = _env(repo, github_stub, state, tmp_path)

    assert main(env, write=out.append, log=lambda m: None, now=_at(repo, 2)) == 1
    (pull,) = [p for n, p in github_stub.pulls.items() if n != 7]
    assert pull["title"] == 'Revert "Count revenue twice" (invariant:revenue_matches_orders breached in prod)'
    assert "datacanary restore revenue --to 1 --env prod" in pull["body"]
    commit = github_stub.git_objects[github_stub.refs["heads/" + pull["head"]["ref"]]]
    tree = github_stub.git_objects[commit["tree"]["sha"]]
    (entry,) = tree["tree"]
    blob = github_stub.git_objects[entry["sha"]]
    assert base64.b64decode(blob["content"]) == show(repo.path, repo.merges[7] + "^1", "models/revenue.sql")
    assert "incidents" in (tmp_path / "out").read_text()

    # the same breach an hour and a half later: one updated comment, no second pull request
    assert main(env, write=out.append, log=lambda m: None, now=_at(repo, 3) + dt.timedelta(minutes=30)) == 1
    assert len(github_stub.pulls) == 2
    assert len(github_stub.comments_on(pull["number"])) == 1
    # and again ten minutes later: inside the suppression window, nothing is sent
    calls = len(github_stub.calls)
    assert main(env, write=out.append, log=lambda m: None, now=_at(repo, 3) + dt.timedelta(minutes=40)) == 1
    assert len(github_stub.calls) == calls
