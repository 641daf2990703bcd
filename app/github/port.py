"""The narrow interface datacanary needs from GitHub, for one repository. `client.GitHubClient` implements
it over PyGithub; `tests/support/fake_port.FakePort` in memory. Failures are `GitHubHttpError`s that
carry what a retry decision needs (status, Retry-After, rate-limit reset), never a PyGithub type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from app.effects import Annotation, CheckAction, CheckConclusion, CheckStatus
from app.errors import GitHubError


class GitHubHttpError(GitHubError):
    """GitHub answered with an error status (or could not be reached: status 0)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        retry_after: float | None = None,
        ratelimit_reset: float | None = None,
        ratelimit_remaining: int | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(f"GitHub answered {status}: {message}" if status else message, hint=hint)
        self.status = status
        self.retry_after = retry_after  # seconds, from the Retry-After header
        self.ratelimit_reset = ratelimit_reset  # epoch seconds, from x-ratelimit-reset
        self.ratelimit_remaining = ratelimit_remaining
        self.errors = tuple(errors)

    @property
    def rate_limited(self) -> bool:
        """Primary (remaining 0) or secondary (Retry-After, or 'secondary rate limit' text) rate limit.
        https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"""
        if self.status not in (403, 429):
            return False
        return (
            self.status == 429
            or self.retry_after is not None
            or self.ratelimit_remaining == 0
            or "rate limit" in self.message.lower()
        )

    @property
    def transient(self) -> bool:
        """Worth retrying: a server error, a dropped connection, or a rate limit."""
        return self.status == 0 or self.status >= 500 or self.rate_limited

    @property
    def not_permitted(self) -> bool:
        """The token may not do this: a fork PR's token ('Resource not accessible by integration')."""
        return self.status in (403, 404) and not self.rate_limited


@dataclass(frozen=True, slots=True)
class PullInfo:
    number: int
    head_sha: str
    base_sha: str
    head_repo: str | None
    state: str


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    body: str
    user: str | None = None


class GitHubPort(Protocol):
    """Repository-scoped GitHub operations. Implementations raise GitHubHttpError on failure."""

    @property
    def repo(self) -> str: ...

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
        """Create a check run and return its id."""
        ...

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
        """Update a check run; title and summary go together (GitHub requires both in an output)."""
        ...

    def list_issue_comments(self, number: int) -> list[Comment]:
        """All comments of issue or pull request `number`, oldest first."""
        ...

    def create_issue_comment(self, number: int, body: str) -> int:
        """Post a comment; returns its id."""
        ...

    def edit_issue_comment(self, comment_id: int, body: str) -> None: ...

    def get_pull(self, number: int) -> PullInfo:
        """A pull request's head and base (to check that a result belongs to it)."""
        ...


WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})  # who may merge, so may acknowledge


class AppPort(GitHubPort, Protocol):
    """What the GitHub App needs beyond the Action: permission checks and finding its own check runs."""

    def collaborator_permission(self, username: str) -> str:
        """`admin`, `write`, `read` or `none` for `username` on this repository."""
        ...

    def find_check_run(self, head_sha: str, name: str, external_id: str) -> int | None:
        """The id of check run `name` on `head_sha` with `external_id`, if it exists."""
        ...


def find_comment(comments: Sequence[Comment], marker: str, own: str | None = None) -> Comment | None:
    """Our comment, edited in place on every push: the first one that starts with `marker` (a person
    quoting it elsewhere does not count), else the first one that carries it at all. Only a comment of
    a bot (a GitHub App, github-actions: logins ending in `[bot]`, which no person can have) or of `own`
    (the login of a personal token datacanary posts with) counts: anyone can write the marker, and a
    stranger's comment taken for ours would be edited (or edited back to PASS by them after each push)."""
    ours = [c for c in comments if (c.user or "").endswith("[bot]") or (own is not None and c.user == own)]
    return next((c for c in ours if c.body.lstrip().startswith(marker)), None) or next(
        (c for c in ours if marker in c.body), None
    )
