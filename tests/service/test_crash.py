"""A process killed mid-delivery: `datacanary serve` runs in a subprocess, its worker hangs (test hook)
after posting the in-progress check runs, it gets `kill -9`, a new process starts on the same state
file, and the delivery completes exactly once (counted on the GitHub stub)."""

from __future__ import annotations

import copy
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.conftest import APP_ID, ROOT, load_payload
from tests.support.signing import TEST_SECRET, signed_delivery
from tests.support.stub_server import free_port

REPO = "o/r"


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Serve:
    """`python -m app.cli serve` as a child process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=self.log,
        )
        _wait(self._healthy, "the service to start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _healthy(self) -> bool:
        assert self.proc.poll() is None, "the service exited"
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def children() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for child in started:
        child.stop()


def _status(state: Path, delivery: str) -> tuple[str, str | None, int]:
    with sqlite3.connect(state) as conn:
        row = conn.execute(
            "SELECT status, outcome, attempts FROM inbox WHERE delivery_id = ?", (delivery,)
        ).fetchone()
    return (row[0], row[1], row[2]) if row else ("absent", None, 0)


@pytest.mark.slow
def test_killed_mid_delivery_completes_exactly_once_after_restart(
    tmp_path: Path, private_key_pem: str, github_stub: Any, demo_repo: Any, children: list[Serve]
) -> None:
    remotes = tmp_path / "remotes"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(demo_repo.path), str(remotes / f"{REPO}.git")], check=True
    )
    state = tmp_path / "state.sqlite"
    env = {
        **os.environ,
        "GITHUB_APP_ID": str(APP_ID),
        "GITHUB_PRIVATE_KEY": private_key_pem,
        "GITHUB_WEBHOOK_SECRET": TEST_SECRET,
        "GITHUB_API_URL": github_stub.base_url,
        "DATACANARY_STATE": str(state),
        "DATACANARY_REPO_CACHE": str(tmp_path / "repos"),
        "DATACANARY_GIT_URL_TEMPLATE": f"file://{remotes}/{{full_name}}.git",
        "DATACANARY_WORKERS": "1",
        "DATACANARY_POLL_SECONDS": "0.05",
        "DATACANARY_LEASE_SECONDS": "1",
        "DATACANARY_SECONDS_BETWEEN_REQUESTS": "0",
        "DATACANARY_SECONDS_BETWEEN_WRITES": "0",
        "DATACANARY_GITHUB_RETRY": "false",
        "DATACANARY_CANARY": "false",
        "DATACANARY_TEST_HOOK": "block:pull_request",
    }
    payload = copy.deepcopy(load_payload("pull_request.opened"))
    payload["installation"] = {"id": 9}
    payload["repository"]["full_name"] = REPO
    payload["pull_request"]["number"] = 3
    payload["pull_request"]["head"]["sha"] = demo_repo.head
    payload["pull_request"]["base"]["sha"] = demo_repo.base

    first = Serve(env, tmp_path / "serve.log")
    children.append(first)
    body, headers = signed_delivery("pull_request", payload, delivery="crash-1")
    assert httpx.post(f"{first.url}/webhooks", content=body, headers=headers, timeout=10).status_code == 202
    _wait(
        lambda: len(github_stub.calls_to("POST", "/repos/{owner}/{repo}/check-runs")) == 2, "in-progress runs"
    )
    assert _status(state, "crash-1")[0] == "working"
    first.kill()  # mid-work: after the runs were created, before they were completed

    env.pop("DATACANARY_TEST_HOOK")
    second = Serve(env, tmp_path / "serve.log")
    children.append(second)
    _wait(lambda: _status(state, "crash-1")[0] == "done", "the resumed delivery", timeout=60)
    assert _status(state, "crash-1") == ("done", "done", 2)

    assert len(github_stub.calls_to("POST", "/repos/{owner}/{repo}/check-runs")) == 2  # never created twice
    runs = list(github_stub.check_runs.values())
    assert sorted(r["name"] for r in runs) == ["datacanary / canary", "datacanary / contracts"]
    assert {r["status"] for r in runs} == {"completed"}
    assert len(github_stub.calls_to("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")) == 1
    assert len(github_stub.comments_on(3)) == 1
    # a redelivery after the restart is still recognised
    assert (
        httpx.post(f"{second.url}/webhooks", content=body, headers=headers, timeout=10).json()["status"]
        == "duplicate"
    )
