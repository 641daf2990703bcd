"""A RunReport as GitHub effects: one check run per gate with the right conclusion, annotations at each
finding's file and line, the acknowledge button, the one marked comment within GitHub's size limit, and
the fork fallback."""

from __future__ import annotations

import pytest

from app.effects import (
    AnnotationLevel,
    CheckConclusion,
    CreateCheckRun,
    UpdateCheckRun,
    UpsertComment,
    WorkflowCommand,
    WriteSummary,
)
from app.errors import ContractError
from app.findings import Acceptance, Finding
from app.gate.result import GateResult, RunReport
from app.report import limits
from app.report.effects import (
    ACK_ACTION,
    COMMENT_MARKER,
    FailOn,
    blocking,
    conclusion,
    effects_for,
    error_effects,
    outputs,
)
from app.types import Impact, Location, Severity

SHA = "c" * 40


def finding(
    rule: str = "column-removed",
    severity: Severity = Severity.ERROR,
    line: int | None = 12,
    path: str | None = "contracts/orders.yaml",
    **kw,
) -> Finding:  # type: ignore[no-untyped-def]
    return Finding(
        "contracts",
        rule,
        severity,
        f"{rule} happened",
        "orders",
        "email",
        Location(path, line) if path else None,
        Impact.BREAKING,
        **kw,
    )


def report(
    *contracts: Finding, canary: tuple[Finding, ...] = (), canary_skip: str | None = None
) -> RunReport:
    return RunReport(
        "shop",
        "base",
        "head",
        (GateResult("contracts", contracts), GateResult("canary", canary, skipped_reason=canary_skip)),
    )


def effects(r: RunReport, **kw) -> list:  # type: ignore[no-untyped-def, type-arg]
    args = {
        "head_sha": SHA,
        "pr_number": 9,
        "details_url": "https://ci/run/1",
        "can_write": True,
        "markdown": "## report\n",
    }
    return effects_for(r, **{**args, **kw})


def updates(effs: list) -> dict[str, UpdateCheckRun]:  # type: ignore[type-arg]
    return {e.ref: e for e in effs if isinstance(e, UpdateCheckRun)}


@pytest.mark.parametrize(
    ("gate", "expected"),
    [
        (GateResult("contracts", (finding(),)), CheckConclusion.FAILURE),
        (GateResult("contracts", (finding(severity=Severity.WARNING),)), CheckConclusion.NEUTRAL),
        (GateResult("contracts", (finding(severity=Severity.NOTICE),)), CheckConclusion.SUCCESS),
        (GateResult("contracts", ()), CheckConclusion.SUCCESS),
        (GateResult("canary", skipped_reason="disabled"), CheckConclusion.SKIPPED),
    ],
)
def test_verdict_maps_to_a_conclusion_and_only_failure_blocks(
    gate: GateResult, expected: CheckConclusion
) -> None:
    assert conclusion(gate) is expected


def test_fail_on_decides_what_blocks() -> None:
    contracts_fail = GateResult("contracts", (finding(),))
    canary_fail = GateResult("canary", (finding(),))
    warn = GateResult("contracts", (finding(severity=Severity.WARNING),))
    assert conclusion(canary_fail, FailOn.BREAKING) is CheckConclusion.NEUTRAL
    assert conclusion(contracts_fail, FailOn.BREAKING) is CheckConclusion.FAILURE
    assert conclusion(canary_fail, FailOn.CANARY) is CheckConclusion.FAILURE
    assert conclusion(warn, FailOn.WARNING) is CheckConclusion.FAILURE
    assert conclusion(contracts_fail, FailOn.NEVER) is CheckConclusion.NEUTRAL
    assert blocking(report(finding()), FailOn.CANARY) and not blocking(report(finding()), FailOn.NEVER)


def test_one_check_run_per_gate_created_in_progress_then_completed() -> None:
    effs = effects(report(finding(), canary_skip="disabled"))
    creates = [e for e in effs if isinstance(e, CreateCheckRun)]
    assert [c.name for c in creates] == ["datacanary / contracts", "datacanary / canary"]
    assert all(c.status.value == "in_progress" and c.head_sha == SHA for c in creates)
    done = updates(effs)
    assert done["contracts"].conclusion is CheckConclusion.FAILURE
    assert done["canary"].conclusion is CheckConclusion.SKIPPED
    assert done["canary"].output and done["canary"].output.title == "Skipped: disabled"


