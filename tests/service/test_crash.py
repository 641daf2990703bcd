"""A process killed mid-delivery: `datacanary serve` runs in a subprocess, its worker hangs (test hook)
after posting the in-progress check runs, it gets `kill -9`, a new process starts on the same state
file, and the delivery completes exactly once (counted on the GitHub stub)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.child import Serve, inbox_status, pr_opened, running, service_env, wait_for
from tests.support.signing import signed_delivery


@pytest.mark.slow
def test_killed_mid_delivery_completes_exactly_once_after_restart(
    tmp_path: Path, private_key_pem: str, github_stub: Any, demo_repo: Any, children: list[Serve]
) -> None:
    env = service_env(
        tmp_path, private_key_pem, github_stub, demo_repo, DATACANARY_TEST_HOOK="block:pull_request"
    )
    state = tmp_path / "state.sqlite"
    first = Serve(env, tmp_path / "serve.log")
    children.append(first)
    body, headers = signed_delivery("pull_request", pr_opened(demo_repo), delivery="crash-1")
    assert httpx.post(f"{first.url}/webhooks", content=body, headers=headers, timeout=10).status_code == 202
    wait_for(
        lambda: len(github_stub.calls_to("POST", "/repos/{owner}/{repo}/check-runs")) == 2, "in-progress runs"
    )
    assert inbox_status(state, "crash-1")[0] == "working"
    workers = first.workers()
    assert len(workers) == 1
    first.kill()  # mid-work: after the runs were created, before they were completed
    # its worker process does not outlive it (an orphan would keep renewing the lease)
    wait_for(lambda: not any(running(pid) for pid in workers), "the orphaned worker to exit", timeout=10)

    env.pop("DATACANARY_TEST_HOOK")
    second = Serve(env, tmp_path / "serve.log")
    children.append(second)
    wait_for(lambda: inbox_status(state, "crash-1")[0] == "done", "the resumed delivery", timeout=60)
    assert inbox_status(state, "crash-1") == ("done", "done", 2)

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
