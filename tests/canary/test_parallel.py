"""Side-by-side work on one sandbox: model builds scheduled by dependency, reconciliations in parallel
sessions, with the same results as one at a time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.canary.parallel import by_dependency
from app.canary.runner import Sandbox
from tests.canary.conftest import SHOP, run_shop, shop_repo

# the shop's 5 s limit can be hit on a loaded machine: these tests compare results, not time limits
ONE_THREAD = (SHOP / "datacanary.yml").read_text().replace("timeout_seconds: 5", "timeout_seconds: 120")
TWO_THREADS = ONE_THREAD.replace("threads: 1", "threads: 2")


def test_steps_start_only_after_the_steps_they_read_and_independent_ones_overlap(db: Sandbox) -> None:
    # 0 and 1 are independent (they meet at a barrier: only possible if both run at once); 2 reads 0
    # and 1; 3 reads 2
    after = {0: set(), 1: set(), 2: {0, 1}, 3: {2}}
    both = threading.Barrier(2, timeout=10)
    started: dict[int, float] = {}
    ended: dict[int, float] = {}
    sessions: set[int] = set()

    def work(session: Sandbox, i: int) -> int:
        started[i] = time.perf_counter()
        sessions.add(id(session))
        if i in (0, 1):
            both.wait()
        value = session.query(f"SELECT {i} * 10 AS v")[0]["v"]
        ended[i] = time.perf_counter()
        return int(value)

    results: dict[int, int] = {}
    by_dependency(db, 4, after, 2, work, results.__setitem__)
    assert results == {0: 0, 1: 10, 2: 20, 3: 30}
    assert started[2] >= max(ended[0], ended[1]) and started[3] >= ended[2]
    assert id(db) not in sessions and len(sessions) == 2  # each thread on a session of its own


def test_one_worker_runs_in_index_order_on_the_given_connection(db: Sandbox) -> None:
    seen: list[tuple[int, int]] = []
    by_dependency(db, 3, {2: {0}}, 1, lambda s, i: seen.append((i, id(s))), lambda i, r: None)
    assert seen == [(0, id(db)), (1, id(db)), (2, id(db))]


def test_a_failing_step_raises_after_the_running_ones_finish(db: Sandbox) -> None:
    finished: list[int] = []

    def work(_s: Sandbox, i: int) -> int:
        if i == 1:
            raise RuntimeError("boom")
        time.sleep(0.05)
        finished.append(i)
        return i

    with pytest.raises(RuntimeError, match="boom"):
        by_dependency(db, 3, {2: {1}}, 2, work, lambda i, r: None)
    assert 2 not in finished  # what read the failed step never ran


def _rounded(value: object) -> object:
    """Floats to 12 significant digits: a DOUBLE sum's last bits depend on the order rows were added."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _summary(result) -> list:  # type: ignore[no-untyped-def]
    rows = []
    for m in result.models:
        r = m.reconciliation
        rows.append(
            (
                m.name,
                m.status,
                m.head.status,
                m.head.message,
                m.head.rows,
                None if r is None else _rounded(r.to_json()),
            )
        )
    return rows


@pytest.mark.parametrize(
    "changes",
    [
        {
            "models/stg_orders.sql": "select order_id, customer_id, upper(status) as status, amount, ordered_at\n"
            "from orders where status <> 'returned'\n"
        },  # fmt: skip
        {
            "models/stg_orders.sql": "select order_id, customer_id, status, amount, ordered_at,\n"
            "  cast(status as integer) as broken\nfrom orders\n"
        },  # fmt: skip
    ],
    ids=["changed", "failing-upstream"],
)
def test_two_threads_give_the_results_of_one(tmp_path: Path, changes: dict[str, str]) -> None:
    one = run_shop(shop_repo(tmp_path / "one", changes, {"datacanary.yml": ONE_THREAD}))
    two = run_shop(shop_repo(tmp_path / "two", changes, {"datacanary.yml": TWO_THREADS}))
    assert two.limits["threads"] == 2 and one.limits["threads"] == 1
    from deepdiff import DeepDiff

    assert _summary(two) == _summary(one), DeepDiff(_summary(one), _summary(two))
    assert {f.rule for f in two.findings} == {f.rule for f in one.findings}
    if "broken" in changes["models/stg_orders.sql"]:
        # the failed model's readers were skipped, naming it, in both
        assert {m.head.status for m in two.models} == {"failed", "skipped"}


@pytest.mark.parametrize("config", [ONE_THREAD, TWO_THREADS], ids=["one-thread", "two-threads"])
def test_base_outputs_are_dropped_once_compared_and_built_upon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str
) -> None:
    """Peak memory holds one revision's outputs, not two: a base table goes as soon as its model is
    reconciled and every base model reading it is built; head tables stay (quality rules read them)."""
    left: list[tuple[str, str]] = []
    close = Sandbox.close

    def recording_close(self: Sandbox) -> None:
        if not left:
            rows = self.conn.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'memory'"
            ).fetchall()
            left.extend((str(s), str(t)) for s, t in rows)
        close(self)

    monkeypatch.setattr(Sandbox, "close", recording_close)
    changes = {"models/stg_orders.sql": "select order_id, customer_id, upper(status) as status, amount,"
               " ordered_at\nfrom orders where status <> 'returned'\n"}  # fmt: skip
    result = run_shop(shop_repo(tmp_path, changes, {"datacanary.yml": config}))
    assert [m.status for m in result.models] == ["compared"] * 3
    assert all(m.reconciliation is not None for m in result.models)
    assert {t for s, t in left if s == "head"} == {"stg_orders", "customer_orders", "country_revenue"}
    assert not [t for s, t in left if s == "base"]


def test_small_samples_run_each_query_on_one_thread_large_ones_on_all(tmp_path: Path) -> None:
    import shutil

    from app.canary.run import SMALL_SAMPLES, engine_threads
    from app.project.load import load_project
    from app.project.tree import DirTree

    repo = tmp_path / "shop"
    shutil.copytree(SHOP, repo)
    project = load_project(DirTree(repo))
    assert engine_threads(project, DirTree(repo), 2) == 1
    # a sample file larger than the limit at its fraction (0.5): sparse, so nothing is written
    with (repo / "data" / "orders.csv").open("r+b") as f:
        f.truncate(3 * SMALL_SAMPLES)
    assert engine_threads(project, DirTree(repo), 2) == 2
    assert engine_threads(project, DirTree(repo), 1) == 1
