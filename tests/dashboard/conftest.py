"""A served App with the dashboard on: the real service under uvicorn, a pull request of the demo shop
gated end to end (real git, real engine, check runs through PyGithub to the OpenAPI-checked GitHub
stub), SLO evaluations, incidents, promotions and runs written by the real stores, and two GitHub
users of the stub: alice reads acme/shop (installation 77), bob reads only globex/other (88)."""

from __future__ import annotations

import copy
import datetime as dt
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.service.conftest import APP_ID, ServiceServer, load_payload, private_key_pem  # noqa: F401
from tests.support.fixtures import _shared_stub, github_stub  # noqa: F401
from tests.support.signing import TEST_SECRET, signed_delivery
from tests.support.stub_oauth import add_user
from tests.support.stub_server import free_port

REPO, OTHER = "acme/shop", "globex/other"
INSTALLATION, OTHER_INSTALLATION = 77, 88
PR = 5


@dataclass
class Dash:
    server: ServiceServer
    stub: Any
    head: str

    @property
    def url(self) -> str:
        return self.server.url

    def login(self, user: str) -> httpx.Client:
        """An HTTP client logged in as `user` through the OAuth flow (GitHub's side is the stub)."""
        self.stub.oauth_login = user
        client = httpx.Client(base_url=self.url, timeout=20)
        to_github = client.get("/login", params={"next": f"/dashboard/{REPO}"})
        assert to_github.status_code == 302
        back = httpx.get(to_github.headers["location"])  # github.com's authorize page: the stub approves
        assert back.status_code == 302
        done = client.get(back.headers["location"])
        assert done.status_code == 303, done.text
        return client


def _pr_payload(repo: str, head: str, base: str, installation: int) -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("pull_request.opened"))
    payload["installation"] = {"id": installation}
    payload["repository"]["full_name"] = repo
    pr = payload["pull_request"]
    pr["number"], pr["draft"] = PR, False
    pr["head"]["sha"], pr["base"]["sha"] = head, base
    pr["head"]["repo"]["full_name"] = repo
    return payload


def seed_environment(db: Any, repo: str, env: str) -> None:
    """A day of hourly SLO evaluations (breaching at the end), an incident with its revert PR, two
    promotions and a rollback, and two runs of a dataset, through the stores that write them."""
    from app.promotion.ledger import Ledger
    from app.revert.incidents import IncidentStore
    from app.runs.ledger import RunLedger, VersionRecord
    from app.slo.objectives import Objective
    from app.slo.status import Evaluation, judge
    from app.slo.store import EvaluationStore

    fresh = Objective(
        "daily_revenue", "freshness", "<=", 3600, "seconds", "contracts/daily_revenue.odcs.yaml"
    )
    rows = Objective(
        "daily_revenue", "completeness.rows", ">=", 100, "rows", "contracts/daily_revenue.odcs.yaml"
    )
    start = dt.datetime(2026, 12, 5, 0, 0, tzinfo=dt.UTC)
    store = EvaluationStore(db)
    for i in range(24):
        at = start + dt.timedelta(minutes=20 * i)
        late = 600 + (i * 400 if i > 16 else 0)
        store.save(Evaluation(env, at, (judge(fresh, late), judge(rows, 180 - i))))
    IncidentStore(db).opened("fp-1", env, "pull", 42, "c" * 40, start + dt.timedelta(hours=7))
    ledger = Ledger(db)
    for n, kind in enumerate(("promote", "promote", "rollback")):
        digest = "sha256:" + ("a", "b", "a")[n] * 64
        ledger.record(
            digest=digest,
            environment=env,
            at=f"2026-12-0{n + 4}T10:00:00Z",
            actor="ci",
            passed=True,
            canary={"verdict": "pass"},
            kind=kind,
            reason="revenue doubled" if kind == "rollback" else None,
        )
    runs = RunLedger(db)
    for v in (1, 2):
        runs.record(
            VersionRecord(
                run_id=f"run-{v}",
                env=env,
                dataset="daily_revenue",
                version=v,
                relation=f"daily_revenue__v{v}",
                window=f"2026-12-0{v}",
                fingerprint="f",
                artifact="sha256:" + "a" * 64,
                status="published",
                forced=False,
                reason=None,
                started_at=f"2026-12-0{v}T06:00:00Z",
                duration=1.5,
                rows=120.0,
                dropped=False,
                audit=({"name": "not_null(order_id)", "passed": True},),
            )
        )
    import json

    from app.runs.backfill import DDL as BACKFILL_DDL

    db.ensure("backfill", BACKFILL_DDL)
    with db.transaction() as c:  # a finished backfill as app.runs.backfill records it
        c.execute(
            "INSERT INTO backfills (run_id, env, dataset, run_window, actor, reason, commit_sha,"
            " artifact_digest, status, version, previous_version, forced, started_at, reconciliation)"
            " VALUES ('bf-' || ?, ?, 'daily_revenue', '2026-12-01..2026-12-02', 'carol', 'late refunds',"
            " 'abc1234def5678', 'sha256:aa', 'published', 3, 2, 0, '2026-12-03T09:00:00Z', ?)",
            (f"{repo}/{env}", env, json.dumps({"added": 0, "removed": 1, "changed": 7})),
        )


