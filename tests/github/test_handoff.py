"""The fork split's hand-off: what the read-only run would post, serialized, and read back strictly."""

from __future__ import annotations

import json

import pytest

from app.effects import CreateCheckRun, UpdateCheckRun, UpsertComment
from app.findings import Finding
from app.gate.result import GateResult, RunReport
from app.github.handoff import HandoffError, from_handoff, to_handoff
from app.report.effects import ACK_ACTION, effects_for
from app.types import Location, Severity

SHA = "a" * 40


def planned() -> list:  # type: ignore[type-arg]
    f = Finding("contracts", "column-removed", Severity.ERROR, "gone", "t", "c", Location("c/t.yaml", 4))
    report = RunReport(
        "p", "b", "h", (GateResult("contracts", (f,)), GateResult("canary", skipped_reason="off"))
    )
    return effects_for(report, head_sha=SHA, pr_number=3, details_url=None, can_write=True, markdown="## r\n")


def test_round_trip_gives_back_the_same_posts() -> None:
    original = planned()
    data = json.loads(json.dumps(to_handoff(original, head_sha=SHA, pr_number=3)))
    effects, number = from_handoff(data, head_sha=SHA)
    assert number == 3
    assert [e.name for e in effects if isinstance(e, CreateCheckRun)] == [
        "datacanary / contracts",
        "datacanary / canary",
    ]
    got = {e.ref: e for e in effects if isinstance(e, UpdateCheckRun)}
    want = {e.ref: e for e in original if isinstance(e, UpdateCheckRun)}
    assert got["contracts"].output == want["contracts"].output
    assert got["contracts"].actions == (ACK_ACTION,) and got["canary"].actions == ()
    assert [e.body for e in effects if isinstance(e, UpsertComment)] == [
        e.body for e in original if isinstance(e, UpsertComment)
    ]


def test_oversized_or_foreign_content_is_refused() -> None:
    data = to_handoff(planned(), head_sha=SHA, pr_number=3)
    data["check_runs"][0]["summary"] = "x" * 70_000
    with pytest.raises(HandoffError, match="summary"):
        from_handoff(data, head_sha=SHA)
    with pytest.raises(HandoffError, match="commit"):
        from_handoff(to_handoff(planned(), head_sha=SHA, pr_number=3), head_sha="b" * 40)
    with pytest.raises(HandoffError):
        from_handoff(["not", "a", "handoff"], head_sha=SHA)
