"""The GitHub stub's OAuth web flow (github.com/login/oauth/*, which is no REST operation) and the
user-token REST operations (/user, /user/installations, /user/installations/{id}/repositories),
answering from `stub.user_access`. Seed with `add_user`; `stub.oauth_login` is who authorizes next."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from fastapi import Response
from fastapi.responses import JSONResponse, RedirectResponse

from tests.support.stub_routes import Result, _page, route

if TYPE_CHECKING:
    from tests.support.github_stub import GitHubStub


def add_user(stub: GitHubStub, login: str, installations: dict[int, tuple[str, list[str]]]) -> None:
    """`login` can read `repos` of each installation id (account, repos)."""
    stub.user_access[login] = installations


def web(stub: GitHubStub, method: str, path: str, query: dict[str, str], raw: bytes) -> Response:
    with stub.lock:
        if method == "GET" and path == "/login/oauth/authorize":
            if query.get("client_id") != stub.oauth_client[0] or not query.get("state"):
                stub.violations.append(f"authorize without our client_id or a state: {query}")
                return JSONResponse({"error": "bad request"}, status_code=400)
            if stub.oauth_login is None:
                return JSONResponse({"error": "access_denied"}, status_code=403)
            code = secrets.token_hex(10)
            stub.oauth_codes[code] = (stub.oauth_login, query.get("redirect_uri", ""))
            back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            return RedirectResponse(back, status_code=302)
        if method == "POST" and path == "/login/oauth/access_token":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            if (form.get("client_id"), form.get("client_secret")) != stub.oauth_client:
                return JSONResponse({"error": "incorrect_client_credentials"})
            login, redirect = stub.oauth_codes.pop(form.get("code", ""), ("", ""))
            if not login or redirect != form.get("redirect_uri"):
                return JSONResponse(
                    {"error": "bad_verification_code", "error_description": "The code is wrong"}
                )
            token = "ghu_" + secrets.token_hex(16)
            stub.user_tokens[token] = login
            return JSONResponse(
                {"access_token": token, "token_type": "bearer", "expires_in": 28800, "scope": ""}
            )
        stub.violations.append(f"{method} {path}: no such OAuth endpoint")
        return JSONResponse({"error": "not found"}, status_code=404)


def _login(stub: GitHubStub) -> str | None:
    scheme, _, token = (stub.authorization or "").partition(" ")
    return stub.user_tokens.get(token) if scheme.lower() in ("bearer", "token") else None


_UNAUTHORIZED: Result = (401, {"message": "Bad credentials"}, {})


@route("get", "/user")
def get_user(stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any) -> Result:
    login = _login(stub)
    if login is None:
        return _UNAUTHORIZED
    return 200, {"login": login, "id": abs(hash(login)) % 10**6, "type": "User"}, {}


@route("get", "/user/installations")
def user_installations(
    stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any
) -> Result:
    login = _login(stub)
    if login is None:
        return _UNAUTHORIZED
    items = [
        {"id": iid, "account": {"login": account, "type": "Organization"}}
        for iid, (account, _) in sorted(stub.user_access.get(login, {}).items())
    ]
    chunk, headers = _page(items, q, root, "/user/installations")
    return 200, {"total_count": len(items), "installations": chunk}, headers


@route("get", "/user/installations/{installation_id}/repositories")
def user_installation_repos(
    stub: GitHubStub, root: str, p: dict[str, str], q: dict[str, str], body: Any
) -> Result:
    login = _login(stub)
    if login is None:
        return _UNAUTHORIZED
    found = stub.user_access.get(login, {}).get(int(p["installation_id"]))
    if found is None:
        return 404, {"message": "Not Found"}, {}
    items = [{"full_name": name, "name": name.split("/")[1], "private": True} for name in found[1]]
    path = f"/user/installations/{p['installation_id']}/repositories"
    chunk, headers = _page(items, q, root, path)
    return 200, {"total_count": len(items), "repositories": chunk}, headers
