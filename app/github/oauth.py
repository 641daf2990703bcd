"""The App's OAuth web flow and the user-token calls the dashboard makes (httpx): the authorize URL,
the code exchange, who the user is, and which installations and repositories the user can read.
https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from app.errors import GitHubError

API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
PER_PAGE = 100
MAX_PAGES = 50  # 5,000 installations or repositories: far beyond a person's, and a bound on a bad answer


@dataclass(frozen=True, slots=True)
class UserToken:
    token: str
    expires_in: float | None  # seconds; GitHub App user tokens expire (8 h) unless the App opted out


@dataclass(frozen=True, slots=True)
class UserInstallation:
    id: int
    account: str


def authorize_url(web_url: str, client_id: str, redirect_uri: str, state: str) -> str:
    """Where /login sends the browser: GitHub asks the user to authorize the App, then calls back."""
    query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "state": state})
    return f"{web_url}/login/oauth/authorize?{query}"


def exchange_code(
    web_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str, *, timeout: float = 10
) -> UserToken:
    """The user access token for an authorization `code` (GitHub answers 200 with an `error` when the
    code is wrong or used)."""
    try:
        response = httpx.post(
            f"{web_url}/login/oauth/access_token",
            data={
                "client_id": client_id,
                "client_secret": client_secret,
                "code": code,
                "redirect_uri": redirect_uri,
            },
            headers={"Accept": "application/json"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise GitHubError(f"cannot reach GitHub to finish the login: {exc}") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    token = body.get("access_token") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(token, str) or not token:
        reason = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
        raise GitHubError(
            f"GitHub refused the login: {reason or f'HTTP {response.status_code}'}",
            hint="log in again; check GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET if it keeps failing",
        )
    expires = body.get("expires_in")
    return UserToken(token, float(expires) if isinstance(expires, int | float) else None)


class UserClient:
    """GitHub's REST API with a user's token: only what the user can see."""

    def __init__(self, api_url: str, token: str, *, timeout: float = 10) -> None:
        self._client = httpx.Client(
            base_url=api_url,
            headers={**API_HEADERS, "Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def __enter__(self) -> UserClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._client.close()

    def login(self) -> str:
        """The user's login (GET /user)."""
        body = self._get("/user").json()
        return str(body["login"])

    def installations(self) -> list[UserInstallation]:
        """Installations of this App the user can reach (GET /user/installations)."""
        return [
            UserInstallation(int(i["id"]), str((i.get("account") or {}).get("login", "")))
            for i in self._pages("/user/installations", "installations")
        ]

    def repositories(self, installation_id: int) -> list[str]:
        """`owner/name` of the repositories of an installation the user can read
        (GET /user/installations/{installation_id}/repositories)."""
        return [
            str(r["full_name"])
            for r in self._pages(f"/user/installations/{installation_id}/repositories", "repositories")
        ]

    def _pages(self, path: str, key: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        url: str | None = path
        params: dict[str, int] | None = {"per_page": PER_PAGE}
        for _ in range(MAX_PAGES):
            if url is None:
                break
            response = self._get(url, params)
            found.extend(response.json().get(key) or [])
            nxt = response.links.get("next", {}).get("url")
            url, params = (nxt, None) if nxt else (None, None)  # the next link carries its own query
        return found

    def _get(self, url: str, params: dict[str, int] | None = None) -> httpx.Response:
        try:
            response = self._client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise GitHubError(f"cannot reach GitHub: {exc}") from None
        if response.status_code == 401:
            raise ExpiredLogin("the GitHub login expired", hint="log in again")
        if response.status_code != 200:
            raise GitHubError(f"GitHub answered {response.status_code} to GET {response.url.path}")
        return response


class ExpiredLogin(GitHubError):
    """The user's token was revoked or expired: the session ends, the user logs in again."""
