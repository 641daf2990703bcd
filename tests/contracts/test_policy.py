"""The change policy: severities, knobs, compatibility modes, versioned breaks and waivers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.contracts.diff import diff_contracts
from app.contracts.model import Contract
from app.contracts.policy import apply_policy
from app.errors import ConfigError
from app.findings import Finding, gate_verdict
from app.project.config import PolicyConfig, Waiver, parse_config
from app.types import Impact, Location, Severity, Verdict
from tests.contracts.conftest import base_doc, mutated, prop, to_contract

TODAY = dt.date(2026, 6, 1)


def _contract(version: str = "1.0.0", compatibility: str | None = None, **column_changes: Any) -> Contract:
    doc = base_doc()
    doc["version"] = version
    if compatibility:
        doc["customProperties"] = [{"property": "compatibility", "value": compatibility}]
    for name, change in column_changes.items():
        if change is None:
            doc["schema"][0]["properties"] = [p for p in doc["schema"][0]["properties"] if p["name"] != name]
        else:
            prop(doc, name).update(change)
    return to_contract(doc)


def _findings(
    base: Contract | None,
    head: Contract | None,
    policy: PolicyConfig | None = None,
    waivers: list[Waiver] | None = None,
    **kw: Any,
) -> list[Finding]:
    return apply_policy(
        diff_contracts(base, head),
        base=base,
        head=head,
        policy=policy or PolicyConfig(),
        waivers=waivers or [],
        today=TODAY,
        **kw,
    )


def _one(findings: list[Finding], rule: str) -> Finding:
    hits = [f for f in findings if f.rule == rule]
    assert len(hits) == 1, [(f.rule, f.column) for f in findings]
    return hits[0]


def test_breaking_change_blocks_with_a_hint() -> None:
    f = _one(_findings(_contract(), _contract(email=None)), "column-removed")
    assert (f.severity, f.impact, f.blocking, f.gate) == (Severity.ERROR, Impact.BREAKING, True, "contracts")
    assert f.hint and "version: 2.0.0" in f.hint and "waiver" in f.hint
    assert f.location is not None and f.location.path == "contracts/orders.odcs.yaml"


def test_compatible_and_info_changes_are_notices() -> None:
    findings = _findings(
        _contract(), _contract(version="1.1.0", status={"required": True, "description": "x"})
    )
    assert {f.severity for f in findings} == {Severity.NOTICE}
    assert gate_verdict(findings) is Verdict.PASS


def test_major_version_bump_accepts_breaking_changes() -> None:
    f = _one(_findings(_contract(), _contract(version="2.0.0", email=None)), "column-removed")
    assert f.accepted is not None and f.accepted.by == "major-version" and not f.blocking
    assert "1.0.0 -> 2.0.0" in f.accepted.reason


def test_major_bump_does_not_accept_when_versioned_breaks_are_off() -> None:
    f = _one(
        _findings(_contract(), _contract(version="2.0.0", email=None), PolicyConfig(versioned_breaks=False)),
        "column-removed",
    )
    assert f.blocking


def test_minor_bump_does_not_accept() -> None:
    assert _one(_findings(_contract(), _contract(version="1.5.0", email=None)), "column-removed").blocking


def test_waiver_accepts_its_rule_for_its_column_with_reason() -> None:
    waiver = Waiver(
        rule="column-removed",
        dataset="orders",
        column="email",
        reason="DATA-7: nobody reads it",
        expires=dt.date(2026, 12, 31),
    )
    f = _one(_findings(_contract(), _contract(email=None), waivers=[waiver]), "column-removed")
    assert f.accepted is not None
    assert (f.accepted.by, f.accepted.reason, f.accepted.expires) == (
        "waiver",
        "DATA-7: nobody reads it",
        "2026-12-31",
    )


def test_dataset_wide_waiver_covers_every_column() -> None:
    waiver = Waiver(rule="required-relaxed", dataset="orders", reason="backfill", expires=TODAY)
    findings = _findings(
        _contract(), _contract(status={"required": False}, amount={"required": False}), waivers=[waiver]
    )
    assert all(f.accepted for f in findings if f.rule == "required-relaxed")


def test_waiver_for_another_column_or_rule_does_not_accept() -> None:
    waivers = [
        Waiver(rule="column-removed", dataset="orders", column="status", reason="r", expires=TODAY),
        Waiver(rule="column-renamed", dataset="orders", column="email", reason="r", expires=TODAY),
    ]
    assert _one(_findings(_contract(), _contract(email=None), waivers=waivers), "column-removed").blocking


def test_expired_waiver_accepts_nothing_and_is_flagged_at_its_line() -> None:
    config, doc = parse_config(
        "name: shop\nwaivers:\n  - rule: column-removed\n    dataset: orders\n    column: email\n"
        "    reason: temporary\n    expires: 2026-01-31\n",
        "datacanary.yml",
    )
    findings = _findings(
        _contract(), _contract(email=None), waivers=config.waivers, config_location=doc.location
    )
    removed = _one(findings, "column-removed")
    assert removed.blocking and removed.hint and "expired on 2026-01-31" in removed.hint
    expired = _one(findings, "waiver-expired")
    assert expired.severity is Severity.WARNING
    assert expired.location == Location("datacanary.yml", 3)


def test_widening_policy_makes_widening_breaking() -> None:
    base, head = _contract(), _contract(order_id={"physicalType": "hugeint"})
    assert _one(_findings(base, head), "physical-type-widened").severity is Severity.NOTICE
    f = _one(_findings(base, head, PolicyConfig(widening="breaking")), "physical-type-widened")
    assert f.blocking and f.impact is Impact.BREAKING


def test_enum_value_added_can_be_relaxed() -> None:
    valid = {
        "quality": [
            {
                "metric": "invalidValues",
                "mustBe": 0,
                "arguments": {"validValues": ["placed", "shipped", "cancelled", "lost"]},
            }
        ]
    }
    base, head = _contract(), _contract(status=valid)
    assert _one(_findings(base, head), "enum-value-added").blocking
    relaxed = _one(_findings(base, head, PolicyConfig(enum_value_added="compatible")), "enum-value-added")
    assert relaxed.severity is Severity.NOTICE


def test_unknown_changes_take_the_policy_severity() -> None:
    base, head = _contract(), _contract(ordered_at={"physicalType": "timestamptz"})
    assert _one(_findings(base, head), "physical-type-changed").severity is Severity.WARNING
    assert _one(_findings(base, head, PolicyConfig(unknown="error")), "physical-type-changed").blocking


def test_rule_override_sets_severity_or_turns_the_rule_off() -> None:
    base, head = _contract(), _contract(email=None)
    warned = _one(_findings(base, head, PolicyConfig(rules={"column-removed": "warning"})), "column-removed")
    assert warned.severity is Severity.WARNING and not warned.blocking
    assert _findings(base, head, PolicyConfig(rules={"column-removed": "off"})) == []


def test_unknown_rule_in_policy_is_a_config_error_at_its_line() -> None:
    config, doc = parse_config(
        "name: shop\npolicy:\n  rules:\n    column-remove: warning\n", "datacanary.yml"
    )
    with pytest.raises(ConfigError) as info:
        _findings(_contract(), _contract(), config.policy, config_location=doc.location)
    assert info.value.location == Location("datacanary.yml", 4)
    assert "column-removed" in (info.value.hint or "")


def test_waiver_for_unknown_rule_is_a_config_error_at_its_line() -> None:
    config, doc = parse_config(
        "name: shop\nwaivers:\n  - dataset: orders\n    rule: colum-removed\n"
        "    reason: r\n    expires: 2030-01-01\n",
        "datacanary.yml",
    )
    with pytest.raises(ConfigError) as info:
        _findings(_contract(), _contract(), waivers=config.waivers, config_location=doc.location)
    assert info.value.location == Location("datacanary.yml", 4)


def test_forward_mode_blocks_an_added_required_column() -> None:
    base = _contract(compatibility="forward", email=None)
    head = _contract(compatibility="forward")
    f = _one(_findings(base, head), "column-added")
    assert f.blocking and "forward" in f.message
    assert f.data["direction"] == "forward"
    # and what backward forbids is fine going forward
    assert not _one(
        _findings(_contract(compatibility="forward"), _contract(compatibility="forward", email=None)),
        "column-removed",
    ).blocking


def test_full_mode_blocks_both_directions() -> None:
    assert _one(
        _findings(_contract(compatibility="full", email=None), _contract(compatibility="full")),
        "column-added",
    ).blocking
    assert _one(
        _findings(_contract(compatibility="full"), _contract(compatibility="full", email=None)),
        "column-removed",
    ).blocking


def test_none_mode_reports_but_never_blocks() -> None:
    findings = _findings(_contract(compatibility="none"), _contract(compatibility="none", email=None))
    f = _one(findings, "column-removed")
    assert f.severity is Severity.WARNING and gate_verdict(findings) is Verdict.WARN


def test_transitive_mode_checks_every_earlier_version() -> None:
    v1 = _contract("1.0.0", "backward_transitive", status={"logicalTypeOptions": {"maxLength": 20}})
    base = _contract("1.1.0", "backward_transitive", status={"logicalTypeOptions": {"maxLength": 30}})
    head = _contract("1.2.0", "backward_transitive", status={"logicalTypeOptions": {"maxLength": 30}})
    assert not any(f.blocking for f in _findings(base, head))
    f = _one(_findings(base, head, history=[v1, base]), "constraint-loosened")
    assert f.blocking and "against earlier version 1.0.0" in f.message
    assert f.data["against_version"] == "1.0.0"


def test_non_transitive_mode_ignores_history() -> None:
    v1 = _contract("1.0.0", status={"logicalTypeOptions": {"maxLength": 20}})
    base = _contract("1.1.0", status={"logicalTypeOptions": {"maxLength": 30}})
    assert not any(f.blocking for f in _findings(base, base, history=[v1]))


def test_transitive_break_against_an_older_major_is_accepted_by_the_bump() -> None:
    v1 = _contract("1.0.0", "backward_transitive", status={"logicalTypeOptions": {"maxLength": 20}})
    base = _contract("2.0.0", "backward_transitive", status={"logicalTypeOptions": {"maxLength": 30}})
    head = _contract("2.1.0", "backward_transitive", status={"logicalTypeOptions": {"maxLength": 30}})
    f = _one(_findings(base, head, history=[v1]), "constraint-loosened")
    assert f.accepted is not None and f.accepted.by == "major-version"


def test_findings_serialize_to_json() -> None:
    f = _one(_findings(_contract(), _contract(email=None)), "column-removed")
    out = f.to_json()
    assert (out["rule"], out["dataset"], out["column"], out["line"]) == (
        "column-removed",
        "orders",
        "email",
        f.location.line,
    )  # type: ignore[union-attr]
    assert out["data"]["compatibility"] == "backward"


def test_mutated_docs_helper_is_independent() -> None:
    a = mutated(lambda d: d.update(version="9.0.0"))
    assert base_doc()["version"] == "1.0.0" and a["version"] == "9.0.0"


def test_forward_mode_notices_do_not_claim_to_break() -> None:
    base, head = (
        _contract(compatibility="forward"),
        _contract(compatibility="forward", email={"required": True}),
    )
    f = _one(_findings(base, head), "required-tightened")
    assert f.blocking and "forward" in f.message
    relaxed = _one(_findings(head, base), "required-relaxed")
    assert relaxed.severity is Severity.NOTICE and "forward" not in relaxed.message


def test_expired_waivers_can_be_left_to_the_caller() -> None:
    waiver = Waiver(rule="column-removed", dataset="orders", reason="old", expires=dt.date(2020, 1, 1))
    findings = _findings(_contract(), _contract(email=None), waivers=[waiver], report_expired=False)
    assert [f.rule for f in findings] == ["column-removed"]


def test_relaxing_the_mode_in_the_same_change_does_not_relax_its_own_gate() -> None:
    findings = _findings(_contract(compatibility="backward"), _contract(compatibility="none", email=None))
    assert _one(findings, "column-removed").blocking
    mode = _one(findings, "compatibility-changed")
    assert "still checked as backward" in mode.message and mode.severity is Severity.NOTICE
    assert _one(findings, "column-removed").data["compatibility"] == "backward"


def test_a_stricter_new_mode_applies_to_the_change_that_sets_it() -> None:
    findings = _findings(_contract(email=None), _contract(compatibility="full"))
    assert _one(findings, "column-added").blocking  # forward half of `full`
    assert "still checked" not in _one(findings, "compatibility-changed").message


@pytest.mark.parametrize(
    ("old", "new", "effective", "relaxed"),
    [
        ("backward", "none", "backward", True),
        ("none", "backward", "backward", False),
        ("backward", "forward", "full", True),
        ("full", "forward_transitive", "full_transitive", True),
        ("backward_transitive", "backward", "backward_transitive", True),
        ("backward", "full_transitive", "full_transitive", False),
        ("none", "none", "none", False),
    ],
)
def test_effective_mode_is_the_union_of_checks(old: str, new: str, effective: str, relaxed: bool) -> None:
    from app.contracts.compat import effective_mode, relaxes

    assert effective_mode(old, new) == effective
    assert relaxes(old, new) is relaxed
