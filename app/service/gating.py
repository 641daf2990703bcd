"""Run the gates for one target (a pull request head, a merge group, a re-run) and yield the effects in
two batches: the check runs `in_progress` at once, then the report, through the same
`app.report.effects.effects_for` the Action uses."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.effects import (
    CheckConclusion,
    CheckOutput,
    Effect,
    SetOutput,
    UpdateCheckRun,
    WorkflowCommand,
    WriteSummary,
)
from app.errors import DatacanaryError
from app.service.acks import Acknowledgments
from app.service.context import HandlerContext

if TYPE_CHECKING:
    from app.gate.result import RunReport

GATES = ("contracts", "canary")


@dataclass(frozen=True, slots=True)
class Target:
    """What to gate: `head_sha` against `base_sha` of `repo`; `pr_number` gets the comment (None for a
    merge group)."""

    repo: str
    installation_id: int | None
    base_sha: str
    head_sha: str
    pr_number: int | None = None


def gate(target: Target, ctx: HandlerContext) -> Iterator[Sequence[Effect]]:
    """The batches of effects for gating `target`; the engine runs between the two."""
    from app.report.effects import checks_started

    if ctx.stand_in():
        return
    # the pipeline always reports these gates (a disabled canary is a skipped gate), so the PR shows
    # both pending at once; a gate the report adds beyond them is created when the report is posted
    yield checks_started(target.head_sha, GATES, details_url=ctx.settings.details_url)
    acks = Acknowledgments(ctx.db).for_head(target.repo, target.head_sha)
    try:
        repo = ctx.repo_checkout(target.installation_id, target.repo, [target.base_sha, target.head_sha])
        report = ctx.run_check(
            repo,
            target.base_sha,
            target.head_sha,
            ctx.settings.project_dir,
            canary=ctx.settings.canary,
            acknowledgments=acks,
        )
    except DatacanaryError as exc:
        yield _failed(exc)
        return
    _keep(report, target, ctx)
    yield _github_only(_report_effects(report, target, ctx))


def _keep(report: RunReport, target: Target, ctx: HandlerContext) -> None:
    """Store the report for the dashboard; a failure to store never fails the gate itself."""
    import logging
    import sqlite3

    from app.dashboard.results import GateResults

    try:
        GateResults(ctx.db).save(
            report.to_json(),
            repo=target.repo,
            installation_id=target.installation_id,
            pr_number=target.pr_number,
            head_sha=target.head_sha,
            base_sha=target.base_sha,
            delivery_id=ctx.delivery_id,
            at=ctx.clock(),
            retention=ctx.settings.dashboard_retention,
        )
    except sqlite3.Error:
        logging.getLogger("datacanary.service").exception("gate result of %s not stored", target.repo)


def _report_effects(report: RunReport, target: Target, ctx: HandlerContext) -> list[Effect]:
    from app.report import render_report
    from app.report.effects import FailOn, effects_for
    from app.report.env import render

    # the Action points at its uploaded artifact; the App has none, so point at the details page or
    # at the command that reproduces the report
    pointer = render(
        "service/pointer.md.j2",
        details_url=ctx.settings.details_url,
        base_sha=target.base_sha,
        head_sha=target.head_sha,
    ).strip()

    return list(
        effects_for(
            report,
            head_sha=target.head_sha,
            pr_number=target.pr_number,
            details_url=ctx.settings.details_url,
            can_write=True,
            markdown=render_report(report, "markdown"),
            compact_markdown=render_report(report, "markdown", compact=True),
            fail_on=FailOn(ctx.settings.fail_on),
            pointer=pointer,
        )
    )


def _github_only(effects: Sequence[Effect]) -> list[Effect]:
    # the Action's runner outputs (step outputs, job summary, workflow commands) have no place here
    return [e for e in effects if not isinstance(e, (SetOutput, WriteSummary, WorkflowCommand))]


def _failed(exc: DatacanaryError) -> list[Effect]:
    """The run could not finish (bad datacanary.yml, unreadable contract, git failure): fail the checks
    with the error's message, hint and location, like the CLI's exit 2."""
    from app.report.env import render

    output = CheckOutput(
        title="datacanary could not run",
        summary=render("service/error.md.j2", message=exc.message, hint=exc.hint, location=exc.location),
    )
    return [UpdateCheckRun(ref=gate, conclusion=CheckConclusion.FAILURE, output=output) for gate in GATES]
