"""Worker processes, `datacanary serve`'s default: a worker process killed mid-delivery is replaced and
its delivery resumed once; SIGTERM stops the workers and gives back what they were running; a queued
delivery wakes an idle worker process; their metrics reach `/metrics`; work keys lock across processes.
The services run real gates (git fetch of the demo repository, the engine, PyGithub against the stub)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.errors import ConfigError
from app.service.app import create_app
from app.service.keylocks import STRIPES, KeyLocks
from app.service.metrics import MetricsRelay, ServiceMetrics
from tests.service.child import Serve, inbox_status, pr_opened, running, service_env, wait_for
from tests.service.conftest import ROOT
from tests.support.signing import signed_delivery


def _post(server: Serve, payload: dict[str, Any], delivery: str) -> int:
    body, headers = signed_delivery("pull_request", payload, delivery=delivery)
    return httpx.post(f"{server.url}/webhooks", content=body, headers=headers, timeout=10).status_code


def _runs_created(github_stub: Any) -> int:
    return len(github_stub.calls_to("POST", "/repos/{owner}/{repo}/check-runs"))


@pytest.mark.slow
def test_a_killed_worker_process_is_replaced_and_its_delivery_resumed_once(
    tmp_path: Path, private_key_pem: str, github_stub: Any, demo_repo: Any, children: list[Serve]
) -> None:
    env = service_env(
        tmp_path, private_key_pem, github_stub, demo_repo, DATACANARY_TEST_HOOK="block:pull_request"
    )
    server = Serve(env, tmp_path / "serve.log")
    children.append(server)
    assert _post(server, pr_opened(demo_repo), "w-1") == 202
    wait_for(lambda: _runs_created(github_stub) == 2, "in-progress runs")
    [worker] = server.workers()
    subprocess.run(["kill", "-9", str(worker)], check=True)  # the worker process dies, the service lives

    state = tmp_path / "state.sqlite"
    wait_for(lambda: inbox_status(state, "w-1")[0] == "done", "the delivery to be resumed", timeout=60)
    assert inbox_status(state, "w-1") == ("done", "done", 2)  # taken over after its lease (1 s) expired
    assert _runs_created(github_stub) == 2  # the runs of the dead attempt are reused, not created again
    assert {r["status"] for r in github_stub.check_runs.values()} == {"completed"}
    assert len(github_stub.comments_on(3)) == 1
    replacement = server.workers()
    assert len(replacement) == 1 and replacement != [worker]
    assert httpx.get(f"{server.url}/healthz", timeout=10).json()["workers"] == 1
    # the workers' counters are served by the service process
    wait_for(
        lambda: (
            'datacanary_deliveries_total{event="pull_request",outcome="done"} 1.0'
            in httpx.get(f"{server.url}/metrics", timeout=10).text
        ),
        "the worker's metrics",
        timeout=10,
    )


GRACE = 2.0  # DATACANARY_STOP_GRACE_SECONDS of the SIGTERM test (default 5)


@pytest.mark.slow
def test_sigterm_stops_the_workers_and_gives_their_delivery_back(
    tmp_path: Path, private_key_pem: str, github_stub: Any, demo_repo: Any, children: list[Serve]
) -> None:
    env = service_env(
        tmp_path,
        private_key_pem,
        github_stub,
        demo_repo,
        DATACANARY_WORKERS="2",
        DATACANARY_LEASE_SECONDS="600",  # a restart must not wait for it
        DATACANARY_STOP_GRACE_SECONDS=str(GRACE),  # the blocked delivery is given back after this
        DATACANARY_TEST_HOOK="block:pull_request",
    )
    first = Serve(env, tmp_path / "serve.log")
    children.append(first)
    assert _post(first, pr_opened(demo_repo), "t-1") == 202
    wait_for(lambda: _runs_created(github_stub) == 2, "in-progress runs")
    workers = first.workers()
    assert len(workers) == 2
    state = tmp_path / "state.sqlite"
    assert inbox_status(state, "t-1")[0] == "working"

    stopping = time.monotonic()
    first.proc.send_signal(signal.SIGTERM)
    first.proc.wait(timeout=30)
    waited = time.monotonic() - stopping
    assert GRACE <= waited < GRACE + 2.5, waited  # its grace (not the default 5 s) waited, then given back
    assert not any(running(pid) for pid in workers)  # no orphans
    assert inbox_status(state, "t-1") == ("queued", None, 1)  # given back, not left to its lease

    env.pop("DATACANARY_TEST_HOOK")
    env["DATACANARY_POLL_SECONDS"] = "60"  # an idle worker looks again only in a minute, unless woken
    second = Serve(env, tmp_path / "serve.log")
    children.append(second)
    wait_for(lambda: inbox_status(state, "t-1")[0] == "done", "the given-back delivery", timeout=60)
    assert inbox_status(state, "t-1") == ("done", "done", 2)
    assert _runs_created(github_stub) == 2
    assert len(github_stub.comments_on(3)) == 1

    time.sleep(0.3)  # both workers idle again: a new delivery is taken because the route wakes one
    assert _post(second, pr_opened(demo_repo, number=4), "t-2") == 202
    wait_for(lambda: inbox_status(state, "t-2")[0] == "done", "the woken worker", timeout=30)
    assert len(github_stub.comments_on(4)) == 1

    # idle workers waiting out a 60 s poll stop at once, not after the grace a running delivery gets
    workers, started = second.workers(), time.monotonic()
    second.proc.send_signal(signal.SIGTERM)
    second.proc.wait(timeout=30)
    assert time.monotonic() - started < GRACE
    assert not any(running(pid) for pid in workers)


def test_create_app_refuses_test_doubles_in_process_mode(make_settings: Any, tmp_path: Path) -> None:
    settings: Settings = make_settings(worker_mode="process", workers=2)
    with pytest.raises(ConfigError, match="worker processes build their GitHub clients"):
        create_app(settings, github=lambda *a: None, repo_checkout=lambda *a: tmp_path)


def test_worker_metrics_relayed_to_the_service_registry() -> None:
    metrics = ServiceMetrics()
    relay = MetricsRelay(metrics.apply)
    relay.deliveries.labels("pull_request", "done").inc()
    relay.processing.labels("pull_request").observe(0.3)
    relay.github_calls.labels("rest").inc(4)
    relay.rate_limit_remaining.labels("9").set(4990)
    relay.token_response(201, {"X-RateLimit-Remaining": "4999"})
    text = metrics.exposition().decode()
    assert 'datacanary_deliveries_total{event="pull_request",outcome="done"} 1.0' in text
    assert 'datacanary_delivery_processing_seconds_count{event="pull_request"} 1.0' in text
    assert 'datacanary_github_api_calls_total{kind="rest"} 4.0' in text
    assert 'datacanary_github_api_calls_total{kind="token"} 1.0' in text
    assert 'datacanary_github_rate_limit_remaining{installation="9"} 4990.0' in text
    assert 'datacanary_github_rate_limit_remaining{installation="app"} 4999.0' in text
    with pytest.raises(ValueError, match="not a relayed metric update"):
        metrics.apply(("ack", (), "observe", 1.0))


def _keys_on_two_stripes() -> tuple[str, str]:
    first = "o/r#1"
    other = next(
        f"o/r#{i}"
        for i in range(2, 500)
        if zlib.crc32(f"o/r#{i}".encode()) % STRIPES != zlib.crc32(first.encode()) % STRIPES
    )
    return first, other


def test_a_work_key_held_by_one_worker_waits_the_other(tmp_path: Path) -> None:
    # two KeyLocks stand for two worker processes: separate descriptors, as after a spawn
    one, two = KeyLocks(tmp_path / "locks"), KeyLocks(tmp_path / "locks")
    key, other_key = _keys_on_two_stripes()
    order: list[str] = []
    with one.hold(key):
        with two.hold(other_key):  # another pull request is not held up
            order.append("other key")

        def contend() -> None:
            with two.hold(key):
                order.append("second")

        thread = threading.Thread(target=contend)
        thread.start()
        time.sleep(0.3)
        order.append("first done")
    thread.join(5)
    assert order == ["other key", "first done", "second"]


def test_a_work_key_lock_dies_with_its_process(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from app.service.keylocks import KeyLocks\n"
            f"with KeyLocks(Path({str(tmp_path / 'locks')!r})).hold('o/r#1'):\n"
            "    print('held', flush=True); time.sleep(60)",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        got: list[bool] = []
        locks = KeyLocks(tmp_path / "locks")

        def take() -> None:
            with locks.hold("o/r#1"):
                got.append(True)

        waiter = threading.Thread(target=take, daemon=True)
        waiter.start()
        time.sleep(0.3)
        assert not got  # the live holder keeps it
        holder.kill()  # a worker process dies holding the key: the kernel releases its flock
        waiter.join(5)
        assert got == [True]
    finally:
        holder.kill()
        holder.wait()