def test_already_started_check_runs_are_completed_by_id() -> None:
    effs = effects(report(finding()), started={"contracts": 11, "canary": 12})
    assert not any(isinstance(e, CreateCheckRun) for e in effs)
    assert {e.check_run_id for e in effs if isinstance(e, UpdateCheckRun)} == {11, 12}


def test_a_started_check_without_a_gate_in_the_report_is_skipped_not_left_pending() -> None:
    only_contracts = RunReport("shop", "b", "h", (GateResult("contracts", ()),))
    effs = effects(only_contracts, started={"contracts": 1, "canary": 2})
    done = {e.check_run_id: e.conclusion for e in effs if isinstance(e, UpdateCheckRun)}
    assert done == {1: CheckConclusion.SUCCESS, 2: CheckConclusion.SKIPPED}


def test_annotations_sit_at_the_finding_file_and_line_with_its_level() -> None:
    accepted = finding("sla-weakened", line=30, accepted=Acceptance("major-version", "2.0.0"))
    r = report(
        finding(line=12),
        finding("enum-value-added", Severity.WARNING, line=20),
        accepted,
        finding("no-place", path=None),
        finding("file-level", Severity.NOTICE, line=None),
    )
    out = updates(effects(r))["contracts"].output
    assert out is not None
    got = {(a.path, a.start_line, a.level) for a in out.annotations}
    assert got == {
        ("contracts/orders.yaml", 12, AnnotationLevel.FAILURE),
        ("contracts/orders.yaml", 20, AnnotationLevel.WARNING),
        ("contracts/orders.yaml", 30, AnnotationLevel.NOTICE),  # accepted: let through
        ("contracts/orders.yaml", 1, AnnotationLevel.NOTICE),
    }
    assert out.annotations[0].start_line == 12  # blocking first
    assert out.annotations[0].title == "column-removed: orders.email"


def test_failing_contracts_check_offers_the_acknowledge_button() -> None:
    done = updates(effects(report(finding())))
    assert done["contracts"].actions == (ACK_ACTION,)
    assert done["canary"].actions == ()
    assert (
        len(ACK_ACTION.label) <= 20 and len(ACK_ACTION.description) <= 40 and len(ACK_ACTION.identifier) <= 20
    )
    assert updates(effects(report(finding()), fail_on=FailOn.NEVER))["contracts"].actions == ()


def test_comment_is_marked_once_and_carries_the_report() -> None:
    effs = effects(report(finding()), markdown="## ❌ datacanary: FAIL\n\nbody\n")
    comment = next(e for e in effs if isinstance(e, UpsertComment))
    assert comment.number == 9 and comment.marker == COMMENT_MARKER
    assert comment.body.count(COMMENT_MARKER) == 1 and comment.body.startswith(COMMENT_MARKER)
    assert "datacanary: FAIL" in comment.body and "https://ci/run/1" in comment.body


def test_no_comment_without_a_pull_request_or_when_disabled() -> None:
    assert not any(isinstance(e, UpsertComment) for e in effects(report(), pr_number=None))
    assert not any(isinstance(e, UpsertComment) for e in effects(report(), comment=False))


def test_huge_report_uses_the_compact_variant_then_fits() -> None:
    examples = (
        "<details><summary>rows</summary>\n\n"
        + "| a | b |\n|---|---|\n"
        + "| 1 | 2 |\n" * 9000
        + "</details>\n"
    )
    full = "## FAIL\n\n" + examples
    compact = "## FAIL (compact)\n\nno examples\n"
    body = next(
        e
        for e in effects(report(finding()), markdown=full, compact_markdown=compact)
        if isinstance(e, UpsertComment)
    ).body
    assert "(compact)" in body and limits.size(body) <= limits.MAX_COMMENT_BODY
    body = next(e for e in effects(report(finding()), markdown=full * 3) if isinstance(e, UpsertComment)).body
    assert limits.size(body) <= limits.MAX_COMMENT_BODY and body.count(COMMENT_MARKER) == 1
    assert "omitted to fit" in body


def test_check_text_is_cut_with_a_pointer_to_the_full_report() -> None:
    huge = "## Section\n\n" + ("line of text\n" * 8000)
    out = updates(effects(report(finding()), markdown=huge))["contracts"].output
    assert out is not None and out.text is not None
    assert limits.size(out.text) <= limits.MAX_CHECK_TEXT and "full report:" in out.text


