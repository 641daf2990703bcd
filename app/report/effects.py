"""A RunReport as GitHub effects (pure): one check run per gate with annotations at each finding's file
and line, the one PR comment (found again by its hidden marker), or, when the token cannot write, workflow
command annotations and the job summary. Text comes from templates/check, comment and summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum

from app.effects import (
    Annotation,
    AnnotationLevel,
    CheckAction,
    CheckConclusion,
    CheckOutput,
    CheckStatus,
    CreateCheckRun,
    Effect,
    UpdateCheckRun,
    UpsertComment,
)
from app.errors import DatacanaryError
from app.gate.result import GateResult, RunReport
from app.report import limits
from app.report.annotations import annotation, ordered
from app.report.env import render
from app.report.runner_effects import fallback_effects
from app.report.runner_effects import job_summary as job_summary  # re-exported
from app.report.runner_effects import outputs as outputs  # re-exported
from app.types import Verdict

COMMENT_MARKER = "<!-- datacanary:comment -->"
CHECK_PREFIX = "datacanary / "
ACK_ACTION = CheckAction("Acknowledge breaking", "Accept this commit's breaking changes", "ack-breaking")
MAX_ANNOTATIONS = 500  # per check run; the rest stay in the summary and the report
MAX_SUMMARY_ROWS = 100
DEFAULT_POINTER = limits.DEFAULT_POINTER


class FailOn(str, Enum):
    """Which outcomes block (conclude `failure`, exit 1): the Action's `fail-on` input."""

    BREAKING = "breaking"  # only blocking contract changes
    CANARY = "canary"  # blocking contract changes and canary failures (the default)
    WARNING = "warning"  # any of those, and warnings too
    NEVER = "never"  # advisory: report, never block


def blocks(gate: GateResult, fail_on: FailOn) -> bool:
    """Whether this gate's outcome blocks the merge under `fail_on`."""
    verdict = gate.verdict
    if fail_on is FailOn.NEVER or verdict in (Verdict.PASS, Verdict.SKIPPED):
        return False
    if fail_on is FailOn.WARNING:
        return True
    if verdict is not Verdict.FAIL:
        return False
    return fail_on is FailOn.CANARY or gate.name == "contracts"


def conclusion(gate: GateResult, fail_on: FailOn = FailOn.CANARY) -> CheckConclusion:
    """failure blocks; neutral (a warning, or a failure not enforced) lets the merge through, as success
    and skipped do."""
    if blocks(gate, fail_on):
        return CheckConclusion.FAILURE
    return {
        Verdict.PASS: CheckConclusion.SUCCESS,
        Verdict.SKIPPED: CheckConclusion.SKIPPED,
    }.get(gate.verdict, CheckConclusion.NEUTRAL)


# the canary's notice on a model it could not check (it reads a broken model or source; app.canary.gate):
# a canary that passes with models left unchecked says so in its title, not only in an annotation
NOT_CHECKED = "canary-skipped"


def check_output(
    report: RunReport, gate: GateResult, *, markdown: str, fail_on: FailOn, pointer: str, ack: bool
) -> CheckOutput:
    """Title, summary, text (each within GitHub's limits) and annotations of one gate's check run."""
    findings = ordered(gate.findings)
    annotations = [a for a in (annotation(f) for f in findings) if a is not None]
    counts = gate.to_json()["counts"]
    enforced = blocks(gate, fail_on)
    title = render(
        "check/title.txt.j2",
        gate=gate,
        blocking=counts["blocking"],
        warnings=counts["warning"],
        accepted=counts["accepted"],
        enforced=enforced or gate.verdict is not Verdict.FAIL,
        fail_on=fail_on.value,
        not_checked=sum(1 for f in gate.findings if f.rule == NOT_CHECKED and f.data.get("side") == "head"),
    ).strip()
    summary = render(
        "check/summary.md.j2",
        report=report,
        gate=gate,
        counts=counts,
        shown=findings[:MAX_SUMMARY_ROWS],
        hidden=max(0, len(findings) - MAX_SUMMARY_ROWS),
        pointer=pointer,
        enforced=enforced,
        fail_on=fail_on.value,
        ack=ACK_ACTION if ack else None,
        unannotated=max(0, len(annotations) - MAX_ANNOTATIONS),
        max_annotations=MAX_ANNOTATIONS,
    )
    pointer_note = render("comment/_truncated.md.j2", pointer=pointer).strip()
    text = render("check/text.md.j2", markdown=markdown)
    return CheckOutput(
        title=limits.clip(title, limits.MAX_TITLE),
        summary=limits.cut_text(summary, limits.MAX_CHECK_TEXT, pointer_note),
        text=limits.cut_text(text, limits.MAX_CHECK_TEXT, pointer_note) if text.strip() else None,
        annotations=tuple(annotations[:MAX_ANNOTATIONS]),
    )


