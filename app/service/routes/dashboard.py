"""The dashboard (docs/dashboard.md): `/login`, `/callback`, `/logout` (the App's OAuth web flow) and the
pages under `/dashboard`. Every page needs a GitHub login, and a repository's pages, JSON and diffs are
served only to users GitHub says can read that repository (GET /user/installations and
/user/installations/{id}/repositories with their token): anything else is the same 404 as a repository
that does not exist. Unconfigured (no GITHUB_CLIENT_ID), every route here answers 404."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.config import Settings
from app.dashboard.access import SESSION_SECONDS, Repo, Session, Sessions, github_lister
from app.errors import GitHubError
from app.github.oauth import ExpiredLogin, UserClient, authorize_url, exchange_code
from app.service.runtime import service_of

router = APIRouter()
SESSION_COOKIE = "datacanary_session"
LOGIN_COOKIE = "datacanary_login"
LOGIN_SECONDS = 600  # to come back from GitHub's authorize page


class Dashboard:
    """The dashboard's parts in the web process: sessions and the cookie signer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions = Sessions(github_lister(settings.api_url), settings.dashboard_access_seconds)
        self.signer = URLSafeTimedSerializer(_secret(settings), salt="datacanary-dashboard")
        self.secure = (settings.dashboard_url or "").startswith("https://")

    def cookie(self, response: Response, name: str, value: dict[str, str], max_age: int) -> None:
        response.set_cookie(
            name,
            self.signer.dumps(value),
            max_age=max_age,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    def read(self, request: Request, name: str, max_age: int) -> dict[str, str] | None:
        raw = request.cookies.get(name)
        if not raw:
            return None
        try:
            value = self.signer.loads(raw, max_age=max_age)
        except BadSignature:
            return None
        return value if isinstance(value, dict) else None


def _secret(settings: Settings) -> str:
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    # only this service knows the App's private key; restarts keep the same key
    return hmac.new(
        settings.private_key_pem().encode(), b"datacanary dashboard session", hashlib.sha256
    ).hexdigest()


class NotFound(Exception):
    """Answered 404 whatever the reason: missing, or not readable by this user."""


def dashboard_of(request: Request) -> Dashboard:
    settings = service_of(request).settings
    if not settings.dashboard:
        raise NotFound
    found = getattr(request.app.state, "dashboard", None)
    if not isinstance(found, Dashboard):
        found = Dashboard(settings)
        request.app.state.dashboard = found
    return found


def _html(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    from app.dashboard.render import page

    return HTMLResponse(page(template, **context), status_code=status)


def _not_found(request: Request) -> Response:
    if request.url.path.startswith("/dashboard/api/"):
        return JSONResponse({"error": "not found"}, status_code=404)
    return _html("not_found.html.j2", status=404, user=None)


@router.get("/login")
async def login(request: Request, next: str = "/dashboard") -> Response:
    try:
        dash = dashboard_of(request)
    except NotFound:
        return _not_found(request)
    state = secrets.token_urlsafe(24)
    settings = dash.settings
    assert settings.github_client_id is not None and settings.dashboard_url is not None
    target = authorize_url(
        settings.web_url(), settings.github_client_id, f"{settings.dashboard_url}/callback", state
    )
    response = RedirectResponse(target, status_code=302)
    dash.cookie(response, LOGIN_COOKIE, {"state": state, "next": _local(next)}, LOGIN_SECONDS)
    return response


def _local(path: str) -> str:
    # only our own pages: an absolute or scheme-relative URL here would be an open redirect
    return path if path.startswith("/dashboard") and not path.startswith("//") else "/dashboard"


@router.get("/callback")
async def callback(request: Request, code: str = "", state: str = "") -> Response:
    try:
        dash = dashboard_of(request)
    except NotFound:
        return _not_found(request)
    pending = dash.read(request, LOGIN_COOKIE, LOGIN_SECONDS)
    if pending is None or not state or not hmac.compare_digest(pending.get("state", ""), state):
        return _html(
            "login_error.html.j2", status=400, user=None, reason="the login expired or was not started here"
        )
    if not code:
        return _html("login_error.html.j2", status=400, user=None, reason="GitHub sent no authorization code")
    settings = dash.settings
    assert settings.github_client_id is not None and settings.github_client_secret is not None
    try:
        token = await run_in_threadpool(
            exchange_code,
            settings.web_url(),
            settings.github_client_id,
            settings.github_client_secret.get_secret_value(),
            code,
            f"{settings.dashboard_url}/callback",
        )
        with UserClient(settings.api_url, token.token) as client:
            login_name = await run_in_threadpool(client.login)
    except GitHubError as exc:
        return _html("login_error.html.j2", status=502, user=None, reason=exc.message)
    session = dash.sessions.open(login_name, token.token, token.expires_in)
    response = RedirectResponse(_local(pending.get("next", "/dashboard")), status_code=303)
    dash.cookie(response, SESSION_COOKIE, {"sid": session.id}, SESSION_SECONDS)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    try:
        dash = dashboard_of(request)
    except NotFound:
        return _not_found(request)
    value = dash.read(request, SESSION_COOKIE, SESSION_SECONDS)
    if value:
        dash.sessions.close(value.get("sid", ""))
    response = RedirectResponse("/dashboard/logged-out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/dashboard/logged-out")
async def logged_out(request: Request) -> Response:
    try:
        dashboard_of(request)
    except NotFound:
        return _not_found(request)
    return _html("logged_out.html.j2", user=None)


class _Login(Exception):
    pass


def _session(request: Request, dash: Dashboard) -> Session:
    value = dash.read(request, SESSION_COOKIE, SESSION_SECONDS)
    session = dash.sessions.get(value.get("sid", "")) if value else None
    if session is None:
        raise _Login
    return session


async def _readable(dash: Dashboard, session: Session) -> dict[str, Repo]:
    try:
        return await run_in_threadpool(dash.sessions.readable, session)
    except ExpiredLogin:
        dash.sessions.close(session.id)
        raise _Login from None


def _to_login(request: Request) -> Response:
    if request.url.path.startswith("/dashboard/api/"):
        return JSONResponse({"error": "log in first: GET /login"}, status_code=401)
    return RedirectResponse(f"/login?next={request.url.path}", status_code=302)


async def _guard(request: Request, owner: str | None = None, name: str | None = None) -> Any:
    """(dashboard, session, readable repositories, this repository) or the Response to answer."""
    try:
        dash = dashboard_of(request)
        session = _session(request, dash)
        readable = await _readable(dash, session)
    except NotFound:
        return _not_found(request)
    except _Login:
        return _to_login(request)
    except GitHubError as exc:
        return _html("login_error.html.j2", status=502, user=None, reason=exc.message)
    repo = None
    if owner is not None:
        repo = readable.get(f"{owner}/{name}".lower())
        if repo is None:
            return _not_found(request)
    return dash, session, readable, repo


@router.get("/dashboard")
async def index(request: Request) -> Response:
    guarded = await _guard(request)
    if isinstance(guarded, Response):
        return guarded
    dash, session, readable, _ = guarded
    from app.dashboard.results import GateResults

    db = service_of(request).db
    repos = []
    for repo in sorted(readable.values(), key=lambda r: r.full_name.lower()):
        latest = await run_in_threadpool(GateResults(db).recent, repo.full_name, 1)
        repos.append({"repo": repo, "latest": latest[0] if latest else None})
    return _html("index.html.j2", user=session.login, repos=repos)


def _pages() -> Any:
    from app.dashboard import pages

    return pages


@router.get("/dashboard/api/{owner}/{name}/results")
async def api_results(request: Request, owner: str, name: str) -> Response:
    guarded = await _guard(request, owner, name)
    if isinstance(guarded, Response):
        return guarded
    body = await run_in_threadpool(
        _pages().results_json, service_of(request).db, guarded[3], guarded[0].settings
    )
    return JSONResponse(body)


@router.get("/dashboard/api/{owner}/{name}/pull/{number}/{sha}/report.json")
async def api_report(request: Request, owner: str, name: str, number: int, sha: str) -> Response:
    guarded = await _guard(request, owner, name)
    if isinstance(guarded, Response):
        return guarded
    found = await run_in_threadpool(_pages().report, service_of(request).db, guarded[3], number, sha)
    return JSONResponse(found[1]) if found else _not_found(request)


@router.get("/dashboard/{owner}/{name}")
async def repo_page(request: Request, owner: str, name: str) -> Response:
    return await _page(request, owner, name, "repo")


@router.get("/dashboard/{owner}/{name}/pull/{number}/{sha}")
async def result_page(request: Request, owner: str, name: str, number: int, sha: str) -> Response:
    return await _page(request, owner, name, "result", number=number, sha=sha)


@router.get("/dashboard/{owner}/{name}/pull/{number}/{sha}/models/{model}")
async def model_page(request: Request, owner: str, name: str, number: int, sha: str, model: str) -> Response:
    return await _page(request, owner, name, "model", number=number, sha=sha, model=model)


@router.get("/dashboard/{owner}/{name}/envs/{env}")
async def env_page(request: Request, owner: str, name: str, env: str) -> Response:
    return await _page(request, owner, name, "env", env=env)


@router.get("/dashboard/{owner}/{name}/envs/{env}/runs")
async def runs_page(request: Request, owner: str, name: str, env: str) -> Response:
    return await _page(request, owner, name, "runs", env=env)


LEDGER_PAGES = ("repo", "env", "runs")  # the pages that read the repository's ledger database


async def _page(request: Request, owner: str, name: str, kind: str, **args: Any) -> Response:
    guarded = await _guard(request, owner, name)
    if isinstance(guarded, Response):
        return guarded
    dash, session, _, repo = guarded
    build = getattr(_pages(), f"{kind}_page")
    service = service_of(request)
    if kind in LEDGER_PAGES and service.ledgers is not None:
        args["ledger"] = await run_in_threadpool(service.ledgers.existing, repo.full_name)
    found = await run_in_threadpool(build, service.db, repo, dash.settings, **args)
    if found is None:
        return _not_found(request)
    template, context = found
    return _html(template, user=session.login, repo=repo, **context)
