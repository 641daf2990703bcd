"""Findings as annotations (pure): at the finding's file and line, with the level of its severity,
blocking findings first. Used by check runs and by the workflow-command fallback alike."""

from __future__ import annotations

from collections.abc import Sequence

from app.effects import Annotation, AnnotationLevel, WorkflowCommand
from app.findings import Finding
from app.report import limits
from app.report.env import render
from app.types import Severity


def level(f: Finding) -> AnnotationLevel:
    if f.accepted is not None:
        return AnnotationLevel.NOTICE
    return {
        Severity.ERROR: AnnotationLevel.FAILURE,
        Severity.WARNING: AnnotationLevel.WARNING,
        Severity.NOTICE: AnnotationLevel.NOTICE,
    }[f.severity]


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    """Blocking first, then by severity, then by place: what a reviewer must see comes first."""

    def place(f: Finding) -> tuple[str, int]:
        return (f.location.path, f.location.line or 0) if f.location else ("", 0)

    return sorted(findings, key=lambda f: (not f.blocking, -f.severity.rank, place(f), f.rule))


def annotation(f: Finding) -> Annotation | None:
    """The annotation of a finding at its file and line (line 1 for file-level findings); None if it has
    no file."""
    loc = f.location
    if loc is None or not loc.path:
        return None
    start = max(loc.line or 1, 1)
    end = max(loc.end_line or start, start)
    return Annotation(
        path=loc.path,
        start_line=start,
        end_line=end,
        level=level(f),
        message=limits.clip(
            render("check/annotation.txt.j2", finding=f).strip(), limits.MAX_ANNOTATION_MESSAGE
        ),
        title=limits.clip(render("check/annotation_title.txt.j2", finding=f).strip(), limits.MAX_TITLE),
    )


def workflow_command(f: Finding) -> WorkflowCommand | None:
    """`::error file=…,line=…,title=…::message` for a finding (the fork fallback's annotations)."""
    a = annotation(f)
    if a is None:
        return None
    command = {AnnotationLevel.FAILURE: "error", AnnotationLevel.WARNING: "warning"}.get(a.level, "notice")
    props = (
        ("file", a.path),
        ("line", str(a.start_line)),
        ("endLine", str(a.end_line)),
        ("title", a.title or ""),
    )
    return WorkflowCommand(command, a.message, props)
