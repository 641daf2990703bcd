"""An in-memory GitHubPort for handler and applier tests that need no HTTP. It records every call in
`calls` as (method name, arguments) and can be told to fail the next calls with `GitHubHttpError`s."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.effects import Annotation, CheckAction, CheckConclusion, CheckStatus
from app.github.port import Comment, GitHubHttpError, PullInfo


@dataclass
class FakeCheckRun:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None = None
    external_id: str | None = None
    details_url: str | None = None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations: list[Annotation] = field(default_factory=list)
    actions: list[CheckAction] = field(default_factory=list)


class FakePort:
    """GitHubPort in memory: `check_runs`, `comments` (number -> list), `calls`, `errors` to raise next."""

    def __init__(self, repo: str = "o/r") -> None:
        self._repo = repo
        self._ids = itertools.count(1)
        self.check_runs: dict[int, FakeCheckRun] = {}
        self.comments: dict[int, list[Comment]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.pulls: dict[int, PullInfo] = {}
        self.errors: list[GitHubHttpError | None] = []  # popped per call; None means "succeed"
        self.permissions: dict[str, str] = {}  # login -> admin|write|read|none (the App's ack check)

    @property
    def repo(self) -> str:
        return self._repo

    def _enter(self, method: str, /, **args: Any) -> None:
        self.calls.append((method, args))
        if self.errors:
            err = self.errors.pop(0)
            if err is not None:
                raise err

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
        self._enter(
            "create_check_run", name=name, head_sha=head_sha, status=status, annotations=tuple(annotations)
        )
        run = FakeCheckRun(
            next(self._ids),
            name,
            head_sha,
            status.value,
            None,
            external_id,
            details_url,
            title,
            summary,
            text,
            list(annotations),
        )
        self.check_runs[run.id] = run
        return run.id

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
        self._enter(
            "update_check_run",
            check_run_id=check_run_id,
            status=status,
            conclusion=conclusion,
            annotations=tuple(annotations),
            actions=tuple(actions),
        )
        run = self.check_runs[check_run_id]
        if conclusion is not None:
            run.status, run.conclusion = "completed", conclusion.value
        elif status is not None:
            run.status = status.value
        if title is not None:
            run.title, run.summary, run.text = title, summary, text
        run.annotations.extend(annotations)
        if actions:
            run.actions = list(actions)

    def list_issue_comments(self, number: int) -> list[Comment]:
        self._enter("list_issue_comments", number=number)
        return list(self.comments.get(number, []))

    def create_issue_comment(self, number: int, body: str) -> int:
        self._enter("create_issue_comment", number=number, body=body)
        comment = Comment(next(self._ids), body, "datacanary[bot]")
        self.comments.setdefault(number, []).append(comment)
        return comment.id

    def edit_issue_comment(self, comment_id: int, body: str) -> None:
        self._enter("edit_issue_comment", comment_id=comment_id, body=body)
        for number, comments in self.comments.items():
            self.comments[number] = [
                Comment(c.id, body, c.user) if c.id == comment_id else c for c in comments
            ]

    def collaborator_permission(self, username: str) -> str:
        self._enter("collaborator_permission", username=username)
        return self.permissions.get(username, "read")

    def find_check_run(self, head_sha: str, name: str, external_id: str) -> int | None:
        self._enter("find_check_run", head_sha=head_sha, name=name, external_id=external_id)
        return next(
            (
                r.id
                for r in self.check_runs.values()
                if r.head_sha == head_sha and r.name == name and r.external_id == external_id
            ),
            None,
        )

    def get_pull(self, number: int) -> PullInfo:
        self._enter("get_pull", number=number)
        if number not in self.pulls:
            raise GitHubHttpError(404, "Not Found")
        return self.pulls[number]
