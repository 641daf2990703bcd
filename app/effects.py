"""What a front wants done on GitHub or in the runner, as values. Handlers and the Action return these;
only `app.github.apply` performs them, so tests assert on values and `--dry-run` prints them.

Other concerns add their own effects (deployments, revert pull requests) in their own modules: subclass
`Effect` as a frozen dataclass and register a performer with `app.github.apply.applies`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class CheckStatus(str, Enum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class CheckConclusion(str, Enum):
    """Only `failure` (and action_required, cancelled, timed_out) block a merge; neutral lets it through."""

    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    ACTION_REQUIRED = "action_required"


class AnnotationLevel(str, Enum):
    NOTICE = "notice"
    WARNING = "warning"
    FAILURE = "failure"


@dataclass(frozen=True, slots=True)
class Annotation:
    """A check-run annotation: a message pinned to a file and line range of the head commit."""

    path: str
    start_line: int
    end_line: int
    level: AnnotationLevel
    message: str
    title: str | None = None
    raw_details: str | None = None

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "annotation_level": self.level.value,
            "message": self.message,
        }
        if self.title:
            body["title"] = self.title
        if self.raw_details:
            body["raw_details"] = self.raw_details
        return body


@dataclass(frozen=True, slots=True)
class CheckAction:
    """A check-run button; a click sends `check_run.requested_action` with `identifier` to the App."""

    label: str  # <= 20 characters
    description: str  # <= 40 characters
    identifier: str  # <= 20 characters

    def to_api(self) -> dict[str, str]:
        return {"label": self.label, "description": self.description, "identifier": self.identifier}


@dataclass(frozen=True, slots=True)
class CheckOutput:
    """Title, summary (markdown, <= 65,535 chars), optional text, and annotations (any number: the
    applier sends them 50 per request)."""

    title: str
    summary: str
    text: str | None = None
    annotations: tuple[Annotation, ...] = ()


class Effect:
    """Base of every effect. Subclasses are frozen dataclasses; `describe()` is their one-line explanation."""

    __slots__ = ()

    def describe(self) -> str:
        return repr(self)


@dataclass(frozen=True, slots=True)
class CreateCheckRun(Effect):
    """Create a check run on `head_sha`. `ref` names it so a later UpdateCheckRun in the same batch can
    refer to it before its GitHub id exists."""

    ref: str
    name: str
    head_sha: str
    status: CheckStatus = CheckStatus.IN_PROGRESS
    external_id: str | None = None
    details_url: str | None = None
    output: CheckOutput | None = None

    def describe(self) -> str:
        return f"create check run {self.name!r} on {self.head_sha[:12]} ({self.status.value})"


@dataclass(frozen=True, slots=True)
class UpdateCheckRun(Effect):
    """Update a check run: by `ref` (created earlier in the batch) or by GitHub `check_run_id`.
    A conclusion completes it."""

    ref: str | None = None
    check_run_id: int | None = None
    status: CheckStatus | None = None
    conclusion: CheckConclusion | None = None
    output: CheckOutput | None = None
    actions: tuple[CheckAction, ...] = ()

    def __post_init__(self) -> None:
        if (self.ref is None) == (self.check_run_id is None):
            raise ValueError("UpdateCheckRun needs exactly one of ref or check_run_id")

    def describe(self) -> str:
        target = self.ref if self.ref is not None else f"#{self.check_run_id}"
        state = self.conclusion or self.status
        what = f"{'conclusion' if self.conclusion else 'status'}={state.value if state else None}"
        n = len(self.output.annotations) if self.output else 0
        return f"update check run {target}: {what}, {n} annotation(s), {len(self.actions)} button(s)"


@dataclass(frozen=True, slots=True)
class UpsertComment(Effect):
    """Create or edit in place the one comment on issue/PR `number` whose body contains `marker`."""

    number: int
    marker: str
    body: str

    def __post_init__(self) -> None:
        if self.marker not in self.body:
            raise ValueError("the comment body must contain its marker, or it can never be found again")

    def describe(self) -> str:
        return f"upsert comment on #{self.number} marked {self.marker} ({len(self.body)} chars)"


@dataclass(frozen=True, slots=True)
class SetOutput(Effect):
    """A step output of the Action (`$GITHUB_OUTPUT`)."""

    name: str
    value: str

    def describe(self) -> str:
        return f"set output {self.name}={self.value!r}"


@dataclass(frozen=True, slots=True)
class WriteSummary(Effect):
    """Append markdown to the job summary (`$GITHUB_STEP_SUMMARY`)."""

    markdown: str

    def describe(self) -> str:
        return f"write job summary ({len(self.markdown)} chars)"


@dataclass(frozen=True, slots=True)
class WorkflowCommand(Effect):
    """A runner workflow command such as `::error file=…,line=…,title=…::message`: annotations when the
    token cannot write checks (fork pull requests)."""

    command: str  # error | warning | notice | group | endgroup ...
    message: str = ""
    properties: tuple[tuple[str, str], ...] = field(default=())

    def describe(self) -> str:
        return f"workflow command ::{self.command}:: {self.message[:60]!r}"
