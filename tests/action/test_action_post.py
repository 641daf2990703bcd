"""The fork split end to end: the `pull_request` run of a fork PR cannot write and leaves a hand-off;
the `workflow_run` job posts it (`mode: post`), treating it as untrusted data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from action.__main__ import main
from tests.action.conftest import PAYLOADS, REPO, TinyRepo, event_file, read_outputs, runner_env
from tests.support.github_stub import GitHubStub

MARK = "<!-- datacanary:comment -->"


def compute_on_fork(tmp_path: Path, repo: TinyRepo, stub: GitHubStub) -> Path:
    """Run the gate as a fork PR's `pull_request` job; return the downloaded-artifact workspace."""
    event = event_file(tmp_path, "pull_request", base=repo.base, head=repo.head, fork=True)
    env = runner_env(tmp_path, repo, stub, "pull_request", event)
    assert main(env) == 1 and stub.calls == []
    handoff = Path(read_outputs(Path(env["GITHUB_OUTPUT"]))["handoff-json"])
    workspace = tmp_path / "post-workspace"
    shutil.copytree(handoff.parent, workspace / "datacanary-report")  # what download-artifact does
    return workspace


def post_env(
    tmp_path: Path,
    repo: TinyRepo,
    stub: GitHubStub,
    workspace: Path,
    *,
    head: str,
    event: str = "pull_request",
) -> dict[str, str]:
    payload = json.loads((PAYLOADS / "workflow_run.completed.json").read_text())
    payload["repository"]["full_name"] = REPO
    payload["workflow_run"].update(
        event=event, head_sha=head, pull_requests=[]
    )  # GitHub lists none for forks
    path = tmp_path / "workflow_run.json"
    path.write_text(json.dumps(payload))
    env = runner_env(tmp_path, repo, stub, "workflow_run", path, mode="post")
    env["GITHUB_WORKSPACE"] = str(workspace)
    return env


def test_fork_results_are_posted_by_the_workflow_run_job(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub
) -> None:
    workspace = compute_on_fork(tmp_path, tiny_repo, github_stub)
    github_stub.add_pull(2, repo=REPO, head_sha=tiny_repo.head, head_repo="stranger/Hello-World")
    assert main(post_env(tmp_path, tiny_repo, github_stub, workspace, head=tiny_repo.head)) == 0
    run = github_stub.check_runs_named("datacanary / contracts")[0]
    assert (run["head_sha"], run["conclusion"]) == (tiny_repo.head, "failure")
    assert len(github_stub.annotations[run["id"]]) == 3
    assert [c["body"].startswith(MARK) for c in github_stub.comments_on(2)] == [True]


def test_a_superseded_run_does_not_comment(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = compute_on_fork(tmp_path, tiny_repo, github_stub)
    github_stub.add_pull(2, repo=REPO, head_sha="f" * 40)  # the PR moved on
    assert main(post_env(tmp_path, tiny_repo, github_stub, workspace, head=tiny_repo.head)) == 2
    assert github_stub.comments == {} and github_stub.check_runs == {}
    assert "is at ffffffffffff" in capsys.readouterr().out


def tamper(workspace: Path, change: Any) -> None:
    path = workspace / "datacanary-report" / "handoff.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(head_sha="e" * 40),
        lambda d: d["check_runs"][0].update(name="deploy / production"),
        lambda d: d["check_runs"][0]["annotations"][0].update(path="../../etc/passwd"),
        lambda d: d["check_runs"][0].update(conclusion="action_required"),
        lambda d: d.update(comment="no marker, just a message"),
        lambda d: d.update(extra_field=True),
    ],
    ids=[
        "other-commit",
        "foreign-check-name",
        "path-escape",
        "other-conclusion",
        "unmarked-comment",
        "extra-field",
    ],
)
def test_a_tampered_handoff_is_refused(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub, change: Any
) -> None:
    workspace = compute_on_fork(tmp_path, tiny_repo, github_stub)
    github_stub.add_pull(2, repo=REPO, head_sha=tiny_repo.head)
    tamper(workspace, change)
    assert main(post_env(tmp_path, tiny_repo, github_stub, workspace, head=tiny_repo.head)) == 2
    assert github_stub.check_runs == {} and github_stub.comments == {}


def test_runs_of_other_events_post_nothing(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub
) -> None:
    workspace = compute_on_fork(tmp_path, tiny_repo, github_stub)
    env = post_env(tmp_path, tiny_repo, github_stub, workspace, head=tiny_repo.head, event="push")
    assert main(env) == 0 and github_stub.calls == []