def test_many_findings_cap_annotations_and_say_so() -> None:
    many = tuple(finding(line=i + 1) for i in range(700))
    out = updates(effects(report(*many)))["contracts"].output
    assert out is not None and len(out.annotations) == 500
    assert "200 findings beyond the first 500" in out.summary
    assert limits.size(out.summary) <= limits.MAX_CHECK_TEXT


def test_fork_fallback_is_workflow_commands_and_the_job_summary() -> None:
    effs = effects(
        report(finding(line=12), finding("x", Severity.WARNING, path="a,b:c.yaml", line=2)),
        can_write=False,
        markdown="## report\n",
    )
    commands = [e for e in effs if isinstance(e, WorkflowCommand)]
    assert [c.command for c in commands] == ["error", "warning"]
    assert dict(commands[0].properties)["line"] == "12"
    summary = [e for e in effs if isinstance(e, WriteSummary)]
    assert (
        len(summary) == 1 and "could not post" in summary[0].markdown and "## report" in summary[0].markdown
    )
    assert not any(isinstance(e, (CreateCheckRun, UpsertComment)) for e in effs)


def test_outputs_name_verdict_report_and_breaking_count() -> None:
    got = {e.name: e.value for e in outputs(report(finding(), finding("x")), report_path="/tmp/r.json")}
    assert got == {"verdict": "fail", "report-json": "/tmp/r.json", "breaking-count": "2"}


def test_error_completes_started_checks_as_failed_at_the_error_location() -> None:
    err = ContractError("not valid ODCS", Location("contracts/orders.yaml", 4), hint="fix the field")
    effs = error_effects(err, started={"contracts": 1, "canary": 2})
    assert [e.check_run_id for e in effs] == [1, 2]
    assert all(e.conclusion is CheckConclusion.FAILURE for e in effs)
    out = effs[0].output
    assert out is not None and "fix the field" in out.summary
    assert out.annotations[0].path == "contracts/orders.yaml" and out.annotations[0].start_line == 4
    assert error_effects(err, started={}) == []


def test_an_annotation_shows_contract_values_as_a_reader_writes_them() -> None:
    # a real contract's enum value removed and tags added: no Python reprs, no None
    import datetime as dt
    from pathlib import Path

    from app.contracts.diff import diff_contracts
    from app.contracts.parse import parse_contract
    from app.contracts.policy import apply_policy
    from app.project.config import PolicyConfig
    from app.report.annotations import annotation

    rel = "datacontract-cli/tests/fixtures/dbt_sync/orders.odcs.yaml"
    text = (Path(__file__).resolve().parent.parent / "contracts" / "real" / rel).read_text()
    head_text = text.replace("              - shipped\n", "", 1).replace(
        "          maximum: 1000000", "          maximum: 1000000\n        tags: [finance, pii]", 1
    )
    base, head = parse_contract(text, rel), parse_contract(head_text, rel)
    findings = apply_policy(
        diff_contracts(base, head),
        base=base,
        head=head,
        policy=PolicyConfig(),
        waivers=(),
        today=dt.date.today(),
    )
    messages = {f.rule: annotation(f).message for f in findings if annotation(f)}  # type: ignore[union-attr]
    removed = next(m for rule, m in messages.items() if "enum" in rule)
    assert "was: shipped → now: (none)" in removed
    assert all("None" not in m and "['" not in m for m in messages.values()), messages


def test_a_canary_that_passes_with_models_left_unchecked_says_so_in_its_title() -> None:
    from types import MappingProxyType

    def skipped(side: str) -> Finding:
        data = MappingProxyType({"side": side, "status": "skipped", "blocked_by": "stg_orders"})
        return Finding("canary", "canary-skipped", Severity.NOTICE, "not checked", "x", data=data)

    # two selected models not checked; an unchanged upstream one skipped too is no model of the PR's
    done = updates(effects(report(finding(), canary=(skipped("head"), skipped("head"), skipped("shared")))))
    canary = done["canary"]
    assert canary.conclusion is CheckConclusion.SUCCESS and canary.output is not None
    assert (
        canary.output.title == "No blocking findings; 2 models not checked (reading a broken model or source)"
    )
    assert updates(effects(report(finding())))["canary"].output.title == "No blocking findings"  # type: ignore[union-attr]
