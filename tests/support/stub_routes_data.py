"""Stateful handlers of the GitHub stub for deployments, protection-rule reviews, installation tokens, git
data and contents (the promotion, App and revert concerns). Registered into stub_routes.ROUTES."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

from tests.support.stub_routes import NOW, Handler, R, Result, _missing, _page, _repo, _user, route

if TYPE_CHECKING:
    from tests.support.github_stub import GitHubStub


# ----- deployments ------------------------------------------------------------------------------
@route("post", f"{R}/deployments")
def create_deployment(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    did = stub.next_id()
    dep = {
        "id": did,
        "node_id": f"DE_{did}",
        "sha": stub.refs.get(f"heads/{body['ref']}", body["ref"]),
        "ref": body["ref"],
        "task": body.get("task", "deploy"),
        "payload": body.get("payload", {}),
        "environment": body.get("environment", "production"),
        "description": body.get("description"),
        "creator": _user("datacanary[bot]"),
        "created_at": NOW,
        "updated_at": NOW,
        "url": f"{root}/repos/{_repo(p)}/deployments/{did}",
        "statuses_url": f"{root}/repos/{_repo(p)}/deployments/{did}/statuses",
        "repository_url": f"{root}/repos/{_repo(p)}",
        "transient_environment": False,
        "production_environment": body.get("production_environment", False),
    }
    stub.deployments[did] = dep
    return 201, dep, {}


@route("get", f"{R}/deployments")
def list_deployments(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    deps = [
        d
        for d in reversed(list(stub.deployments.values()))
        if all(q[k] == str(d[k]) for k in ("sha", "ref", "task", "environment") if k in q)
    ]
    items, headers = _page(deps, q, root, f"/repos/{_repo(p)}/deployments")
    return 200, items, headers


@route("get", f"{R}/deployments/{{deployment_id}}")
def get_deployment(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    dep = stub.deployments.get(int(p["deployment_id"]))
    return (200, dep, {}) if dep else _missing("deployment")


@route("post", f"{R}/deployments/{{deployment_id}}/statuses")
def create_status(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    did = int(p["deployment_id"])
    if did not in stub.deployments:
        return _missing("deployment")
    sid = stub.next_id()
    status = {
        "id": sid,
        "node_id": f"DS_{sid}",
        "state": body["state"],
        "description": body.get("description", ""),
        "environment": body.get("environment", stub.deployments[did]["environment"]),
        "target_url": body.get("target_url", ""),
        "log_url": body.get("log_url", ""),
        "environment_url": body.get("environment_url", ""),
        "creator": _user("datacanary[bot]"),
        "created_at": NOW,
        "updated_at": NOW,
        "url": f"{root}/repos/{_repo(p)}/deployments/{did}/statuses/{sid}",
        "deployment_url": stub.deployments[did]["url"],
        "repository_url": f"{root}/repos/{_repo(p)}",
    }
    stub.deployment_statuses.setdefault(did, []).append(status)
    return 201, status, {}


@route("get", f"{R}/deployments/{{deployment_id}}/statuses")
def list_statuses(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    did = int(p["deployment_id"])
    items, headers = _page(
        list(reversed(stub.deployment_statuses.get(did, []))),
        q,
        root,
        f"/repos/{_repo(p)}/deployments/{did}/statuses",
    )
    return 200, items, headers


@route("post", f"{R}/actions/runs/{{run_id}}/deployment_protection_rule")
def review_protection(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    stub.protection_reviews.append({"run_id": int(p["run_id"]), "repo": _repo(p), **body})
    return 204, None, {}


@route("get", f"{R}/installation")
def repo_installation(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    iid = stub.app_installations.get(_repo(p))
    if iid is None:
        return _missing("installation")
    return (
        200,
        {
            "id": iid,
            "account": _user(p["owner"]),
            "app_id": 1,
            "target_id": 1,
            "target_type": "Organization",
            "repository_selection": "selected",
            "access_tokens_url": f"{root}/app/installations/{iid}/access_tokens",
            "repositories_url": f"{root}/installation/repositories",
            "html_url": f"https://github.com/organizations/{p['owner']}/settings/installations/{iid}",
            "permissions": {"contents": "write", "pull_requests": "write", "issues": "write"},
            "events": ["pull_request"],
            "created_at": NOW,
            "updated_at": NOW,
            "single_file_name": None,
        },
        {},
    )


@route("post", "/app/installations/{installation_id}/access_tokens")
def access_token(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    stub.installation_tokens.append(int(p["installation_id"]))
    return (
        201,
        {
            "token": f"ghs_stub{p['installation_id']}x{len(stub.installation_tokens)}",
            "expires_at": "2099-01-01T00:00:00Z",
            "permissions": (body or {}).get("permissions", {}),
            "repository_selection": "selected",
        },
        {},
    )


# ----- git data ------------------------------------------------------------------------------------
def _store(stub: GitHubStub, root: str, repo: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    sha = hashlib.sha1(f"{kind}:{json.dumps(content, sort_keys=True)}".encode()).hexdigest()
    obj = {"sha": sha, "node_id": f"G_{sha[:8]}", "url": f"{root}/repos/{repo}/git/{kind}s/{sha}", **content}
    stub.git_objects[sha] = {"_kind": kind, **obj}
    return obj


@route("post", f"{R}/git/blobs")
def create_blob(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    obj = _store(
        stub, root, _repo(p), "blob", {"content": body["content"], "encoding": body.get("encoding", "utf-8")}
    )
    return 201, {"sha": obj["sha"], "url": obj["url"]}, {}


@route("post", f"{R}/git/trees")
def create_tree(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    obj = _store(
        stub,
        root,
        _repo(p),
        "tree",
        {"tree": body["tree"], "base_tree": body.get("base_tree"), "truncated": False},
    )
    return 201, {k: v for k, v in obj.items() if k != "base_tree"}, {}


@route("post", f"{R}/git/commits")
def create_commit(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    author = body.get("author") or {"name": "datacanary", "email": "bot@example.com", "date": NOW}
    obj = _store(
        stub,
        root,
        _repo(p),
        "commit",
        {
            "message": body["message"],
            "tree": {"sha": body["tree"]},
            "parents": [{"sha": s} for s in body.get("parents", [])],
            "author": author,
            "committer": body.get("committer") or author,
            "verification": {"verified": False, "reason": "unsigned"},
            "html_url": "https://github.com/x",
        },
    )
    return 201, obj, {}


def _get_object(kind: str, key: str) -> Handler:
    def get(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
        obj = stub.git_objects.get(p[key])
        if obj is None or obj["_kind"] != kind:
            return _missing(kind)
        return 200, {k: v for k, v in obj.items() if not k.startswith("_")}, {}

    return get


route("get", f"{R}/git/blobs/{{file_sha}}")(_get_object("blob", "file_sha"))
route("get", f"{R}/git/trees/{{tree_sha}}")(_get_object("tree", "tree_sha"))
route("get", f"{R}/git/commits/{{commit_sha}}")(_get_object("commit", "commit_sha"))


def _ref_json(root: str, repo: str, ref: str, sha: str) -> dict[str, Any]:
    return {
        "ref": f"refs/{ref}",
        "node_id": "REF_1",
        "url": f"{root}/repos/{repo}/git/refs/{ref}",
        "object": {"type": "commit", "sha": sha, "url": f"{root}/repos/{repo}/git/commits/{sha}"},
    }


@route("get", f"{R}/git/ref/{{ref}}")
def get_ref(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    sha = stub.refs.get(p["ref"])
    return (200, _ref_json(root, _repo(p), p["ref"], sha), {}) if sha else _missing("ref")


@route("post", f"{R}/git/refs")
def create_ref(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    ref = body["ref"].removeprefix("refs/")
    if ref in stub.refs:
        return 422, {"message": "Reference already exists"}, {}
    stub.refs[ref] = body["sha"]
    return 201, _ref_json(root, _repo(p), ref, body["sha"]), {}


@route("patch", f"{R}/git/refs/{{ref}}")
def update_ref(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    if p["ref"] not in stub.refs:
        return 422, {"message": "Reference does not exist"}, {}
    stub.refs[p["ref"]] = body["sha"]
    return 200, _ref_json(root, _repo(p), p["ref"], body["sha"]), {}


@route("get", f"{R}/contents/{{path}}")
def get_contents(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    ref = q.get("ref", "main")
    text = stub.files.get((ref, p["path"]))
    if text is None:
        return _missing("file")
    sha = hashlib.sha1(text.encode()).hexdigest()
    return (
        200,
        {
            "type": "file",
            "encoding": "base64",
            "size": len(text.encode()),
            "name": p["path"].rsplit("/", 1)[-1],
            "path": p["path"],
            "content": base64.b64encode(text.encode()).decode(),
            "sha": sha,
            "url": f"{root}/repos/{_repo(p)}/contents/{p['path']}?ref={ref}",
        },
        {},
    )
