"""The GitHubPort over PyGithub, for one repository.

PyGithub throttles (0.25 s between requests, 1 s between writes) and retries on its own by default; these
are constructor parameters: production keeps the defaults, tests pass None to talk to the loopback stub
at full speed. Errors come out as `GitHubHttpError` with the rate-limit headers the applier needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from app.effects import Annotation, CheckAction, CheckConclusion, CheckStatus
from app.github.port import Comment, GitHubHttpError, PullInfo

if TYPE_CHECKING:
    from github.Auth import Auth
    from github.CheckRun import CheckRun
    from github.IssueComment import IssueComment
    from github.Repository import Repository
    from urllib3.util.retry import Retry

DEFAULT_BASE_URL = "https://api.github.com"
_KEEP = object()  # "use PyGithub's own default"
T = TypeVar("T")


class GitHubClient:
    """PyGithub-backed GitHubPort for `repo` ("owner/name"). Counts the requests it makes (`api_calls`)
    and remembers the last `x-ratelimit-remaining` (`rate_remaining`) for metrics."""

    def __init__(
        self,
        repo: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        auth: Auth | None = None,
        seconds_between_requests: float | None | object = _KEEP,
        seconds_between_writes: float | None | object = _KEEP,
        retry: int | Retry | None | object = _KEEP,
        timeout: float = 15.0,
        per_page: int = 100,
    ) -> None:
        from github import Auth as _Auth
        from github import Github

        if auth is None and token:
            auth = _Auth.Token(token)
        kwargs: dict[str, Any] = {}
        for name, value in (
            ("seconds_between_requests", seconds_between_requests),
            ("seconds_between_writes", seconds_between_writes),
            ("retry", retry),
        ):
            if value is not _KEEP:
                kwargs[name] = value
        # lazy: objects are built from ids without a GET each (one request per operation)
        self._gh = Github(
            auth=auth,
            base_url=base_url.rstrip("/"),
            timeout=int(timeout),
            per_page=per_page,
            lazy=True,
            **kwargs,
        )
        self._repo_name = repo
        self._repo = self._gh.get_repo(repo)
        self._per_page = per_page
        self._runs: dict[int, CheckRun] = {}
        self._comments: dict[int, IssueComment] = {}
        self.api_calls = 0

    @property
    def repo(self) -> str:
        return self._repo_name

    @property
    def rate_remaining(self) -> int | None:
        remaining = self._gh.requester.rate_limiting[0]
        return None if remaining < 0 else remaining

    @property
    def repository(self) -> Repository:
        """The lazy PyGithub repository, for operations added in other `app/github/apply_*.py` modules."""
        return self._repo

    def call(self, fn: Callable[[], T], requests: int = 1) -> T:
        """Run a PyGithub call, counting it and turning its errors into GitHubHttpError."""
        return self._call(fn, requests)

    def _call(self, fn: Callable[[], T], requests: int = 1) -> T:
        from github import GithubException
        from requests import RequestException

        self.api_calls += requests
        try:
            return fn()
        except GithubException as exc:
            raise _http_error(exc) from exc
        except RequestException as exc:
            raise GitHubHttpError(
                0, f"GitHub could not be reached: {exc}", hint="check GITHUB_API_URL"
            ) from exc

    def create_check_run(
        self,
        name: str,
        head_sha: str,
        *,
        status: CheckStatus,
        external_id: str | None = None,
        details_url: str | None = None,
        title: str | None = None,
        summary: str | None = None,
        text: str | None = None,
        annotations: Sequence[Annotation] = (),
    ) -> int:
        kwargs: dict[str, Any] = {"status": status.value}
        if external_id is not None:
            kwargs["external_id"] = external_id
        if details_url is not None:
            kwargs["details_url"] = details_url
        output = _output(title, summary, text, annotations)
        if output is not None:
            kwargs["output"] = output
        run = self._call(lambda: self._repo.create_check_run(name, head_sha, **kwargs))
        self._runs[run.id] = run
        return int(run.id)

    def update_check_run(
        self,
        check_run_id: int,
        *,
        status: CheckStatus | None = None,
        conclusion: CheckConclusion | None = None,
        title: str | None = None,
        summary: str | None = None,
        text: str | None = None,
        annotations: Sequence[Annotation] = (),
        actions: Sequence[CheckAction] = (),
    ) -> None:
        run = self._runs.get(check_run_id) or self._repo.get_check_run(check_run_id)  # lazy: no request
        kwargs: dict[str, Any] = {}
        if conclusion is not None:
            kwargs["conclusion"] = conclusion.value
        elif status is not None:
            kwargs["status"] = status.value
        output = _output(title, summary, text, annotations)
        if output is not None:
            kwargs["output"] = output
        if actions:
            kwargs["actions"] = [a.to_api() for a in actions]
        self._call(lambda: run.edit(**kwargs))

    def viewer_login(self) -> str | None:
        """The login of a personal token (GET /user); None for an App's or Actions' token, which has no
        user (GitHub answers 403), or on any failure."""
        from github import GithubException

        try:
            return str(self._gh.get_user().login)
        except (GithubException, OSError):
            return None

    def list_issue_comments(self, number: int) -> list[Comment]:
        def fetch() -> list[Comment]:
            found = list(self._repo.get_issue(number).get_comments())
            self._comments.update({int(c.id): c for c in found})
            return [Comment(int(c.id), c.body or "", c.user.login if c.user else None) for c in found]

        comments = self._call(fetch)
        self.api_calls += len(comments) // self._per_page  # further pages
        return comments

    def create_issue_comment(self, number: int, body: str) -> int:
        comment = self._call(lambda: self._repo.get_issue(number).create_comment(body))
        return int(comment.id)

    def edit_issue_comment(self, comment_id: int, body: str) -> None:
        from github.IssueComment import IssueComment

        comment = self._comments.get(comment_id) or IssueComment(
            self._gh.requester,
            url=f"{self._repo.url}/issues/comments/{comment_id}",  # lazy: no request
        )
        self._call(lambda: comment.edit(body))

    def collaborator_permission(self, username: str) -> str:
        """`admin`, `write`, `read` or `none` (maintain folds into write, triage into read)."""
        return str(self._call(lambda: self._repo.get_collaborator_permission(username)))

    def find_check_run(self, head_sha: str, name: str, external_id: str) -> int | None:
        """The id of the check run `name` on `head_sha` carrying `external_id` (the App's idempotency
        key for a resumed delivery), or None."""

        def fetch() -> int | None:
            runs = self._repo.get_commit(head_sha).get_check_runs(check_name=name)  # lazy commit: one request
            return next((int(r.id) for r in runs if r.external_id == external_id), None)

        return self._call(fetch)

    def get_pull(self, number: int) -> PullInfo:
        def fetch() -> PullInfo:
            pr = self._repo.get_pull(number)
            head_repo = pr.head.repo.full_name if pr.head.repo else None
            return PullInfo(int(pr.number), pr.head.sha, pr.base.sha, head_repo, pr.state)

        return self._call(fetch)


def _output(
    title: str | None, summary: str | None, text: str | None, annotations: Sequence[Annotation]
) -> dict[str, Any] | None:
    # https://docs.github.com/rest/checks/runs#update-a-check-run: output needs title and summary
    if title is None or summary is None:
        return None
    output: dict[str, Any] = {"title": title, "summary": summary}
    if text:
        output["text"] = text
    if annotations:
        output["annotations"] = [a.to_api() for a in annotations]
    return output


def _http_error(exc: Any) -> GitHubHttpError:
    headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or exc)
    errors = (
        [e for e in data.get("errors", []) if isinstance(e, dict)]
        if isinstance(data.get("errors"), list)
        else []
    )
    remaining = headers.get("x-ratelimit-remaining")
    return GitHubHttpError(
        int(exc.status or 0),
        message,
        retry_after=_number(headers.get("retry-after")),
        ratelimit_reset=_number(headers.get("x-ratelimit-reset")),
        ratelimit_remaining=int(remaining) if remaining and remaining.isdigit() else None,
        errors=errors,
        hint=_hint(int(exc.status or 0), message),
    )


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _hint(status: int, message: str) -> str | None:
    if status == 403 and "not accessible by integration" in message.lower():
        return "the token cannot write: grant `checks: write`, `pull-requests: write`; or see the fork split"
    if status == 401:
        return "the token is invalid or expired"
    return None
