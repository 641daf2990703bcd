"""The Action entry in-process (`action.__main__.main(env)`) for each way it can be triggered: fork PRs,
read-only tokens, merge queues, explicit base/head, fail-on, broken projects and GitHub being down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from action.__main__ import main
from tests.action.conftest import TinyRepo, event_file, read_outputs, runner_env
from tests.support.github_stub import GitHubStub

CONTRACT = "contracts/customers.odcs.yaml"


def test_fork_pull_request_falls_back_to_workflow_commands(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub, capsys: pytest.CaptureFixture[str]
) -> None:
    event = event_file(tmp_path, "pull_request", base=tiny_repo.base, head=tiny_repo.head, fork=True)
    env = runner_env(tmp_path, tiny_repo, github_stub, "pull_request", event)
    assert main(env) == 1
    assert github_stub.calls == []  # nothing tried with a token that cannot write
    out = capsys.readouterr().out.splitlines()
    errors = [line for line in out if line.startswith("::error ")]
    assert len(errors) == 2
    assert any(
        f"file={CONTRACT},line=8,endLine=8,title=column-removed%3A customers.email::" in e for e in errors
    )
    assert any(f"file={CONTRACT},line=20,endLine=20,title=required-relaxed%3A" in e for e in errors)
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "could not post" in summary and "fork" in summary and "datacanary: FAIL" in summary
    assert read_outputs(Path(env["GITHUB_OUTPUT"]))["verdict"] == "fail"


def test_read_only_token_is_detected_on_the_first_write(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub, capsys: pytest.CaptureFixture[str]
) -> None:
    github_stub.read_only = True
    event = event_file(tmp_path, "pull_request", base=tiny_repo.base, head=tiny_repo.head)
    env = runner_env(tmp_path, tiny_repo, github_stub, "pull_request", event)
    assert main(env) == 1
    assert len(github_stub.calls) == 1 and github_stub.calls[0].method == "POST"
    assert "::error file=" in capsys.readouterr().out
    assert "403" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_merge_group_checks_land_on_the_queue_head(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub
) -> None:
    event = event_file(tmp_path, "merge_group", base=tiny_repo.base, head=tiny_repo.head)
    env = runner_env(tmp_path, tiny_repo, github_stub, "merge_group", event)
    assert main(env) == 1
    runs = list(github_stub.check_runs.values())
    assert {r["name"] for r in runs} == {"datacanary / contracts", "datacanary / canary"}
    assert all(r["head_sha"] == tiny_repo.head and r["status"] == "completed" for r in runs)
    assert github_stub.comments == {}  # no pull request to comment on


def test_workflow_dispatch_compares_explicit_base_and_head(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub
) -> None:
    event = event_file(tmp_path, "workflow_dispatch", base="", head="")
    env = runner_env(tmp_path, tiny_repo, github_stub, "workflow_dispatch", event, base="main~1", head="main")
    assert main(env) == 1
    assert {r["head_sha"] for r in github_stub.check_runs.values()} == {tiny_repo.head}


def test_workflow_dispatch_without_base_is_a_usage_error(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub, capsys: pytest.CaptureFixture[str]
) -> None:
    event = event_file(tmp_path, "workflow_dispatch", base="", head="")
    env = runner_env(tmp_path, tiny_repo, github_stub, "workflow_dispatch", event)
    assert main(env) == 2
    out = capsys.readouterr().out
    assert out.startswith("::error::no base revision") and "base: main" in out


@pytest.mark.parametrize(
    ("fail_on", "code", "conclusion"), [("never", 0, "neutral"), ("breaking", 1, "failure")]
)
def test_fail_on_sets_exit_code_and_conclusion(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub, fail_on: str, code: int, conclusion: str
) -> None:
    event = event_file(tmp_path, "pull_request", base=tiny_repo.base, head=tiny_repo.head)
    env = runner_env(tmp_path, tiny_repo, github_stub, "pull_request", event, fail_on=fail_on)
    assert main(env) == code
    assert github_stub.check_runs_named("datacanary / contracts")[0]["conclusion"] == conclusion


def test_bad_input_values_are_usage_errors(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub, capsys: pytest.CaptureFixture[str]
) -> None:
    event = event_file(tmp_path, "pull_request", base=tiny_repo.base, head=tiny_repo.head)
    assert main(runner_env(tmp_path, tiny_repo, github_stub, "pull_request", event, fail_on="sometimes")) == 2
    assert main(runner_env(tmp_path, tiny_repo, github_stub, "pull_request", event, mode="deploy")) == 2
    assert main(runner_env(tmp_path, tiny_repo, github_stub, "pull_request", event, comment="maybe")) == 2
    assert capsys.readouterr().out.count("::error::") == 3


def test_pull_request_target_refuses_a_fork(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub, capsys: pytest.CaptureFixture[str]
) -> None:
    event = event_file(tmp_path, "pull_request_target", base=tiny_repo.base, head=tiny_repo.head, fork=True)
    assert main(runner_env(tmp_path, tiny_repo, github_stub, "pull_request_target", event)) == 2
    assert "pull_request_target" in capsys.readouterr().out and github_stub.calls == []


def test_broken_project_fails_the_started_checks_at_the_error(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_repo.commit({CONTRACT: "apiVersion: v3.1.0\nkind: DataContract\nschema: [\n"}, "broken yaml")
    event = event_file(tmp_path, "pull_request", base=tiny_repo.base, head=tiny_repo.head)
    assert main(runner_env(tmp_path, tiny_repo, github_stub, "pull_request", event)) == 2
    runs = list(github_stub.check_runs.values())
    assert len(runs) == 2 and all(r["conclusion"] == "failure" for r in runs)
    assert runs[0]["output"]["title"].startswith("datacanary could not run")
    assert f"::error file={CONTRACT}" in capsys.readouterr().out


def test_verdict_does_not_depend_on_github_being_up(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub, capsys: pytest.CaptureFixture[str]
) -> None:
    github_stub.fail("POST", ".", 502, times=1000)
    github_stub.fail("GET", ".", 502, times=1000)
    event = event_file(tmp_path, "pull_request", base=tiny_repo.base, head=tiny_repo.head)
    env = runner_env(tmp_path, tiny_repo, github_stub, "pull_request", event)
    assert main(env) == 1
    outputs = read_outputs(Path(env["GITHUB_OUTPUT"]))
    assert outputs["verdict"] == "fail"
    assert json.loads(Path(outputs["report-json"]).read_text())["breaking_count"] == 2
    assert "datacanary: FAIL" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_dry_run_prints_the_effects_and_posts_nothing(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub, capsys: pytest.CaptureFixture[str]
) -> None:
    event = event_file(tmp_path, "pull_request", base=tiny_repo.base, head=tiny_repo.head)
    env = runner_env(tmp_path, tiny_repo, github_stub, "pull_request", event, dry_run="true")
    assert main(env) == 1
    assert github_stub.calls == []
    out = capsys.readouterr().out
    assert "create check run 'datacanary / contracts'" in out
    assert "update check run contracts: conclusion=failure, 3 annotation(s), 1 button(s)" in out
    assert "upsert comment on #2" in out
    assert read_outputs(Path(env["GITHUB_OUTPUT"]))["verdict"] == "fail"


def test_a_crash_still_completes_the_started_checks(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("app.pipeline.run_check", crash)
    event = event_file(tmp_path, "pull_request", base=tiny_repo.base, head=tiny_repo.head)
    with pytest.raises(RuntimeError):
        main(runner_env(tmp_path, tiny_repo, github_stub, "pull_request", event))
    runs = list(github_stub.check_runs.values())
    assert len(runs) == 2 and all(r["conclusion"] == "failure" for r in runs)
    assert "internal error: RuntimeError: boom" in runs[0]["output"]["title"]


def ack_event(tmp_path: Path, repo: TinyRepo, sender: str, identifier: str = "ack-breaking") -> Path:
    path = event_file(tmp_path, "check_run", base=repo.base, head=repo.head, action=identifier)
    payload = json.loads(path.read_text())
    payload["sender"]["login"] = sender
    path.write_text(json.dumps(payload))
    return path


def test_acknowledge_button_lets_the_breaking_change_through(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub
) -> None:
    pr = event_file(tmp_path, "pull_request", base=tiny_repo.base, head=tiny_repo.head)
    assert main(runner_env(tmp_path, tiny_repo, github_stub, "pull_request", pr)) == 1
    github_stub.permissions["maintainer"] = "write"
    env = runner_env(
        tmp_path, tiny_repo, github_stub, "check_run", ack_event(tmp_path, tiny_repo, "maintainer")
    )
    assert main(env) == 0
    latest = github_stub.check_runs_named("datacanary / contracts")[-1]
    assert latest["conclusion"] in ("success", "neutral") and latest["head_sha"] == tiny_repo.head
    comments = [c for c in github_stub.comments_on(2) if c["body"].startswith("<!-- datacanary:comment -->")]
    # named, without an @mention that would notify them again (a zero-width space after the @)
    assert len(comments) == 1 and "@\u200bmaintainer" in comments[0]["body"]


def test_acknowledge_needs_write_permission(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub, capsys: pytest.CaptureFixture[str]
) -> None:
    env = runner_env(tmp_path, tiny_repo, github_stub, "check_run", ack_event(tmp_path, tiny_repo, "visitor"))
    assert main(env) == 2
    assert "@visitor has read permission" in capsys.readouterr().out
    assert github_stub.check_runs == {}


def test_other_check_run_events_are_ignored(
    tmp_path: Path, tiny_repo: TinyRepo, github_stub: GitHubStub
) -> None:
    event = ack_event(tmp_path, tiny_repo, "maintainer", identifier="something-else")
    assert main(runner_env(tmp_path, tiny_repo, github_stub, "check_run", event)) == 0
    assert github_stub.calls == []
