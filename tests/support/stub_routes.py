"""Stateful handlers of the GitHub stub, one per OpenAPI operation (method, path template). Responses
carry the fields PyGithub reads, with `url`s under the stub's base URL so lazy objects can fetch them.
Operations without a handler here or in stub_routes_data answer with their OpenAPI example."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.github_stub import GitHubStub

Result = tuple[int, Any, dict[str, str]]
Handler = Callable[["GitHubStub", str, dict[str, str], dict[str, str], Any], Result]
ROUTES: dict[tuple[str, str], Handler] = {}
NOW = "2026-01-01T00:00:00Z"
R = "/repos/{owner}/{repo}"


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ROUTES[(method, template)] = fn
        return fn

    return register


def _repo(p: dict[str, str]) -> str:
    return f"{p['owner']}/{p['repo']}"


def _user(login: str) -> dict[str, Any]:
    return {
        "login": login,
        "id": abs(hash(login)) % 10**6,
        "type": "Bot" if login.endswith("[bot]") else "User",
    }


def _missing(what: str) -> Result:
    return 404, {"message": f"Not Found ({what})"}, {}


def _page(items: list[Any], query: dict[str, str], root: str, path: str) -> tuple[list[Any], dict[str, str]]:
    per_page = int(query.get("per_page", 30))
    page = int(query.get("page", 1))
    chunk = items[(page - 1) * per_page : page * per_page]
    last = max(1, -(-len(items) // per_page))
    headers = {}
    if page < last:
        extra = f"&per_page={per_page}" if "per_page" in query else ""
        headers["Link"] = (
            f'<{root}{path}?page={page + 1}{extra}>; rel="next", '
            f'<{root}{path}?page={last}{extra}>; rel="last"'
        )
    return chunk, headers


@route("get", R)
def get_repo(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    full = _repo(p)
    return (
        200,
        {
            "id": 1296269,
            "node_id": "R_1",
            "name": p["repo"],
            "full_name": full,
            "owner": _user(p["owner"]),
            "private": False,
            "url": f"{root}/repos/{full}",
            "html_url": f"https://github.com/{full}",
            "default_branch": "main",
            "fork": False,
        },
        {},
    )


# ----- check runs ---------------------------------------------------------------------------------
def _check_json(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if not k.startswith("_")}


def _apply_check_body(stub: GitHubStub, run: dict[str, Any], body: dict[str, Any], root: str) -> None:
    for key in (
        "name",
        "head_sha",
        "details_url",
        "external_id",
        "status",
        "conclusion",
        "started_at",
        "completed_at",
    ):
        if key in body:
            run[key] = body[key]
    if body.get("conclusion"):
        run["status"] = "completed"
        run["completed_at"] = body.get("completed_at", NOW)
    if "actions" in body:
        run["_actions"] = body["actions"]
    output = body.get("output")
    if output:
        new = stub.annotations.setdefault(run["id"], [])
        new.extend(output.get("annotations", []))
        run["output"] = {
            "title": output.get("title"),
            "summary": output.get("summary"),
            "text": output.get("text"),
            "annotations_count": len(new),
            "annotations_url": f"{root}/repos/{run['_repo']}/check-runs/{run['id']}/annotations",
        }


@route("post", f"{R}/check-runs")
def create_check_run(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    cid = stub.next_id()
    run: dict[str, Any] = {
        "id": cid,
        "node_id": f"CR_{cid}",
        "name": body["name"],
        "head_sha": body["head_sha"],
        "external_id": None,
        "details_url": None,
        "status": "queued",
        "conclusion": None,
        "started_at": NOW,
        "completed_at": None,
        "url": f"{root}/repos/{_repo(p)}/check-runs/{cid}",
        "html_url": f"https://github.com/{_repo(p)}/runs/{cid}",
        "check_suite": {"id": 5},
        "app": {"id": 1, "slug": "datacanary", "name": "datacanary"},
        "pull_requests": [],
        "output": {
            "title": None,
            "summary": None,
            "text": None,
            "annotations_count": 0,
            "annotations_url": f"{root}/repos/{_repo(p)}/check-runs/{cid}/annotations",
        },
        "_repo": _repo(p),
        "_actions": [],
    }
    _apply_check_body(stub, run, body, root)
    stub.check_runs[cid] = run
    return 201, _check_json(run), {}


@route("get", f"{R}/check-runs/{{check_run_id}}")
def get_check_run(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    run = stub.check_runs.get(int(p["check_run_id"]))
    return (200, _check_json(run), {}) if run else _missing("check run")


@route("patch", f"{R}/check-runs/{{check_run_id}}")
def update_check_run(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    run = stub.check_runs.get(int(p["check_run_id"]))
    if run is None:
        return _missing("check run")
    _apply_check_body(stub, run, body, root)
    return 200, _check_json(run), {}


@route("get", f"{R}/check-runs/{{check_run_id}}/annotations")
def list_annotations(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    items, headers = _page(
        stub.annotations.get(int(p["check_run_id"]), []),
        q,
        root,
        f"/repos/{_repo(p)}/check-runs/{p['check_run_id']}/annotations",
    )
    return 200, items, headers


@route("get", f"{R}/commits/{{ref}}/check-runs")
def runs_for_ref(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    runs = [_check_json(r) for r in stub.check_runs.values() if r["head_sha"] == p["ref"]]
    if "check_name" in q:
        runs = [r for r in runs if r["name"] == q["check_name"]]
    return 200, {"total_count": len(runs), "check_runs": runs}, {}


# ----- issues, comments, labels ----------------------------------------------------------------
def seed_comment(
    stub: GitHubStub, number: int, body: str, user: str, repo: str, root: str = ""
) -> dict[str, Any]:
    cid = stub.next_id()
    root = root or stub.server_url
    comment = {
        "id": cid,
        "node_id": f"IC_{cid}",
        "body": body,
        "user": _user(user),
        "created_at": NOW,
        "updated_at": NOW,
        "url": f"{root}/repos/{repo}/issues/comments/{cid}",
        "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{cid}",
        "issue_url": f"{root}/repos/{repo}/issues/{number}",
        "author_association": "NONE",
        "_issue": number,
    }
    stub.comments[cid] = comment
    return comment


def _public(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if not k.startswith("_")}


@route("get", f"{R}/issues/{{issue_number}}/comments")
def list_comments(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    all_ = [_public(c) for c in stub.comments.values() if c["_issue"] == int(p["issue_number"])]
    items, headers = _page(all_, q, root, f"/repos/{_repo(p)}/issues/{p['issue_number']}/comments")
    return 200, items, headers


@route("post", f"{R}/issues/{{issue_number}}/comments")
def create_comment(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    comment = seed_comment(stub, int(p["issue_number"]), body["body"], "datacanary[bot]", _repo(p), root)
    return 201, _public(comment), {}


@route("get", f"{R}/issues/comments/{{comment_id}}")
def get_comment(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    c = stub.comments.get(int(p["comment_id"]))
    return (200, _public(c), {}) if c else _missing("comment")


@route("patch", f"{R}/issues/comments/{{comment_id}}")
def edit_comment(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    c = stub.comments.get(int(p["comment_id"]))
    if c is None:
        return _missing("comment")
    c["body"] = body["body"]
    c["updated_at"] = NOW
    return 200, _public(c), {}


def _issue_json(
    stub: GitHubStub, root: str, repo: str, number: int, title: str, body: str | None, pull: bool
) -> dict[str, Any]:
    return {
        "id": stub.next_id(),
        "number": number,
        "title": title,
        "body": body,
        "state": "open",
        "url": f"{root}/repos/{repo}/issues/{number}",
        "html_url": f"https://github.com/{repo}/issues/{number}",
        "user": _user("octocat"),
        "labels": [],
        "comments": 0,
        "created_at": NOW,
        "updated_at": NOW,
        **({"pull_request": {"url": f"{root}/repos/{repo}/pulls/{number}"}} if pull else {}),
    }


@route("get", f"{R}/issues/{{issue_number}}")
def get_issue(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    issue = stub.issues.get(int(p["issue_number"]))
    return (200, issue, {}) if issue else _missing("issue")


@route("get", f"{R}/issues")
def list_issues(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    # GitHub lists pull requests among the issues (with a pull_request key); newest first when asked
    issues = [x for x in stub.issues.values() if q.get("state", "open") in ("all", x["state"])]
    if q.get("direction") == "desc":
        issues.reverse()
    items, headers = _page(issues, q, root, f"/repos/{_repo(p)}/issues")
    return 200, items, headers


@route("post", f"{R}/issues")
def create_issue(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    number = max([*stub.issues, 0]) + 1
    issue = _issue_json(stub, root, _repo(p), number, body["title"], body.get("body"), pull=False)
    issue["labels"] = [{"name": n} if isinstance(n, str) else n for n in body.get("labels", [])]
    stub.issues[number] = issue
    return 201, issue, {}


@route("post", f"{R}/issues/{{issue_number}}/labels")
def add_labels(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    issue = stub.issues.get(int(p["issue_number"]))
    if issue is None:
        return _missing("issue")
    names = body.get("labels", []) if isinstance(body, dict) else body
    for name in names:
        name = name["name"] if isinstance(name, dict) else name
        label = stub.labels.setdefault(
            name,
            {
                "id": stub.next_id(),
                "name": name,
                "color": "ededed",
                "url": f"{root}/repos/{_repo(p)}/labels/{name}",
            },
        )
        if label not in issue["labels"]:
            issue["labels"].append(label)
    return 200, issue["labels"], {}


@route("get", f"{R}/labels")
def list_labels(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    items, headers = _page(list(stub.labels.values()), q, root, f"/repos/{_repo(p)}/labels")
    return 200, items, headers


@route("post", f"{R}/labels")
def create_label(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    if body["name"] in stub.labels:
        return 422, {"message": "Validation Failed", "errors": [{"code": "already_exists"}]}, {}
    label = {
        "id": stub.next_id(),
        "name": body["name"],
        "color": body.get("color", "ededed"),
        "url": f"{root}/repos/{_repo(p)}/labels/{body['name']}",
    }
    stub.labels[body["name"]] = label
    return 201, label, {}


# ----- pull requests -----------------------------------------------------------------------------
def seed_pull(
    stub: GitHubStub,
    number: int,
    repo: str,
    head_sha: str,
    base_sha: str,
    head_repo: str,
    title: str,
    head_ref: str = "feature",
    base_ref: str = "main",
    body: str | None = None,
    root: str = "",
) -> dict[str, Any]:
    root = root or stub.server_url
    stub.issues[number] = _issue_json(stub, root, repo, number, title, body, pull=True)
    pull = {
        **_issue_json(stub, root, repo, number, title, body, pull=False),
        "url": f"{root}/repos/{repo}/pulls/{number}",
        "html_url": f"https://github.com/{repo}/pull/{number}",
        "head": {"ref": head_ref, "sha": head_sha, "repo": {"full_name": head_repo}},
        "base": {"ref": base_ref, "sha": base_sha, "repo": {"full_name": repo}},
        "node_id": f"PR_{number}",  # GraphQL mutations (revertPullRequest) take it
        "merged": False,
        "draft": False,
        "requested_reviewers": [],
    }
    stub.pulls[number] = pull
    return pull


@route("get", f"{R}/pulls/{{pull_number}}")
def get_pull(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    pull = stub.pulls.get(int(p["pull_number"]))
    return (200, pull, {}) if pull else _missing("pull request")


@route("get", f"{R}/pulls")
def list_pulls(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    pulls = [x for x in stub.pulls.values() if q.get("state", "open") in ("all", x["state"])]
    if "head" in q:
        pulls = [x for x in pulls if q["head"].split(":")[-1] == x["head"]["ref"]]
    items, headers = _page(pulls, q, root, f"/repos/{_repo(p)}/pulls")
    return 200, items, headers


@route("post", f"{R}/pulls")
def create_pull(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    head = body["head"].split(":")[-1]
    if any(x["state"] == "open" and x["head"]["ref"] == head for x in stub.pulls.values()):
        # GitHub's answer to a second pull request from the same branch
        exists = {"message": f"A pull request already exists for {body['head']}."}
        return 422, {"message": "Validation Failed", "errors": [exists]}, {}
    number = max([*stub.issues, 0]) + 1
    head_sha = stub.refs.get(f"heads/{body['head'].split(':')[-1]}", "0" * 40)
    base_sha = stub.refs.get(f"heads/{body['base']}", "0" * 40)
    pull = seed_pull(
        stub,
        number,
        _repo(p),
        head_sha,
        base_sha,
        _repo(p),
        body.get("title", ""),
        body["head"].split(":")[-1],
        body["base"],
        body.get("body"),
        root,
    )
    pull["draft"] = bool(body.get("draft", False))
    return 201, pull, {}


@route("post", f"{R}/pulls/{{pull_number}}/requested_reviewers")
def request_reviewers(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    pull = stub.pulls.get(int(p["pull_number"]))
    if pull is None:
        return _missing("pull request")
    stub.requested_reviewers.setdefault(pull["number"], []).extend(body.get("reviewers", []))
    pull["requested_reviewers"] = [_user(u) for u in stub.requested_reviewers[pull["number"]]]
    return 201, pull, {}


@route("get", f"{R}/collaborators/{{username}}/permission")
def permission(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    level = stub.permissions.get(p["username"], "read")
    return 200, {"permission": level, "role_name": level, "user": _user(p["username"])}, {}
