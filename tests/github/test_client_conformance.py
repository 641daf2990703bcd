"""The PyGithub adapter against the loopback GitHub: every request it sends is matched to an operation of
GitHub's OpenAPI description and its body validated (the fixture fails the test on any violation)."""

from __future__ import annotations

import time

import pytest

from app.effects import Annotation, AnnotationLevel, CheckAction, CheckConclusion, CheckStatus
from app.github.client import GitHubClient
from app.github.port import GitHubHttpError
from tests.github.conftest import REPO, make_client
from tests.support.github_stub import GitHubStub


def test_create_and_complete_a_check_run(client: GitHubClient, github_stub: GitHubStub) -> None:
    cid = client.create_check_run(
        "datacanary / contracts",
        "a" * 40,
        status=CheckStatus.IN_PROGRESS,
        external_id="ext-1",
        details_url="https://example.com/run/1",
    )
    notes = [
        Annotation(
            "contracts/orders.yaml", 12, 12, AnnotationLevel.FAILURE, "column removed", "column-removed"
        )
    ]
    client.update_check_run(
        cid,
        conclusion=CheckConclusion.FAILURE,
        title="1 breaking change",
        summary="**fail**",
        text="details",
        annotations=notes,
        actions=[CheckAction("Acknowledge breaking", "Accept", "ack-breaking")],
    )
    run = github_stub.check_runs[cid]
    assert (run["status"], run["conclusion"], run["external_id"]) == ("completed", "failure", "ext-1")
    assert run["output"]["title"] == "1 breaking change"
    assert github_stub.annotations[cid][0]["path"] == "contracts/orders.yaml"
    assert run["_actions"][0]["identifier"] == "ack-breaking"
    assert [(c.method, c.template) for c in github_stub.calls] == [
        ("POST", "/repos/{owner}/{repo}/check-runs"),
        ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ]
    assert client.api_calls == 2 and client.rate_remaining is not None


def test_update_by_id_alone_sends_no_extra_get(client: GitHubClient, github_stub: GitHubStub) -> None:
    cid = make_client(github_stub.base_url).create_check_run("x", "b" * 40, status=CheckStatus.QUEUED)
    client.update_check_run(cid, status=CheckStatus.IN_PROGRESS)
    assert [c.method for c in github_stub.calls] == ["POST", "PATCH"]
    assert github_stub.check_runs[cid]["status"] == "in_progress"


def test_comments_are_listed_created_and_edited(client: GitHubClient, github_stub: GitHubStub) -> None:
    github_stub.add_pull(7, repo=REPO)
    for i in range(130):  # more than one page of 100
        github_stub.add_comment(7, f"comment {i}", repo=REPO)
    cid = client.create_issue_comment(7, "<!-- m --> hello")
    comments = client.list_issue_comments(7)
    assert len(comments) == 131 and comments[-1].id == cid and comments[-1].user == "datacanary[bot]"
    client.edit_issue_comment(cid, "<!-- m --> edited")
    assert github_stub.comments[cid]["body"] == "<!-- m --> edited"
    pages = [c for c in github_stub.calls if c.method == "GET"]
    assert len(pages) == 2 and pages[0].query.get("per_page") == "100"


def test_github_enterprise_base_url(github_stub: GitHubStub) -> None:
    ghes = make_client(github_stub.ghes_base_url)
    cid = ghes.create_check_run("x", "c" * 40, status=CheckStatus.IN_PROGRESS)
    ghes.update_check_run(cid, conclusion=CheckConclusion.SUCCESS, title="ok", summary="ok")
    assert github_stub.check_runs[cid]["conclusion"] == "success"
    assert github_stub.check_runs[cid]["url"].startswith(github_stub.base_url + "/api/v3/")


def test_errors_carry_status_and_rate_limit_headers(client: GitHubClient, github_stub: GitHubStub) -> None:
    github_stub.secondary_rate_limit("POST", r"/check-runs$", retry_after=9)
    with pytest.raises(GitHubHttpError) as info:
        client.create_check_run("x", "d" * 40, status=CheckStatus.IN_PROGRESS)
    err = info.value
    assert (err.status, err.retry_after, err.rate_limited, err.transient) == (403, 9.0, True, True)


def test_read_only_token_is_not_permitted_and_has_a_hint(
    client: GitHubClient, github_stub: GitHubStub
) -> None:
    github_stub.read_only = True
    with pytest.raises(GitHubHttpError) as info:
        client.create_check_run("x", "e" * 40, status=CheckStatus.IN_PROGRESS)
    assert info.value.not_permitted and not info.value.transient
    assert info.value.hint and "checks: write" in info.value.hint


def test_unreachable_github_is_a_transient_error() -> None:
    from tests.support.stub_server import free_port

    dead = make_client(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(GitHubHttpError) as info:
        dead.create_check_run("x", "f" * 40, status=CheckStatus.IN_PROGRESS)
    assert info.value.status == 0 and info.value.transient


def test_the_stub_rejects_a_body_github_would_reject(client: GitHubClient, github_stub: GitHubStub) -> None:
    cid = client.create_check_run("x", "a" * 40, status=CheckStatus.IN_PROGRESS)
    client._gh.requester.requestJsonAndCheck(  # a deliberately malformed request, bypassing the adapter
        "PATCH",
        f"/repos/{REPO}/check-runs/{cid}",
        input={
            "conclusion": "broken",
            "output": {
                "title": "t",
                "summary": "s",
                "annotations": [{"path": "a", "start_line": 1, "annotation_level": "fatal", "message": "m"}],
            },
        },
    )
    violations = github_stub.take_violations()
    assert any("'broken' is not one of" in v for v in violations)
    assert any("end_line" in v or "'fatal'" in v for v in violations)


def test_the_stub_rejects_an_operation_github_does_not_have(
    client: GitHubClient, github_stub: GitHubStub
) -> None:
    from github import GithubException

    with pytest.raises(GithubException):
        client._gh.requester.requestJsonAndCheck("POST", f"/repos/{REPO}/check-runs/1/rerun-everything")
    assert github_stub.take_violations() == [
        f"POST /repos/{REPO}/check-runs/1/rerun-everything: GitHub's REST API has no such operation"
    ]


def test_graphql_goes_to_api_graphql_beside_a_ghes_base(github_stub: GitHubStub) -> None:
    ghes = make_client(github_stub.ghes_base_url)
    ghes._gh.requester.graphql_query("query { viewer { login } }", {})
    assert github_stub.calls[-1].path == "/api/graphql" and github_stub.graphql[0]["query"].startswith(
        "query"
    )


def test_throttling_is_off_so_writes_are_fast(client: GitHubClient) -> None:
    start = time.monotonic()
    for i in range(5):
        client.create_check_run(f"c{i}", "a" * 40, status=CheckStatus.IN_PROGRESS)
    assert time.monotonic() - start < 1.0  # PyGithub's default would wait 1 s between writes


def test_get_pull_reads_head_and_base(client: GitHubClient, github_stub: GitHubStub) -> None:
    github_stub.add_pull(4, repo=REPO, head_sha="1" * 40, base_sha="2" * 40, head_repo="fork/shop")
    pull = client.get_pull(4)
    assert (pull.number, pull.head_sha, pull.base_sha, pull.head_repo) == (4, "1" * 40, "2" * 40, "fork/shop")
    with pytest.raises(GitHubHttpError) as info:
        client.get_pull(99)
    assert info.value.status == 404 and info.value.not_permitted is True
