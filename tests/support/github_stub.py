"""The one stand-in for GitHub's REST API, shared by every GitHub test of the project.

A stateful FastAPI app (check runs, comments, issues, pull requests, labels, deployments, git objects,
protection-rule reviews, installation tokens, GraphQL) served over the loopback so PyGithub talks to it
unchanged. EVERY request is matched to an operation of GitHub's OpenAPI description (fixtures/github)
and its JSON body validated against the operation's request schema; anything that does not conform is
recorded in `violations`, which the `github_stub` fixture asserts empty at teardown.

Knobs inject GitHub's failure modes: `fail(...)` (5xx, 403/429 rate limits with Retry-After or
x-ratelimit-reset), `reject_annotations(...)` (422 on a bad annotation), `read_only = True` (a fork PR's
token: 403 "Resource not accessible by integration" on every write).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

from tests.support import stub_oauth, stub_routes, stub_routes_data  # noqa: F401 (registers its routes)
from tests.support.openapi import OpenApi, Operation

WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
# writes a read-only (fork) token may still do: minting tokens happens with the App's JWT, GraphQL reads
_READ_ONLY_EXEMPT = ("/app/installations/{installation_id}/access_tokens",)


@dataclass(frozen=True)
class Call:
    """One request the stub received: `method`, `path` (without a GHES /api/v3 prefix), `json` body,
    the matched OpenAPI `template` (None if GitHub has no such operation) and the `query` parameters."""

    method: str
    path: str
    json: Any
    template: str | None = None
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    message: str
    headers: dict[str, str]
    times: int
    after: bool = False  # the request is carried out, then answered with the error


class GitHubStub:
    """State and knobs of the stand-in. `base_url` is what a client passes to PyGithub."""

    def __init__(self, api: OpenApi) -> None:
        self.api = api
        self.lock = threading.RLock()
        self.server_url = ""
        self.reset()

    # ----- lifecycle -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget all state and knobs (the fixture calls this before each test)."""
        with self.lock:
            self.calls: list[Call] = []
            self.violations: list[str] = []
            self.faults: list[Fault] = []
            self.annotation_rejects: list[Callable[[dict[str, Any]], bool]] = []
            self.read_only = False
            self.ratelimit_remaining = 5000
            self.ids = itertools.count(1001)
            self.check_runs: dict[int, dict[str, Any]] = {}
            self.annotations: dict[int, list[dict[str, Any]]] = {}
            self.comments: dict[int, dict[str, Any]] = {}
            self.issues: dict[int, dict[str, Any]] = {}  # pull requests are issues too
            self.pulls: dict[int, dict[str, Any]] = {}
            self.labels: dict[str, dict[str, Any]] = {}
            self.requested_reviewers: dict[int, list[str]] = {}
            self.deployments: dict[int, dict[str, Any]] = {}
            self.deployment_statuses: dict[int, list[dict[str, Any]]] = {}
            self.protection_reviews: list[dict[str, Any]] = []
            self.installation_tokens: list[int] = []
            self.app_installations: dict[str, int] = {}  # owner/repo -> id, for GET .../installation
            self.git_objects: dict[str, dict[str, Any]] = {}
            self.refs: dict[str, str] = {}  # "heads/main" -> sha
            self.files: dict[tuple[str, str], str] = {}  # (ref, path) -> text, for GET contents
            self.permissions: dict[str, str] = {}  # collaborator login -> admin|write|read|none
            self.graphql: list[dict[str, Any]] = []
            self.graphql_responder: Callable[[dict[str, Any]], dict[str, Any]] = lambda body: {"data": {}}
            # the OAuth web flow and user tokens (stub_oauth): who authorizes next, what each user reads
            self.oauth_client = ("Iv1.dashboardtest", "oauth-client-secret")
            self.oauth_login: str | None = None
            self.oauth_codes: dict[str, tuple[str, str]] = {}  # code -> (login, redirect_uri)
            self.user_tokens: dict[str, str] = {}  # token -> login
            self.user_access: dict[
                str, dict[int, tuple[str, list[str]]]
            ] = {}  # login -> id -> (account, repos)
            self.authorization: str | None = None  # the Authorization header of the request being handled

    @property
    def base_url(self) -> str:
        return self.server_url

    @property
    def ghes_base_url(self) -> str:
        """A GitHub Enterprise Server style base URL (`/api/v3`; GraphQL then goes to `/api/graphql`)."""
        return self.server_url + "/api/v3"

    def next_id(self) -> int:
        return next(self.ids)

    # ----- knobs -----------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        message: str | None = None,
        headers: dict[str, str] | None = None,
        after: bool = False,
    ) -> None:
        """Answer the next `times` requests whose path matches the regex `path` with `status`; `after`:
        carry each out first (a write GitHub did, whose answer was a 502 or never came)."""
        text = message or {
            403: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            429: "You have exceeded a secondary rate limit.",
        }.get(status, "Server Error")
        with self.lock:
            self.faults.append(
                Fault(method.upper(), re.compile(path), status, text, headers or {}, times, after)
            )

    def secondary_rate_limit(
        self, method: str, path: str, *, retry_after: int = 1, status: int = 403
    ) -> None:
        self.fail(method, path, status, headers={"Retry-After": str(retry_after)})

    def primary_rate_limit(self, method: str, path: str, *, reset_epoch: int) -> None:
        self.fail(
            method,
            path,
            403,
            message="API rate limit exceeded for installation ID 1.",
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset_epoch)},
        )

    def reject_annotations(self, predicate: Callable[[dict[str, Any]], bool]) -> None:
        """Answer 422 to any check-run write carrying an annotation for which `predicate` is true."""
        with self.lock:
            self.annotation_rejects.append(predicate)

    # ----- seeds and queries -----------------------------------------------------------------
    def add_pull(
        self,
        number: int,
        *,
        repo: str = "o/r",
        head_sha: str = "a" * 40,
        base_sha: str = "b" * 40,
        head_repo: str | None = None,
        title: str = "A change",
    ) -> dict[str, Any]:
        return stub_routes.seed_pull(self, number, repo, head_sha, base_sha, head_repo or repo, title)

    def add_commit(self, sha: str, *, tree_sha: str, repo: str = "o/r") -> None:
        """A commit that exists on GitHub already (e.g. the default branch's head), for git data calls."""
        root = self.server_url
        self.git_objects[sha] = {
            "_kind": "commit",
            "sha": sha,
            "node_id": f"C_{sha[:8]}",
            "url": f"{root}/repos/{repo}/git/commits/{sha}",
            "message": "seeded",
            "tree": {"sha": tree_sha, "url": f"{root}/repos/{repo}/git/trees/{tree_sha}"},
            "parents": [],
            "html_url": f"https://github.com/{repo}/commit/{sha}",
        }

    def add_comment(
        self, number: int, body: str, *, user: str = "someone", repo: str = "o/r"
    ) -> dict[str, Any]:
        return stub_routes.seed_comment(self, number, body, user, repo)

    def calls_to(self, method: str, template: str) -> list[Call]:
        return [c for c in self.calls if c.method == method.upper() and c.template == template]

    def comments_on(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["_issue"] == number]

    def check_runs_named(self, name: str) -> list[dict[str, Any]]:
        return [c for c in self.check_runs.values() if c["name"] == name]

    def take_violations(self) -> list[str]:
        """Return and clear the violations (for tests that send a bad request on purpose)."""
        with self.lock:
            found, self.violations = self.violations, []
        return found

    # ----- HTTP ------------------------------------------------------------------------------
    def app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.api_route("/{path:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
        async def handle(path: str, request: Request) -> Response:
            raw = await request.body()
            if path.startswith("login/oauth/"):  # github.com's web host, not the REST API
                return stub_oauth.web(self, request.method, "/" + path, dict(request.query_params), raw)
            return self.handle(
                request.method,
                "/" + path,
                dict(request.query_params),
                raw,
                request.headers.get("authorization"),
            )

        return app

    def handle(
        self, method: str, path: str, query: dict[str, str], raw: bytes, authorization: str | None = None
    ) -> Response:
        prefix = ""
        if path.startswith("/api/v3/"):
            prefix, path = "/api/v3", path[len("/api/v3") :]
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
            self.violations.append(f"{method} {path}: body is not JSON")
        with self.lock:
            self.authorization = authorization
            if path in ("/graphql", "/api/graphql"):
                return self._graphql(method, path, prefix, body, query)
            matched = self.api.match(method, path)
            self.calls.append(Call(method, path, body, matched[0].template if matched else None, query))
            if matched is None:
                self.violations.append(f"{method} {path}: GitHub's REST API has no such operation")
                return _json(404, {"message": "Not Found"})
            op, params = matched
            self.violations.extend(f"{method} {path}: {e}" for e in self.api.body_errors(op, body))
            self.violations.extend(f"{method} {path}: {e}" for e in self._param_errors(op, params, query))
            failure = self._injected(method, path, op, body)
            if failure is not None:
                return failure
            self.ratelimit_remaining -= 1
            root = self.server_url + prefix
            handler = stub_routes.ROUTES.get((op.method, op.template))
            if handler is None:
                status, payload = self.api.example(op)
                return self._respond(status, payload)
            status, payload, headers = handler(self, root, params, query, body)
            lost = self._fault(method, path, after=True)
            return lost if lost is not None else self._respond(status, payload, headers)

    def _respond(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        rate = {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(max(self.ratelimit_remaining, 0)),
            "x-ratelimit-reset": "4102444800",
        }
        return _json(status, payload, {**rate, **(headers or {})})

    def _graphql(self, method: str, path: str, prefix: str, body: Any, query: dict[str, str]) -> Response:
        # GraphQL is one endpoint: /graphql on github.com, /api/graphql beside a GHES /api/v3
        self.calls.append(Call(method, path, body, "/graphql", query))
        expected = "/api/graphql" if prefix or path.startswith("/api/") else "/graphql"
        if method != "POST" or path != expected or not isinstance(body, dict) or "query" not in body:
            self.violations.append(
                f"{method} {path}: GraphQL takes POST {expected} with a {{'query': ...}} body"
            )
        fault = self._fault(method, path, after=False)
        if fault is not None:
            return fault
        self.graphql.append(body if isinstance(body, dict) else {})
        answer = self.graphql_responder(body if isinstance(body, dict) else {})
        return self._fault(method, path, after=True) or self._respond(200, answer)

    def _param_errors(self, op: Operation, params: dict[str, str], query: dict[str, str]) -> list[str]:
        errors = []
        for param in op.spec.get("parameters", []):
            param = self.api.resolve(param)
            value = (params if param.get("in") == "path" else query).get(param["name"])
            kind = param.get("schema", {}).get("type")
            if value is not None and kind == "integer" and not re.fullmatch(r"-?\d+", value):
                errors.append(f"{param['in']} parameter {param['name']}={value!r} is not an integer")
        if query.get("per_page") == "30":
            errors.append("per_page=30 is GitHub's default; PyGithub only sends other values")
        return errors

    def _fault(self, method: str, path: str, *, after: bool) -> Response | None:
        for fault in self.faults:
            if (
                fault.after is after
                and fault.times > 0
                and fault.method == method
                and fault.path.search(path)
            ):
                fault.times -= 1
                return _json(fault.status, {"message": fault.message}, fault.headers)
        return None

    def _injected(self, method: str, path: str, op: Operation, body: Any) -> Response | None:
        if self.read_only and method in WRITE_METHODS and op.template not in _READ_ONLY_EXEMPT:
            return _json(
                403,
                {
                    "message": "Resource not accessible by integration",
                    "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run",
                },
            )
        fault = self._fault(method, path, after=False)
        if fault is not None:
            return fault
        annotations = (
            ((body or {}).get("output") or {}).get("annotations") or [] if isinstance(body, dict) else []
        )
        bad = [a for a in annotations if any(reject(a) for reject in self.annotation_rejects)]
        if bad and op.template.startswith("/repos/{owner}/{repo}/check-runs"):
            return _json(
                422,
                {
                    "message": "Invalid request.\n\nFor 'properties/path', the path is not in the commit.",
                    "errors": [{"resource": "CheckRun", "field": "annotations", "code": "invalid"}],
                },
            )
        return None


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    if status == 204:
        return Response(status_code=204, headers=headers)
    return Response(
        content=json.dumps(payload), status_code=status, headers=headers, media_type="application/json"
    )