def checks_started(
    head_sha: str,
    report_gates: Sequence[str],
    *,
    details_url: str | None = None,
    external_id: str | None = None,
) -> list[Effect]:
    """Create one in-progress check run per gate (before the gates run, so the PR shows them pending);
    `effects_for(..., started=ApplyResult.check_runs)` completes them."""
    return [
        CreateCheckRun(
            ref=name,
            name=CHECK_PREFIX + name,
            head_sha=head_sha,
            status=CheckStatus.IN_PROGRESS,
            external_id=external_id,
            details_url=details_url,
        )
        for name in report_gates
    ]


def comment_body(
    markdown: str,
    *,
    head_sha: str,
    details_url: str | None,
    pointer: str,
    compact_markdown: str | None = None,
) -> str:
    """The PR comment: marker, then the most detailed report variant that fits GitHub's comment limit."""
    frame = render(
        "comment/pr.md.j2", marker=COMMENT_MARKER, body="", head_sha=head_sha, details_url=details_url
    )
    room = limits.MAX_COMMENT_BODY - limits.size(frame)
    notes = {
        "pointer": render("comment/_truncated.md.j2", pointer=pointer).strip(),
        "details_note": render("comment/_omitted_details.md.j2", pointer=pointer).strip(),
        "table_note": render("comment/_omitted_tables.md.j2", pointer=pointer).strip(),
    }
    body = markdown
    if limits.size(markdown) > room and compact_markdown is not None:
        body = compact_markdown
    body = limits.fit_markdown(body, room, **notes)
    return render(
        "comment/pr.md.j2", marker=COMMENT_MARKER, body=body, head_sha=head_sha, details_url=details_url
    )


def effects_for(
    report: RunReport,
    *,
    head_sha: str,
    pr_number: int | None,
    details_url: str | None,
    can_write: bool,
    markdown: str,
    compact_markdown: str | None = None,
    fail_on: FailOn = FailOn.CANARY,
    started: Mapping[str, int] | None = None,
    external_id: str | None = None,
    comment: bool = True,
    ack_button: bool = True,
    pointer: str = DEFAULT_POINTER,
    fallback_reason: str = "the token cannot write to this repository (a pull request from a fork?)",
) -> list[Effect]:
    """Everything to post for a run. `started` maps gate name -> id of check runs already created
    (see `checks_started`); others are created here. `can_write=False` gives the fork fallback."""
    if not can_write:
        return fallback_effects(report, markdown=markdown, reason=fallback_reason)
    effects: list[Effect] = []
    for gate in report.gates:
        ack = (
            ack_button and gate.name == "contracts" and gate.verdict is Verdict.FAIL and blocks(gate, fail_on)
        )
        output = check_output(report, gate, markdown=markdown, fail_on=fail_on, pointer=pointer, ack=ack)
        started_id = started.get(gate.name) if started else None
        if started_id is None:
            effects += checks_started(head_sha, [gate.name], details_url=details_url, external_id=external_id)
        effects.append(
            UpdateCheckRun(
                ref=gate.name if started_id is None else None,
                check_run_id=started_id,
                conclusion=conclusion(gate, fail_on),
                output=output,
                actions=(ACK_ACTION,) if ack else (),
            )
        )
    for name, cid in (started or {}).items():
        if report.gate(name) is None:  # started but this run has no such gate: never leave it pending
            gate = GateResult(name, skipped_reason="not part of this run")
            effects.append(
                UpdateCheckRun(
                    check_run_id=cid,
                    conclusion=CheckConclusion.SKIPPED,
                    output=check_output(
                        report, gate, markdown=markdown, fail_on=fail_on, pointer=pointer, ack=False
                    ),
                )
            )
    if comment and pr_number is not None:
        body = comment_body(
            markdown,
            head_sha=head_sha,
            details_url=details_url,
            pointer=pointer,
            compact_markdown=compact_markdown,
        )
        effects.append(UpsertComment(pr_number, COMMENT_MARKER, body))
    return effects


def blocking(report: RunReport, fail_on: FailOn) -> bool:
    """Whether the run as a whole blocks under `fail_on` (the Action's exit code 1)."""
    return any(blocks(g, fail_on) for g in report.gates)


def error_effects(error: DatacanaryError, *, started: Mapping[str, int]) -> list[Effect]:
    """datacanary could not run: complete the already started check runs as failed, with the error (and
    an annotation where it has a file and line), so a pending check never hangs on the PR."""
    loc = error.location
    notes: tuple[Annotation, ...] = ()
    if loc is not None and loc.path:
        line = max(loc.line or 1, 1)
        notes = (
            Annotation(
                loc.path,
                line,
                max(loc.end_line or line, line),
                AnnotationLevel.FAILURE,
                limits.clip(error.render(), limits.MAX_ANNOTATION_MESSAGE),
                type(error).__name__,
            ),
        )
    output = CheckOutput(
        title=limits.clip(render("check/error_title.txt.j2", error=error).strip(), limits.MAX_TITLE),
        summary=limits.cut_text(render("check/error.md.j2", error=error), limits.MAX_CHECK_TEXT, "…"),
        annotations=notes,
    )
    return [
        UpdateCheckRun(check_run_id=cid, conclusion=CheckConclusion.FAILURE, output=output)
        for cid in started.values()
    ]
