"""End to end, the way a runner does it: `python -m action` in a subprocess with the runner's environment,
an event file from GitHub's example payloads rewritten with the shas of a real git repository, and
GITHUB_API_URL pointing at the loopback GitHub (which checks every request against the OpenAPI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.action.conftest import REPO, TinyRepo, event_file, read_outputs, runner_env
from tests.support.github_stub import GitHubStub

ROOT = Path(__file__).resolve().parents[2]
MARK = "<!-- datacanary:comment -->"


def run_action(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_"))}
    return subprocess.run(
        [sys.executable, "-m", "action"],
        env={**keep, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow  # two real `python -m action` processes: ~2-5 s
def test_pull_request_gets_checks_annotations_one_comment_and_outputs(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub
) -> None:
    github_stub.add_comment(2, "LGTM from a human")
    event = event_file(tmp_path, "pull_request", base=tiny_repo.base, head=tiny_repo.head)
    env = runner_env(tmp_path, tiny_repo, github_stub, "pull_request", event)

    first = run_action(env)

    assert first.returncode == 1, first.stdout + first.stderr  # two breaking changes block
    contracts = github_stub.check_runs_named("datacanary / contracts")
    canary = github_stub.check_runs_named("datacanary / canary")
    assert len(contracts) == 1 and len(canary) == 1
    run = contracts[0]
    assert (run["head_sha"], run["status"], run["conclusion"]) == (tiny_repo.head, "completed", "failure")
    assert run["output"]["title"] == "2 breaking changes"
    assert run["details_url"] == f"https://github.com/{REPO}/actions/runs/4242"
    assert run["_actions"][0]["identifier"] == "ack-breaking"
    notes = {
        (a["path"], a["start_line"], a["annotation_level"], a["title"])
        for a in github_stub.annotations[run["id"]]
    }
    # in the head file: the removed column at its dataset (line 17 there is `- name: country`), the
    # relaxed column at its `required: false`
    assert ("contracts/customers.odcs.yaml", 8, "failure", "column-removed: customers.email") in notes
    assert ("contracts/customers.odcs.yaml", 20, "failure", "required-relaxed: customers.country") in notes
    assert canary[0]["conclusion"] == "skipped"

    ours = [c for c in github_stub.comments_on(2) if MARK in c["body"]]
    assert len(ours) == 1 and "datacanary: FAIL" in ours[0]["body"]
    outputs = read_outputs(Path(env["GITHUB_OUTPUT"]))
    assert outputs["verdict"] == "fail" and outputs["breaking-count"] == "2"
    report = json.loads(Path(outputs["report-json"]).read_text())
    assert report["verdict"] == "fail" and report["head"]
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "datacanary: FAIL" in summary and "could not post" not in summary

    # a push to the PR: the contract's major version accepts the breaking changes; same comment, edited
    tiny_repo.commit(
        {
            "contracts/customers.odcs.yaml": (tiny_repo.path / "contracts/customers.odcs.yaml")
            .read_text()
            .replace("version: 1.1.0", "version: 2.0.0")
        },
        "major version",
    )
    event = event_file(
        tmp_path, "pull_request", base=tiny_repo.base, head=tiny_repo.head, action="synchronize"
    )
    second = run_action({**env, "GITHUB_EVENT_PATH": str(event)})

    assert second.returncode == 0, second.stdout + second.stderr
    ours = [c for c in github_stub.comments_on(2) if MARK in c["body"]]
    assert len(ours) == 1 and "datacanary: FAIL" not in ours[0]["body"] and tiny_repo.head in ours[0]["body"]
    assert len(github_stub.calls_to("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")) == 1
    assert len(github_stub.calls_to("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")) == 1
    latest = [
        r for r in github_stub.check_runs_named("datacanary / contracts") if r["head_sha"] == tiny_repo.head
    ]
    assert latest[0]["conclusion"] in ("success", "neutral")
    assert len(github_stub.comments_on(2)) == 2  # the human's comment is untouched
