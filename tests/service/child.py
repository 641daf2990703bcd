"""`datacanary serve` as a child process, over a bare clone of the demo repository and the GitHub stub:
for what only a real process shows (worker processes, signals, kill -9, restarts on one state file)."""

from __future__ import annotations

import copy
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.service.conftest import APP_ID, ROOT, load_payload
from tests.support.signing import TEST_SECRET
from tests.support.stub_server import free_port

REPO = "o/r"


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def service_env(
    tmp_path: Path, private_key_pem: str, github_stub: Any, demo_repo: Any, **extra: str
) -> dict[str, str]:
    """The environment of a service gating REPO (cloned from `demo_repo`) against `github_stub`."""
    remotes = tmp_path / "remotes"
    if not (remotes / f"{REPO}.git").exists():
        subprocess.run(
            ["git", "clone", "-q", "--bare", str(demo_repo.path), str(remotes / f"{REPO}.git")], check=True
        )
    return {
        **os.environ,
        "GITHUB_APP_ID": str(APP_ID),
        "GITHUB_PRIVATE_KEY": private_key_pem,
        "GITHUB_WEBHOOK_SECRET": TEST_SECRET,
        "GITHUB_API_URL": github_stub.base_url,
        "DATACANARY_STATE": str(tmp_path / "state.sqlite"),
        "DATACANARY_REPO_CACHE": str(tmp_path / "repos"),
        "DATACANARY_GIT_URL_TEMPLATE": f"file://{remotes}/{{full_name}}.git",
        "DATACANARY_WORKERS": "1",
        "DATACANARY_POLL_SECONDS": "0.05",
        "DATACANARY_LEASE_SECONDS": "1",
        "DATACANARY_SECONDS_BETWEEN_REQUESTS": "0",
        "DATACANARY_SECONDS_BETWEEN_WRITES": "0",
        "DATACANARY_GITHUB_RETRY": "false",
        "DATACANARY_CANARY": "false",
        **extra,
    }


def pr_opened(demo_repo: Any, number: int = 3) -> dict[str, Any]:
    """pull_request.opened for REPO from the demo repository's base to its head."""
    payload = copy.deepcopy(load_payload("pull_request.opened"))
    payload["installation"] = {"id": 9}
    payload["repository"]["full_name"] = REPO
    payload["pull_request"]["number"] = number
    payload["pull_request"]["head"]["sha"] = demo_repo.head
    payload["pull_request"]["base"]["sha"] = demo_repo.base
    return payload


def inbox_status(state: Path, delivery: str) -> tuple[str, str | None, int]:
    with sqlite3.connect(state) as conn:
        row = conn.execute(
            "SELECT status, outcome, attempts FROM inbox WHERE delivery_id = ?", (delivery,)
        ).fetchone()
    return (row[0], row[1], row[2]) if row else ("absent", None, 0)


def running(pid: int) -> bool:
    """The process exists and is not a zombie (an exited orphan may wait for init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


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
        wait_for(self._healthy, "the service to start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _healthy(self) -> bool:
        assert self.proc.poll() is None, "the service exited"
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def workers(self) -> list[int]:
        """Process ids of the worker processes (children running multiprocessing's spawn_main)."""
        found = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                try:
                    cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"spawn_main" in cmdline and running(int(child)):
                    found.append(int(child))
        return sorted(found)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.log.close()
