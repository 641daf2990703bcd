"""Breach to revert end to end: the Action's `mode: slo` on a real git repository, a real DuckDB
environment and the shared GitHub stub."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

from action.slo import main
from app.revert.history import show
from tests.revert import scenario
from tests.support.github_stub import GitHubStub


def _env(b: scenario.Breached, stub: GitHubStub, tmp: Path) -> dict[str, str]:
    return {
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_WORKSPACE": str(b.repo.path),
        "GITHUB_API_URL": stub.base_url,
        "GITHUB_REF_NAME": "main",
        "GITHUB_OUTPUT": str(tmp / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp / "sum"),
        "INPUT_MODE": "slo",
        "INPUT_ENVIRONMENT": "prod",
        "INPUT_TRIGGER": "breach",
        "INPUT_STATE": str(b.state),
        "INPUT_REVERT_TOKEN": "app-token",
        "DATACANARY_GITHUB_THROTTLE": "off",
    }


def test_a_breach_opens_one_revert_pull_request_and_repeats_update_it(
    tmp_path: Path, github_stub: GitHubStub
) -> None:
    b = scenario.build(tmp_path, github_stub)
    out: list[str] = []
    env = _env(b, github_stub, tmp_path)

    assert main(env, write=out.append, log=lambda m: None, now=b.at(2)) == 1
    (pull,) = [p for n, p in github_stub.pulls.items() if n != 7]
    assert pull["title"] == 'Revert "Count revenue twice" (invariant:revenue_matches_orders breached in prod)'
    assert "datacanary restore revenue --to 1 --env prod" in pull["body"]
    commit = github_stub.git_objects[github_stub.refs["heads/" + pull["head"]["ref"]]]
    (entry,) = github_stub.git_objects[commit["tree"]["sha"]]["tree"]
    blob = github_stub.git_objects[entry["sha"]]
    assert base64.b64decode(blob["content"]) == show(
        b.repo.path, b.repo.merges[7] + "^1", "models/revenue.sql"
    )
    assert "incidents" in (tmp_path / "out").read_text()
    assert github_stub.requested_reviewers[pull["number"]] == ["ada-lovelace"]  # CODEOWNERS; teams mentioned
    assert "@ada-lovelace @acme/data" in pull["body"]

    # the same breach an hour and a half later: one updated comment, no second pull request
    assert main(env, write=out.append, log=lambda m: None, now=b.at(3) + dt.timedelta(minutes=30)) == 1
    assert len(github_stub.pulls) == 2
    assert len(github_stub.comments_on(pull["number"])) == 1
    # and again ten minutes later: inside the suppression window, nothing is sent
    calls = len(github_stub.calls)
    assert main(env, write=out.append, log=lambda m: None, now=b.at(3) + dt.timedelta(minutes=40)) == 1
    assert len(github_stub.calls) == calls


def test_dry_run_prints_the_plan_and_sends_nothing(tmp_path: Path, github_stub: GitHubStub) -> None:
    b = scenario.build(tmp_path, github_stub)
    out: list[str] = []
    env = {**_env(b, github_stub, tmp_path), "INPUT_DRY-RUN": "true"}
    assert main(env, write=out.append, log=lambda m: None, now=b.at(2)) == 1
    assert "open a revert pull request for #7" in "".join(out)
    assert not [c for c in github_stub.calls if c.method != "GET"]
