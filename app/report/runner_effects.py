"""Effects on the runner side of the Action (pure): step outputs, the job summary, and the fallback when
the token cannot write (workflow-command annotations plus the summary, saying why)."""

from __future__ import annotations

from app.effects import Effect, SetOutput, WriteSummary
from app.gate.result import RunReport
from app.report import limits
from app.report.annotations import ordered, workflow_command
from app.report.env import render

MAX_JOB_SUMMARY = 1024 * 1024 - 1024  # GitHub caps a step summary at 1 MiB


def job_summary(
    markdown: str, *, fallback: str | None = None, report_path: str | None = None
) -> WriteSummary:
    """The job summary: the markdown report (and why nothing was posted, in the fallback)."""
    text = render("summary/job.md.j2", markdown=markdown, fallback=fallback, report_path=report_path)
    pointer = render("comment/_truncated.md.j2", pointer=report_path or limits.DEFAULT_POINTER).strip()
    return WriteSummary(limits.cut_text(text, MAX_JOB_SUMMARY, pointer))


def fallback_effects(
    report: RunReport, *, markdown: str, reason: str, report_path: str | None = None
) -> list[Effect]:
    """When checks and comments cannot be written: workflow-command annotations plus the job summary."""
    commands = [c for c in (workflow_command(f) for f in ordered(report.findings)) if c is not None]
    return [*commands, job_summary(markdown, fallback=reason, report_path=report_path)]


def outputs(report: RunReport, *, report_path: str) -> list[Effect]:
    """The Action's step outputs: verdict, report-json, breaking-count."""
    return [
        SetOutput("verdict", report.verdict.value),
        SetOutput("report-json", report_path),
        SetOutput("breaking-count", str(report.breaking_count)),
    ]
