"""Worker resilience: a delivery interrupted mid-work resumes without double-posting, transient GitHub
failures are retried, a failing delivery is given up, and a worker whose lease was taken over stops."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.github.port import GitHubHttpError
from app.service.inbox import Delivery
from app.service.perform import external_id
from tests.service.world import World, pr_payload

REPO = "Codertocat/Hello-World"


class Crash(BaseException):
    """Stands in for the process dying: not an Exception, so nothing in the worker catches it."""


@pytest.fixture
def world(make_settings: Callable[..., Any], tmp_path: Path) -> World:
    return World(make_settings(workers=0, lease_seconds=60, max_attempts=3), tmp_path)


def _crash_before_batch(world: World, index: int) -> None:
    def hook(delivery: Delivery, i: int) -> None:
        if i == index and delivery.attempts == 1:
            raise Crash

    world.service.workers.hook = hook


def _count(world: World, method: str) -> int:
    return sum(1 for name, _ in world.ports[REPO].calls if name == method)


def test_a_delivery_killed_between_batches_resumes_once_after_its_lease_expires(world: World) -> None:
    _crash_before_batch(world, 1)
    delivery = world.deliver("pull_request", pr_payload(), "d-1")
    with pytest.raises(Crash):
        world.work()
    assert _count(world, "create_check_run") == 2 and world.service.inbox.depth() == 1
    world.work()  # lease still held by the "dead" worker: nothing to claim
    assert world.outcome(delivery) is None
    world.now += 61
    world.work()
    port = world.ports[REPO]
    assert _count(world, "create_check_run") == 2  # the runs of the first attempt are reused
    assert {r.conclusion for r in port.check_runs.values()} == {"failure", "skipped"}
    assert _count(world, "create_issue_comment") == 1
    assert world.outcome(delivery) == "done"
    assert world.service.inbox.get("d-1")["attempts"] == 2  # type: ignore[index]


def test_a_delivery_killed_mid_run_and_superseded_meanwhile_cancels_the_runs_it_left(world: World) -> None:
    def hook(delivery: Delivery, index: int) -> None:
        if delivery.delivery_id == "old" and index == 1 and delivery.attempts == 1:
            raise Crash  # its check runs are in progress when the process dies

    world.service.workers.hook = hook
    old = world.deliver("pull_request", pr_payload(head="o" * 40), "old")
    with pytest.raises(Crash):
        world.work()
    world.deliver("pull_request", pr_payload("synchronize", head="n" * 40), "new")
    world.now += 61  # the dead worker's lease runs out: the old delivery is claimed again, first
    world.work()
    assert world.outcome(old) == "superseded"
    runs = world.ports[REPO].check_runs.values()
    assert {(r.head_sha[0], r.status, r.conclusion) for r in runs} == {
        ("o", "completed", "cancelled"),
        ("n", "completed", "failure"),
        ("n", "completed", "skipped"),
    }


def test_a_run_created_but_not_recorded_is_found_by_its_external_id(world: World) -> None:
    _crash_before_batch(world, 1)
    world.deliver("pull_request", pr_payload(), "d-1")
    with pytest.raises(Crash):
        world.work()
    # the crash window: GitHub created the runs, our record of them was lost
    world.service.db.connect().execute("DELETE FROM delivery_check_runs")
    world.now += 61
    world.work()
    port = world.ports[REPO]
    assert _count(world, "create_check_run") == 2
    finds = [args for name, args in port.calls if name == "find_check_run"]
    assert {f["external_id"] for f in finds} == {
        external_id("d-1", "contracts"),
        external_id("d-1", "canary"),
    }
    assert {r.conclusion for r in port.check_runs.values()} == {"failure", "skipped"}


def test_a_first_attempt_does_not_look_runs_up(world: World) -> None:
    world.deliver("pull_request", pr_payload())
    world.work()
    assert _count(world, "find_check_run") == 0


def test_transient_github_failure_is_retried_later(world: World) -> None:
    port = world.port(1, REPO)
    port.errors = [GitHubHttpError(502, "Bad Gateway")] * 5  # outlasts the applier's own retries
    delivery = world.deliver("pull_request", pr_payload())
    assert world.service.workers.run_once()
    row = world.service.inbox.get(delivery.delivery_id)
    assert row is not None and row["status"] == "queued" and "502" in str(row["detail"])
    world.work()
    assert world.outcome(delivery) is None  # backing off: not before 5 s
    world.now += 5
    world.work()
    assert world.outcome(delivery) == "done"
    assert {r.conclusion for r in port.check_runs.values()} == {"failure", "skipped"}


def test_a_delivery_that_keeps_crashing_is_given_up(world: World) -> None:
    def boom(base: str, head: str) -> Any:
        raise RuntimeError("engine bug")

    world.report = boom
    delivery = world.deliver("pull_request", pr_payload())
    for wait in (0, 5, 10, 20):  # attempts back off 5 s, 10 s, 20 s
        world.now += wait
        world.work()
    row = world.service.inbox.get(delivery.delivery_id)
    assert row is not None and row["outcome"] == "failed" and row["attempts"] == 4
    assert len(world.checks) == 3


def test_a_worker_that_lost_its_lease_stops_before_posting(world: World) -> None:
    delivery = world.deliver("pull_request", pr_payload(), "d-1")

    def steal() -> None:  # the engine took longer than the lease: another worker took over
        world.service.db.connect().execute("UPDATE inbox SET claim_token = 'other' WHERE delivery_id = 'd-1'")

    world.on_check = steal
    world.service.workers.run_once()
    assert _count(world, "update_check_run") == 0 and _count(world, "create_issue_comment") == 0
    assert world.service.inbox.get(delivery.delivery_id)["status"] == "working"  # type: ignore[index]


def test_invalid_stored_payload_is_finished_as_invalid(world: World) -> None:
    bad = Delivery("bad", "pull_request", "opened", b"{}", received_at=1.0)
    world.service.inbox.add(bad)
    world.work()
    assert world.outcome(bad) == "invalid"


def test_graceful_stop_gives_running_work_back_for_an_immediate_resume(world: World) -> None:
    import threading
    import time

    release = threading.Event()
    running = threading.Event()

    def slow() -> None:
        if not release.is_set():
            running.set()
            release.wait(10)

    world.on_check = slow
    delivery = world.deliver("pull_request", pr_payload(), "d-1")
    workers = world.service.workers
    workers.start(1)
    assert running.wait(10)
    workers.stop(timeout=0.1)
    assert world.service.inbox.get("d-1")["status"] == "queued"  # type: ignore[index]
    release.set()  # the old thread wakes up, finds its claim gone and posts nothing more
    time.sleep(0.2)
    assert _count(world, "update_check_run") == 0
    world.work()  # a restarted service takes it at once, without waiting for the lease
    assert world.outcome(delivery) == "done"
    assert _count(world, "create_check_run") == 2 and _count(world, "create_issue_comment") == 1


def test_secondary_rate_limit_is_retried_but_a_permission_refusal_is_not(world: World) -> None:
    port = world.port(1, REPO)
    limited = GitHubHttpError(403, "You have exceeded a secondary rate limit", retry_after=1.0)
    port.errors = [limited] * 5
    first = world.deliver("pull_request", pr_payload(), "limited")
    world.service.workers.run_once()
    assert world.service.inbox.get("limited")["status"] == "queued"  # type: ignore[index]
    world.now += 5
    world.work()
    assert world.outcome(first) == "done"

    port.errors = [GitHubHttpError(403, "Resource not accessible by integration")]
    pushed = pr_payload("synchronize", head="n" * 40, updated_at="2031-01-01T00:00:00Z")  # a later push
    refused = world.deliver("pull_request", pushed, "refused")
    world.work()
    assert world.outcome(refused) == "partial"
    assert "not accessible" in str(world.service.inbox.get("refused")["detail"])  # type: ignore[index]


def test_a_rate_limit_resetting_later_than_the_applier_waits_is_retried_after_the_reset(world: World) -> None:
    import time

    port = world.port(1, REPO)
    reset = time.time() + 1800  # the installation's hourly budget is spent for another half hour
    exhausted = GitHubHttpError(
        403, "API rate limit exceeded for installation ID 1.", ratelimit_remaining=0, ratelimit_reset=reset
    )
    delivery = world.deliver("pull_request", pr_payload(), "spent")
    started = world.now
    for _ in range(world.service.settings.max_attempts + 1):  # would outlast the worker's own back-off
        port.errors = [exhausted]
        world.work()
        world.now += 300
    assert world.outcome(delivery) is None  # not given up: it waits for the reset
    row = world.service.inbox.get("spent")
    assert row is not None and row["attempts"] == 1 and row["available_at"] >= started + 1800
    port.errors = []
    world.now = started + 1801
    world.work()
    assert world.outcome(delivery) == "done"
    assert {r.conclusion for r in port.check_runs.values()} == {"failure", "skipped"}


def test_a_report_after_a_long_engine_run_is_posted_with_a_token_still_valid(world: World) -> None:
    # an installation token is reused from the cache until 5 minutes before it expires: the one the
    # first batch got may have 10 minutes left when the engine then runs for 11
    class TokenPort:
        def __init__(self, port: Any, expires: float) -> None:
            self.port, self.expires = port, expires

        def __getattr__(self, name: str) -> Any:
            attr = getattr(self.port, name)
            if not callable(attr) or world.now < self.expires:
                return attr

            def expired(*args: Any, **kwargs: Any) -> Any:
                raise GitHubHttpError(401, "Bad credentials")

            return expired

    def github(installation: int | None, repo: str) -> Any:
        return TokenPort(world.port(installation, repo), expires=world.now + 600)

    world.service.workers.ctx = replace(world.service.workers.ctx, github=github)

    def long_run() -> None:
        world.now += 660

    world.on_check = long_run
    delivery = world.deliver("pull_request", pr_payload())
    world.work()
    assert world.outcome(delivery) == "done", world.service.inbox.get(delivery.delivery_id)
    port = world.ports[REPO]
    assert {r.conclusion for r in port.check_runs.values()} == {"failure", "skipped"}
    assert len(port.comments[2]) == 1


def test_token_minting_outage_is_retried(make_settings: Callable[..., Any], tmp_path: Path) -> None:
    calls: list[int] = []

    def github(installation: int | None, repo: str) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise GitHubHttpError(502, "GitHub refused an installation token for installation 1: bad gateway")
        return world.port(installation, repo)

    world = World(make_settings(workers=0), tmp_path)
    world.service.workers.ctx = replace(world.service.workers.ctx, github=github)
    delivery = world.deliver("pull_request", pr_payload())
    world.work()
    assert world.outcome(delivery) is None
    world.now += 5
    world.work()
    assert world.outcome(delivery) == "done"


def test_an_older_head_posting_cannot_interleave_with_a_newer_heads_work(world: World) -> None:
    import threading
    import time

    newer: list[threading.Thread] = []

    def hook(delivery: Delivery, index: int) -> None:
        # the old head passed its supersession check and is about to post its report when the push
        # arrives and another worker picks it up at once
        if delivery.delivery_id == "old" and index == 1:
            world.deliver("pull_request", pr_payload("synchronize", head="n" * 40), "new")
            thread = threading.Thread(target=world.service.workers.run_once)
            thread.start()
            newer.append(thread)
            time.sleep(0.3)  # without the per-PR lock, the newer head would post everything meanwhile

    world.service.workers.hook = hook
    world.deliver("pull_request", pr_payload(head="o" * 40), "old")
    world.service.workers.run_once()
    newer[0].join(10)
    body = world.ports[REPO].comments[2][0].body
    assert "nnnnnnn" in body and "ooooooo" not in body
    assert world.service.inbox.get("new")["outcome"] == "done"  # type: ignore[index]


def test_an_opened_delivered_after_its_synchronize_does_not_supersede_the_newer_head(world: World) -> None:
    # GitHub does not promise delivery order: the push's synchronize can arrive before the PR's opened
    pushed = pr_payload("synchronize", head="n" * 40, updated_at="2024-03-01T10:00:07Z")
    world.deliver("pull_request", pushed, "new")
    world.deliver(
        "pull_request", pr_payload("opened", head="o" * 40, updated_at="2024-03-01T10:00:00Z"), "old"
    )
    world.work()
    assert world.service.inbox.get("new")["outcome"] == "done"  # type: ignore[index]
    assert world.service.inbox.get("old")["outcome"] == "superseded"  # type: ignore[index]
    port = world.ports[REPO]
    assert {r.head_sha for r in port.check_runs.values()} == {"n" * 40}
    assert {r.conclusion for r in port.check_runs.values()} == {"failure", "skipped"}
    assert [c.body for c in port.comments[2] if "ooooooo" in c.body] == []


def test_an_engine_run_longer_than_the_lease_keeps_its_lease(
    make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    import threading
    import time

    world = World(make_settings(workers=0, lease_seconds=0.3, max_attempts=3), tmp_path, clock=time.time)
    running, release = threading.Event(), threading.Event()

    def long_engine_run() -> None:  # four leases long
        running.set()
        release.wait(10)

    world.on_check = long_engine_run
    delivery = world.deliver("pull_request", pr_payload(), "d-1")
    workers = world.service.workers
    workers.start(1)
    try:
        assert running.wait(10)
        deadline = time.time() + 1.2
        while time.time() < deadline:  # another worker (another process) looks for stale leases meanwhile
            assert world.service.inbox.claim(time.time(), 0.3) is None
            time.sleep(0.05)
        release.set()
        for _ in range(100):
            if world.outcome(delivery) is not None:
                break
            time.sleep(0.05)
    finally:
        release.set()
        workers.stop(timeout=2)
    assert world.outcome(delivery) == "done"
    assert len(world.checks) == 1 and _count(world, "create_issue_comment") == 1


@pytest.mark.parametrize("github_head", ["o", "n"])
def test_two_heads_set_in_one_second_are_ordered_by_github(world: World, github_head: str) -> None:
    # GitHub's updated_at counts whole seconds and its deliveries come in any order: of two pushes in one
    # second the one that arrived last is not always the head. GitHub's pull request says which is.
    from app.github.port import PullInfo

    port = world.port(1, REPO)
    port.pulls[2] = PullInfo(2, github_head * 40, "b" * 40, REPO, "open")
    second = "2024-03-01T10:00:07Z"
    first = world.deliver("pull_request", pr_payload("synchronize", head="o" * 40, updated_at=second), "o")
    last = world.deliver("pull_request", pr_payload("synchronize", head="n" * 40, updated_at=second), "n")
    world.work()
    head, stale = (first, last) if github_head == "o" else (last, first)
    assert (world.outcome(head), world.outcome(stale)) == ("done", "superseded")
    assert {r.head_sha for r in port.check_runs.values()} == {github_head * 40}
    assert ("get_pull", {"number": 2}) in port.calls


def test_two_heads_in_one_second_go_by_arrival_when_github_cannot_be_asked(world: World) -> None:
    port = world.port(1, REPO)  # no pull request 2 there: the lookup fails with a 404
    second = "2024-03-01T10:00:07Z"
    first = world.deliver("pull_request", pr_payload("synchronize", head="o" * 40, updated_at=second), "o")
    last = world.deliver("pull_request", pr_payload("synchronize", head="n" * 40, updated_at=second), "n")
    world.work()
    assert (world.outcome(first), world.outcome(last)) == ("superseded", "done")
    assert {r.head_sha for r in port.check_runs.values()} == {"n" * 40}