HEALTH_PROJECT = """name: shop
sources:
  orders:
    columns: {id: bigint, status: varchar, amount: double}
slos:
  orders:
    health: {volume: true, schema: true, distribution: true}
"""


def seed_health(db: Any, env: str) -> None:
    """Twelve hourly data-health evaluations of a DuckDB table `orders` through the real measurement,
    judges and stores (as `datacanary slo` runs them): steady for eleven hours, then a third of the rows
    gone, a status renamed and a column retyped."""
    import duckdb

    from app.project.load import load_project
    from app.project.tree import MemoryTree
    from app.slo.health_measure import HealthRun, measure
    from app.slo.health_store import HealthStore, statuses_of
    from app.slo.objectives import collect
    from app.slo.status import Evaluation
    from app.slo.store import EvaluationStore

    project = load_project(MemoryTree({"datacanary.yml": HEALTH_PROJECT}))
    objectives = [o for o in collect(project) if o.sli.startswith("health.")]
    profiles, evaluations = HealthStore(db), EvaluationStore(db)
    conn = duckdb.connect()
    start = dt.datetime(2026, 12, 6, 0, 0, tzinfo=dt.UTC)
    for hour in range(12):
        at = start + dt.timedelta(hours=hour)
        last = hour == 11
        rows = 600 if last else 900 + 10 * (hour % 3)
        status = "'SHIPPED'" if last else "'shipped'"
        amount = "CAST(range % 50 AS VARCHAR)" if last else "(range % 50) * 1.5"
        conn.execute(
            f"CREATE OR REPLACE TABLE orders AS SELECT range AS id, CASE WHEN range % 4 = 0 THEN 'cancelled'"
            f" ELSE {status} END AS status, {amount} AS amount FROM range({rows})"
        )
        run = HealthRun(lambda dataset, at=at: profiles.recent(env, dataset, at))
        results = measure(conn, objectives, at, run)
        evaluation = Evaluation(env, at, tuple(results.values()))
        evaluations.save(evaluation)
        for profile in run.profiles:
            profiles.save(env, profile, statuses_of(evaluation.results, profile.dataset))
    conn.close()


@pytest.fixture(scope="session")
def dash_server(
    tmp_path_factory: pytest.TempPathFactory, private_key_pem: str, demo_repo: Any
) -> Iterator[Dash]:
    """One served App per test process (gating costs seconds): the tests only read from it."""
    from app.config import load_settings
    from app.service.app import create_app

    stub = _shared_stub()
    stub.reset()
    tmp = tmp_path_factory.mktemp("dashboard")
    remote = tmp / "remotes"
    for repo in (REPO, OTHER):
        subprocess.run(
            ["git", "clone", "-q", "--bare", str(demo_repo.path), str(remote / f"{repo}.git")], check=True
        )
    port = free_port()
    client_id, secret = stub.oauth_client
    settings = load_settings(
        app_id=APP_ID,
        private_key=private_key_pem,
        webhook_secret=TEST_SECRET,
        state=tmp / "state.sqlite",
        repo_cache=tmp / "repos",
        workers=1,
        worker_mode="thread",
        poll_seconds=0.05,
        seconds_between_requests=None,
        seconds_between_writes=None,
        github_retry=False,
        api_url=stub.base_url,
        git_url_template=f"file://{remote}/{{full_name}}.git",
        canary=True,
        github_client_id=client_id,
        github_client_secret=secret,
        dashboard_url=f"http://127.0.0.1:{port}",
        github_web_url=stub.base_url,
    )
    server = ServiceServer(create_app(settings), port).start()
    try:
        for repo, installation in ((REPO, INSTALLATION), (OTHER, OTHER_INSTALLATION)):
            body, headers = signed_delivery(
                "pull_request", _pr_payload(repo, demo_repo.head, demo_repo.base, installation)
            )
            assert httpx.post(f"{server.url}/webhooks", content=body, headers=headers).status_code == 202
        server.wait_idle(120)
        violations = stub.take_violations()
        assert not violations, violations
        ledgers = server.service.ledgers  # each repository's own ledger database
        assert ledgers is not None
        seed_environment(ledgers.db(REPO), REPO, "prod")
        seed_environment(ledgers.db(OTHER), OTHER, "staging")
        seed_health(ledgers.db(REPO), "prod")
        yield Dash(server, stub, demo_repo.head)
    finally:
        server.stop()


@pytest.fixture
def dash(dash_server: Dash, github_stub: Any) -> Dash:
    """The served App, with the stub's users (alice reads acme/shop, bob globex/other) seeded again."""
    add_user(github_stub, "alice", {INSTALLATION: ("acme", [REPO])})
    add_user(github_stub, "bob", {OTHER_INSTALLATION: ("globex", [OTHER])})
    dash_server.server.app.state.__dict__.pop("dashboard", None)  # no session of an earlier test
    return dash_server
