"""The revert plan applied through the shared GitHub stub (every request checked against OpenAPI)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from app.github.apply import apply
from app.github.apply_revert import RevertClient
from app.revert.culprit import find
from app.revert.history import merged_changes, promoted, show
from app.revert.plan import Breach, FileState, Incident, RestoreStep, plan
from app.slo.objectives import Objective
from app.slo.status import judge
from tests.revert.conftest import LINEAGE, Repo
from tests.support.github_stub import GitHubStub

NOW = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
OBJ = Objective(
    dataset="revenue",
    sli="consistency",
    comparator="<=",
    threshold=0,
    unit="groups",
    source="datacanary.yml",
    name="revenue_matches_payments",
    datasets=("revenue",),
    owners=("ada-lovelace",),
)
BREACH = Breach("prod", NOW, (judge(OBJ, 3.0, {"groups": 7}),))
RESTORE = (RestoreStep("revenue", 4, "2099-12-31T00:00:00+00:00", 5),)


def _plan(repo: Repo, existing: Incident | None = None, now: dt.datetime = NOW) -> Any:
    changes = promoted(repo.path, merged_changes(repo.path), [])
    culprit = find(BREACH.datasets, changes, LINEAGE, since=None, until=NOW)
    assert culprit is not None
    head = repo.git("rev-parse", "main")
    c = culprit.change
    files = [
        FileState(p, show(repo.path, c.parent, p), show(repo.path, c.commit, p), show(repo.path, head, p))
        for p in c.files
    ]
    return plan(
        BREACH,
        culprit,
        files,
        repo="o/r",
        default_branch="main",
        head_sha=head,
        restore=RESTORE,
        existing=existing,
        now=now,
        suppression=dt.timedelta(hours=1),
    ), head


def _client(stub: GitHubStub) -> RevertClient:
    return RevertClient(
        "o/r",
        base_url=stub.base_url,
        token="t",
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
    )


def _seed(stub: GitHubStub, head: str) -> None:
    stub.add_pull(1, title="Amounts in euros")
    stub.refs["heads/main"] = head
    stub.add_commit(head, tree_sha="f" * 40)


def test_revert_commit_restores_the_pre_merge_files_through_the_git_data_api(
    repo: Repo, github_stub: GitHubStub
) -> None:
    revert, head = _plan(repo)
    assert revert.kind == "revert"
    _seed(github_stub, head)
    github_stub.graphql_responder = lambda body: {"errors": [{"message": "revert not possible"}]}
    result = apply(revert.effects, port=_client(github_stub))
    assert result.ok, (result.failed, [(c.method, c.path) for c in github_stub.calls])
    branch = f"heads/datacanary/revert-{revert.fingerprint}"
    commit = github_stub.git_objects[github_stub.refs[branch]]
    assert [p["sha"] for p in commit["parents"]] == [head]
    tree = github_stub.git_objects[commit["tree"]["sha"]]
    assert tree["base_tree"] == "f" * 40
    restored = {
        e["path"]: (
            None if e["sha"] is None else base64.b64decode(github_stub.git_objects[e["sha"]]["content"])
        )
        for e in tree["tree"]
    }
    pre_merge = repo.merges[1] + "^1"
    assert restored == {
        "models/stg_helpers.sql": None,  # added by the PR: deleted by the revert
        "models/stg_orders.sql": show(repo.path, pre_merge, "models/stg_orders.sql"),
    }
    pull = github_stub.pulls[result.check_runs[f"revert:{revert.fingerprint}"]]
    assert pull["title"].startswith('Revert "Amounts in euros"')
    assert "stg_orders → orders → revenue" in pull["body"]
    assert "datacanary restore revenue --to 4 --env prod" in pull["body"]
    # every file the revert touches is named, the one it deletes as such
    assert "restores 2 file(s)" in pull["body"]
    assert "- `models/stg_helpers.sql`: deleted (the change added it)" in pull["body"]
    assert "- `models/stg_orders.sql`: restored" in pull["body"]
    assert github_stub.requested_reviewers[pull["number"]] == ["ada-lovelace"]
    assert {label["name"] for label in github_stub.issues[pull["number"]]["labels"]} == {
        "datacanary",
        "slo-breach",
        "revert",
    }


def test_graphql_revert_pull_request_is_preferred(repo: Repo, github_stub: GitHubStub) -> None:
    revert, head = _plan(repo)
    _seed(github_stub, head)
    github_stub.graphql_responder = lambda body: {
        "data": {
            "revertPullRequest": {"revertPullRequest": {"number": 1, "url": "https://github.com/o/r/pull/1"}}
        }
    }
    result = apply(revert.effects, port=_client(github_stub))
    assert result.ok, result.failed
    sent = github_stub.graphql[0]
    assert "revertPullRequest" in sent["query"]
    assert sent["variables"]["input"]["pullRequestId"] == github_stub.pulls[1]["node_id"]
    assert sent["variables"]["input"]["title"].startswith('Revert "Amounts in euros"')
    assert not github_stub.calls_to("post", "/repos/{owner}/{repo}/git/commits")


def test_later_changes_to_the_same_files_open_an_issue_instead(repo: Repo, github_stub: GitHubStub) -> None:
    repo.commit(
        "hotfix", {"models/stg_orders.sql": "select order_id, amount / 100.0 as amount from raw_orders\n"}
    )
    revert, head = _plan(repo)
    assert revert.kind == "conflict"
    assert "models/stg_orders.sql" in revert.reason
    result = apply(revert.effects, port=_client(github_stub))
    assert result.ok, result.failed
    assert not github_stub.pulls and not github_stub.calls_to("post", "/repos/{owner}/{repo}/git/blobs")
    (issue,) = github_stub.issues.values()
    assert "cannot revert #1 safely" in issue["title"]
    assert "| `models/stg_orders.sql` | yes |" in issue["body"]


def test_an_issue_answered_with_a_502_after_github_opened_it_is_not_opened_twice(
    repo: Repo, github_stub: GitHubStub
) -> None:
    from app.github.apply import RetryPolicy

    repo.commit(
        "hotfix", {"models/stg_orders.sql": "select order_id, amount / 100.0 as amount from raw_orders\n"}
    )
    revert, _ = _plan(repo)
    github_stub.fail("POST", r"/repos/o/r/issues$", 502, after=True)
    result = apply(revert.effects, port=_client(github_stub), retry=RetryPolicy(backoff=0.0))
    assert result.ok, result.failed
    (issue,) = github_stub.issues.values()
    assert result.check_runs == {revert.effects[0].ref: issue["number"]}


def test_a_revert_is_never_reverted(repo: Repo) -> None:
    repo.merge_pr(
        3,
        "revert-1-cents-to-euros",
        'Revert "Amounts in euros"',
        {"models/stg_orders.sql": "select order_id, amount from raw_orders\n"},
    )
    revert, _ = _plan(repo)
    assert revert.kind == "declined"
    assert revert.culprit.change.number == 3


def test_a_repeated_alert_updates_the_open_pull_request(repo: Repo, github_stub: GitHubStub) -> None:
    first, head = _plan(repo)
    seen = Incident(first.fingerprint, "pull", 7, NOW - dt.timedelta(hours=2), alerts=1)
    again, _ = _plan(repo, existing=seen)
    assert again.kind == "update" and again.fingerprint == first.fingerprint
    github_stub.add_pull(7, title="the revert")
    for _ in range(2):  # the same comment is edited in place, not posted twice
        assert apply(again.effects, port=_client(github_stub)).ok
    (comment,) = github_stub.comments_on(7)
    assert "alert 2" in comment["body"]


def test_a_graphql_revert_answered_with_a_502_after_github_opened_it_is_not_opened_twice(
    repo: Repo, github_stub: GitHubStub
) -> None:
    from app.github.apply import RetryPolicy
    from tests.support.stub_routes import seed_pull

    revert, head = _plan(repo)
    _seed(github_stub, head)
    numbers = iter(range(2, 10))

    def github_reverts(body: dict[str, Any]) -> dict[str, Any]:  # each call opens one more revert PR
        sent, number = body["variables"]["input"], next(numbers)
        pull = seed_pull(github_stub, number, "o/r", "c" * 40, head, "o/r", sent["title"], f"revert-{number}")
        pull["body"] = sent["body"]
        return {
            "data": {"revertPullRequest": {"revertPullRequest": {"number": number, "url": pull["html_url"]}}}
        }

    github_stub.graphql_responder = github_reverts
    github_stub.fail("POST", r"graphql$", 502, after=True)
    result = apply(revert.effects, port=_client(github_stub), retry=RetryPolicy(backoff=0.0))
    assert result.ok, result.failed
    assert sorted(github_stub.pulls) == [1, 2]  # the merged PR and one revert
    assert 2 in result.check_runs.values()


def test_alerts_inside_the_suppression_window_do_nothing(repo: Repo) -> None:
    first, _ = _plan(repo)
    seen = Incident(first.fingerprint, "pull", 7, NOW - dt.timedelta(minutes=10), alerts=3)
    again, _ = _plan(repo, existing=seen)
    assert (again.kind, again.effects) == ("suppressed", ())


def test_a_graphql_revert_opened_before_a_crash_is_found_again_not_opened_twice(
    repo: Repo, github_stub: GitHubStub
) -> None:
    from tests.support.stub_routes import seed_pull

    revert, head = _plan(repo)
    _seed(github_stub, head)

    def github_reverts(body: dict[str, Any]) -> dict[str, Any]:  # GitHub opens the PR on its own branch
        sent = body["variables"]["input"]
        pull = seed_pull(github_stub, 2, "o/r", "c" * 40, head, "o/r", sent["title"], "revert-1-feature")
        pull["body"] = sent["body"]
        return {"data": {"revertPullRequest": {"revertPullRequest": {"number": 2, "url": pull["html_url"]}}}}

    github_stub.graphql_responder = github_reverts
    first = apply(revert.effects, port=_client(github_stub))
    # the process died before recording #2; the resumed attempt applies the same effects again
    again = apply(revert.effects, port=_client(github_stub))
    assert first.ok and again.ok, (first.failed, again.failed)
    assert first.check_runs == again.check_runs and 2 in first.check_runs.values()
    assert len(github_stub.graphql) == 1  # one revertPullRequest, one pull request
    assert sorted(github_stub.pulls) == [1, 2]
