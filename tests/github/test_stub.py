"""The GitHub stand-in itself: it answers operations it has no handler for from GitHub's own examples,
keeps state for the families other concerns use, paginates like GitHub, and flags what GitHub would not
accept (so a test cannot pass by sending something GitHub would reject)."""

from __future__ import annotations

import requests

from tests.support.github_stub import GitHubStub

H = {"Authorization": "token t", "Accept": "application/vnd.github+json"}


def test_operations_without_a_handler_answer_with_the_openapi_example(github_stub: GitHubStub) -> None:
    r = requests.get(f"{github_stub.base_url}/app", headers=H, timeout=5)
    assert r.status_code == 200 and "slug" in r.json()


def test_deployments_and_statuses_are_stateful(github_stub: GitHubStub) -> None:
    base = f"{github_stub.base_url}/repos/o/r/deployments"
    dep = requests.post(
        base, json={"ref": "main", "environment": "prod", "auto_merge": False}, headers=H, timeout=5
    )
    assert dep.status_code == 201
    did = dep.json()["id"]
    requests.post(f"{base}/{did}/statuses", json={"state": "success"}, headers=H, timeout=5)
    listed = requests.get(base, params={"environment": "prod"}, headers=H, timeout=5).json()
    assert [d["id"] for d in listed] == [did]
    assert github_stub.deployment_statuses[did][0]["state"] == "success"


def test_git_data_round_trip(github_stub: GitHubStub) -> None:
    base = f"{github_stub.base_url}/repos/o/r/git"
    blob = requests.post(f"{base}/blobs", json={"content": "select 1"}, headers=H, timeout=5).json()["sha"]
    tree = requests.post(
        f"{base}/trees",
        json={"tree": [{"path": "a.sql", "mode": "100644", "type": "blob", "sha": blob}]},
        headers=H,
        timeout=5,
    ).json()["sha"]
    commit = requests.post(
        f"{base}/commits", json={"message": "revert", "tree": tree, "parents": []}, headers=H, timeout=5
    ).json()["sha"]
    assert (
        requests.post(
            f"{base}/refs", json={"ref": "refs/heads/revert-1", "sha": commit}, headers=H, timeout=5
        ).status_code
        == 201
    )
    got = requests.get(f"{base}/ref/heads/revert-1", headers=H, timeout=5).json()
    assert got["object"]["sha"] == commit
    assert requests.get(f"{base}/commits/{commit}", headers=H, timeout=5).json()["message"] == "revert"


def test_lists_paginate_with_link_headers(github_stub: GitHubStub) -> None:
    github_stub.add_pull(1)
    for i in range(35):
        github_stub.add_comment(1, f"c{i}")
    first = requests.get(f"{github_stub.base_url}/repos/o/r/issues/1/comments", headers=H, timeout=5)
    assert len(first.json()) == 30 and 'rel="next"' in first.headers["Link"]
    second = requests.get(first.links["next"]["url"], headers=H, timeout=5)
    assert len(second.json()) == 5 and "Link" not in second.headers


def test_what_github_would_reject_is_recorded(github_stub: GitHubStub) -> None:
    url = github_stub.base_url
    requests.post(f"{url}/repos/o/r/check-runs", json={"head_sha": "a"}, headers=H, timeout=5)  # no name
    requests.get(f"{url}/repos/o/r/check-runs/abc", headers=H, timeout=5)  # id not an integer
    requests.get(f"{url}/repos/o/r/issues/1/comments", params={"per_page": 30}, headers=H, timeout=5)
    requests.post(f"{url}/graphql", json={"no": "query"}, headers=H, timeout=5)
    violations = github_stub.take_violations()
    assert len(violations) == 4
    assert "'name' is a required property" in violations[0]
    assert "check_run_id='abc' is not an integer" in violations[1]
    assert "per_page=30" in violations[2] and "GraphQL" in violations[3]


def test_protection_rule_reviews_and_installation_tokens(github_stub: GitHubStub) -> None:
    url = github_stub.base_url
    r = requests.post(
        f"{url}/repos/o/r/actions/runs/77/deployment_protection_rule",
        json={"environment_name": "prod", "state": "approved", "comment": "canary passed"},
        headers=H,
        timeout=5,
    )
    assert r.status_code == 204
    assert github_stub.protection_reviews == [
        {
            "run_id": 77,
            "repo": "o/r",
            "environment_name": "prod",
            "state": "approved",
            "comment": "canary passed",
        }
    ]
    token = requests.post(f"{url}/app/installations/5/access_tokens", headers=H, timeout=5).json()
    assert token["token"].startswith("ghs_") and github_stub.installation_tokens == [5]
