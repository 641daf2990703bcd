"""GitHub App authentication: a short-lived RS256 JWT for the app, exchanged for installation tokens.

https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
The clock is injected (PyGithub's `Auth.AppAuth` reads the wall clock itself, which makes expiry
untestable), and the exchange is one small httpx call, so it is done here rather than through
`GithubIntegration`; the token it yields is what the PyGithub client then uses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
import jwt

from app.errors import GitHubError
from app.github.port import GitHubHttpError

JWT_BACKDATE = 60  # GitHub's advice: allow for clock drift between us and GitHub
JWT_LIFETIME = 540  # exp may be at most 10 minutes after iat; keep under it with the backdate
REFRESH_MARGIN = 300  # renew an installation token 5 minutes before it expires
API_VERSION = "2022-11-28"


@dataclass(frozen=True, slots=True)
class InstallationToken:
    """An installation access token and when it stops working (epoch seconds)."""

    token: str
    expires_at: float


class AppAuth:
    """Mints app JWTs and caches installation tokens per installation (thread-safe)."""

    def __init__(
        self,
        app_id: int,
        private_key_pem: str,
        api_url: str = "https://api.github.com",
        *,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
        on_response: Callable[[httpx.Response], None] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.app_id = app_id
        self._key = private_key_pem
        self.api_url = api_url.rstrip("/")
        self._clock = clock
        self._http = httpx.Client(transport=transport, timeout=timeout)
        self._on_response = on_response
        self._tokens: dict[int, InstallationToken] = {}
        self._lock = threading.Lock()

    def jwt(self) -> str:
        """A JWT identifying the app: iat backdated 60 s, expiring 9 minutes from now."""
        now = int(self._clock())
        payload = {"iat": now - JWT_BACKDATE, "exp": now + JWT_LIFETIME, "iss": str(self.app_id)}
        return jwt.encode(payload, self._key, algorithm="RS256")

    def installation_token(self, installation_id: int) -> str:
        """A token for `installation_id`, from the cache unless it expires within 5 minutes."""
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached is not None and self._clock() < cached.expires_at - REFRESH_MARGIN:
                return cached.token
            fresh = self._exchange(installation_id)
            self._tokens[installation_id] = fresh
            return fresh.token

    def repository_installation(self, full_name: str) -> tuple[int, str] | None:
        """The installation (id, account login) of the app on `full_name`; None when it is not installed.
        https://docs.github.com/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app"""
        try:
            url = f"{self.api_url}/repos/{full_name}/installation"
            response = self._http.get(url, headers=self._app_headers())
        except httpx.HTTPError as exc:
            raise GitHubHttpError(0, f"cannot reach GitHub at {self.api_url}: {exc}") from None
        if self._on_response is not None:
            self._on_response(response)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise GitHubHttpError(
                response.status_code, f"GitHub did not say where the app is installed: {_message(response)}"
            )
        body = response.json()
        return int(body["id"]), str((body.get("account") or {}).get("login") or full_name.split("/")[0])

    def _app_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.jwt()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }

    def close(self) -> None:
        self._http.close()

    def _exchange(self, installation_id: int) -> InstallationToken:
        # https://docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app
        url = f"{self.api_url}/app/installations/{installation_id}/access_tokens"
        try:
            response = self._http.post(url, headers=self._app_headers())
        except httpx.HTTPError as exc:
            raise GitHubHttpError(
                0,
                f"cannot reach GitHub at {self.api_url} for an installation token: {exc}",
                hint="check GITHUB_API_URL and the network",
            ) from None
        if self._on_response is not None:
            self._on_response(response)
        if response.status_code != 201:
            # a GitHubHttpError, so a worker retries 5xx and rate limits and gives up on 401/404
            remaining = response.headers.get("x-ratelimit-remaining", "")
            raise GitHubHttpError(
                response.status_code,
                f"GitHub refused a token for installation {installation_id}: {_message(response)}",
                retry_after=_seconds(response.headers.get("retry-after")),
                ratelimit_remaining=int(remaining) if remaining.isdigit() else None,
                hint="check GITHUB_APP_ID and the private key, and that the app is still installed",
            )
        body = response.json()
        try:
            return InstallationToken(body["token"], _epoch(body["expires_at"]))
        except (KeyError, TypeError, ValueError):
            raise GitHubError("GitHub's installation token response has no token or expires_at") from None


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text[:200]
