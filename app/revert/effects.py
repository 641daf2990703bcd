"""The GitHub effects of a revert plan, performed by app.github.apply_revert."""

from __future__ import annotations

from dataclasses import dataclass

from app.effects import Effect


@dataclass(frozen=True, slots=True)
class OpenRevertPullRequest(Effect):
    """Revert merged pull request `pull_number`: GitHub's GraphQL `revertPullRequest` first; if that is
    refused, a `branch` from `base_sha` whose one commit sets `files` to their pre-merge content
    (None deletes a file the pull request added), then a pull request into `base`. Then request
    `reviewers` and add `labels`. `ref` names the result (the new PR number) in ApplyResult.check_runs."""

    ref: str
    pull_number: int | None
    title: str
    body: str
    base: str
    base_sha: str
    branch: str
    message: str
    files: tuple[tuple[str, bytes | None], ...]
    reviewers: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    use_graphql: bool = True

    def describe(self) -> str:
        how = "GraphQL revertPullRequest, else " if self.use_graphql and self.pull_number else ""
        what = f"#{self.pull_number}" if self.pull_number else self.base_sha[:7]
        return (
            f"open a revert pull request for {what} ({how}git data on branch {self.branch}: "
            f"{len(self.files)} file(s)); reviewers {', '.join(self.reviewers) or '-'}"
        )


@dataclass(frozen=True, slots=True)
class OpenIssue(Effect):
    """Open an issue (the conflict or no-culprit path); `ref` names its number in ApplyResult.check_runs."""

    ref: str
    title: str
    body: str
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"open issue {self.title!r}; assignees {', '.join(self.assignees) or '-'}"
