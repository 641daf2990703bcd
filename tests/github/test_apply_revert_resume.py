"""A revert applied again after it stopped half-way (a crash before the pull request was recorded, a
failure after the branch was pushed) reuses its branch and its pull request: one breach, one pull request."""

from __future__ import annotations

from app.github.apply import RetryPolicy, apply
from app.github.apply_revert import RevertClient
from app.revert.effects import OpenRevertPullRequest
from tests.support.github_stub import GitHubStub

BASE = "b" * 40


def _effect() -> OpenRevertPullRequest:
    return OpenRevertPullRequest(
        ref="revert:abc",
        pull_number=7,
        title='Revert "Count revenue twice"',
        body="the revenue SLO is breached",
        base="main",
        base_sha=BASE,
        branch="datacanary/revert-abc",
        message='Revert "Count revenue twice"',
        files=(("models/revenue.sql", b"select sum(amount) as total from orders\n"),),
        use_graphql=False,
    )


def _client(stub: GitHubStub) -> RevertClient:
    return RevertClient(
        "o/r", base_url=stub.base_url, token="t", seconds_between_requests=None, seconds_between_writes=None
    )


def test_applying_a_revert_twice_reuses_its_branch_and_pull_request(github_stub: GitHubStub) -> None:
    github_stub.refs["heads/main"] = BASE
    github_stub.add_commit(BASE, tree_sha="e" * 40)
    first = apply([_effect()], port=_client(github_stub), retry=RetryPolicy(attempts=1))
    again = apply([_effect()], port=_client(github_stub), retry=RetryPolicy(attempts=1))
    assert first.ok and again.ok, (first.failed, again.failed)
    assert list(github_stub.pulls) == [first.check_runs["revert:abc"]] == [again.check_runs["revert:abc"]]
    (pull,) = github_stub.pulls.values()
    assert github_stub.refs["heads/datacanary/revert-abc"] == pull["head"]["sha"]
    assert len(github_stub.calls_to("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}")) == 1
    (lookup,) = github_stub.calls_to("GET", "/repos/{owner}/{repo}/pulls")
    assert lookup.query["head"] == "o:datacanary/revert-abc" and lookup.query["state"] == "open"
