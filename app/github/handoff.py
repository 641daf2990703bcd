"""The fork split's hand-off: what an untrusted `pull_request` job computed (it cannot write to GitHub),
as a JSON artifact that a trusted `workflow_run` job posts.

The posting side treats the artifact as untrusted data: a strict schema (only datacanary check runs and
the one marked comment, within GitHub's limits), the head sha taken from the trusted `workflow_run`
event and not from the artifact, and the pull request number verified against that sha before commenting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.effects import (
    Annotation,
    AnnotationLevel,
    CheckConclusion,
    CheckOutput,
    CreateCheckRun,
    Effect,
    UpdateCheckRun,
    UpsertComment,
)
from app.errors import DatacanaryError
from app.report import limits
from app.report.effects import ACK_ACTION as ACK
from app.report.effects import COMMENT_MARKER as MARKER

SCHEMA = "datacanary-handoff/1"


class HandoffError(DatacanaryError):
    """The hand-off artifact is malformed, or does not belong to the run being posted."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Annotation(_Strict):
    path: str = Field(min_length=1, max_length=1024, pattern=r"^[^/\x00-\x1f][^\x00-\x1f]*$")
    start_line: int = Field(ge=1, le=10_000_000)
    end_line: int = Field(ge=1, le=10_000_000)
    level: Literal["notice", "warning", "failure"]
    message: str = Field(max_length=limits.MAX_ANNOTATION_MESSAGE)
    title: str | None = Field(None, max_length=limits.MAX_TITLE)

    @field_validator("path")
    @classmethod
    def _inside_the_repository(cls, v: str) -> str:
        if ".." in v.split("/"):
            raise ValueError("an annotation path must stay inside the repository")
        return v


class _CheckRun(_Strict):
    name: str = Field(pattern=r"^datacanary / [a-z][a-z0-9_-]{0,30}$")
    conclusion: Literal["success", "failure", "neutral", "skipped"]
    title: str = Field(max_length=limits.MAX_TITLE)
    summary: str = Field(max_length=limits.MAX_CHECK_TEXT)
    text: str | None = Field(None, max_length=limits.MAX_CHECK_TEXT)
    annotations: list[_Annotation] = Field(default_factory=list, max_length=500)
    ack: bool = False


class _Handoff(_Strict):
    schema_: Literal["datacanary-handoff/1"] = Field(alias="schema")
    head_sha: str = Field(pattern=r"^[0-9a-f]{40}$")
    pr_number: int | None = Field(None, ge=1)
    check_runs: list[_CheckRun] = Field(max_length=10)
    comment: str | None = Field(None, max_length=limits.MAX_COMMENT_BODY)


def to_handoff(effects: Sequence[Effect], *, head_sha: str, pr_number: int | None) -> dict[str, Any]:
    """The JSON hand-off of what `effects_for(..., can_write=True)` would post."""
    names = {e.ref: e.name for e in effects if isinstance(e, CreateCheckRun)}
    runs = []
    for e in effects:
        if isinstance(e, UpdateCheckRun) and e.ref in names and e.conclusion and e.output:
            runs.append(
                {
                    "name": names[e.ref],
                    "conclusion": e.conclusion.value,
                    "title": e.output.title,
                    "summary": e.output.summary,
                    "text": e.output.text,
                    "annotations": [
                        {
                            "path": a.path,
                            "start_line": a.start_line,
                            "end_line": a.end_line,
                            "level": a.level.value,
                            "message": a.message,
                            "title": a.title,
                        }
                        for a in e.output.annotations
                    ],
                    "ack": any(a.identifier == ACK.identifier for a in e.actions),
                }
            )
    comment = next((e.body for e in effects if isinstance(e, UpsertComment)), None)
    return {
        "schema": SCHEMA,
        "head_sha": head_sha,
        "pr_number": pr_number,
        "check_runs": runs,
        "comment": comment,
    }


def from_handoff(data: Any, *, head_sha: str) -> tuple[list[Effect], int | None]:
    """Validate an untrusted hand-off for the run at `head_sha` (from the trusted event). Returns the check
    run effects and the comment effect (if any), and the PR number the caller must still verify."""
    try:
        handoff = _Handoff.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise HandoffError(
            f"the hand-off artifact is invalid at `{where}`: {first['msg']}",
            hint="post only artifacts written by the datacanary Action",
        ) from None
    if handoff.head_sha != head_sha:
        raise HandoffError(
            f"the hand-off is for commit {handoff.head_sha[:12]}, the workflow run for {head_sha[:12]}",
            hint="download the artifact of the triggering run (download-artifact with run-id)",
        )
    effects: list[Effect] = []
    for run in handoff.check_runs:
        ref = run.name.removeprefix("datacanary / ")
        annotations = tuple(
            Annotation(
                a.path,
                a.start_line,
                max(a.end_line, a.start_line),
                AnnotationLevel(a.level),
                a.message,
                a.title,
            )
            for a in run.annotations
        )
        effects.append(CreateCheckRun(ref=ref, name=run.name, head_sha=head_sha))
        effects.append(
            UpdateCheckRun(
                ref=ref,
                conclusion=CheckConclusion(run.conclusion),
                output=CheckOutput(run.title, run.summary, run.text, annotations),
                actions=(ACK,) if run.ack and run.conclusion == "failure" else (),
            )
        )
    if handoff.comment is not None and handoff.pr_number is not None:
        if not handoff.comment.startswith(MARKER):
            raise HandoffError("the hand-off comment does not start with datacanary's marker")
        effects.append(UpsertComment(handoff.pr_number, MARKER, handoff.comment))
    return effects, handoff.pr_number
