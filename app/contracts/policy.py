"""The change policy: classified changes -> findings with severities and acceptances.

Impact comes from the rules table, adjusted by the project's policy knobs and the contract's
compatibility mode; a breaking change is accepted by a major version bump (when the policy allows
versioned breaks) or by an unexpired waiver in datacanary.yml. Pure: `today` is passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from app.contracts.compat import effective_mode
from app.contracts.model import Contract
from app.contracts.policy_check import check_policy
from app.contracts.rules import RULES, Change, ChangeKind
from app.findings import Acceptance, Finding
from app.project.config import PolicyConfig, Waiver
from app.types import Impact, Location, Severity

GATE = "contracts"
WAIVER_EXPIRED = "waiver-expired"
K = ChangeKind
# the change seen from the other side (head -> base): how forward compatibility classifies
_INVERSE = {
    K.DATASET_REMOVED: K.DATASET_ADDED, K.COLUMN_REMOVED: K.COLUMN_ADDED,
    K.PHYSICAL_TYPE_NARROWED: K.PHYSICAL_TYPE_WIDENED, K.REQUIRED_RELAXED: K.REQUIRED_TIGHTENED,
    K.UNIQUE_DROPPED: K.UNIQUE_ADDED, K.ENUM_VALUE_ADDED: K.ENUM_VALUE_REMOVED,
    K.CONSTRAINT_LOOSENED: K.CONSTRAINT_TIGHTENED, K.QUALITY_RULE_REMOVED: K.QUALITY_RULE_ADDED,
    K.QUALITY_RULE_LOOSENED: K.QUALITY_RULE_TIGHTENED, K.SLA_WEAKENED: K.SLA_STRENGTHENED,
    K.RELATIONSHIP_REMOVED: K.RELATIONSHIP_ADDED,
    K.CRITICAL_DATA_ELEMENT_DROPPED: K.CRITICAL_DATA_ELEMENT_ADDED,
}  # fmt: skip
INVERSE: dict[ChangeKind, ChangeKind] = {**_INVERSE, **{v: k for k, v in _INVERSE.items()}}
_UNCONTRACTED = {K.MODEL_REMOVED, K.MODEL_OUTPUT_COLUMN_REMOVED, K.MODEL_OUTPUT_TYPE_CHANGED}
_SEVERITY = {
    Impact.BREAKING: Severity.ERROR,
    Impact.COMPATIBLE: Severity.NOTICE,
    Impact.INFO: Severity.NOTICE,
}
_HINTS = {
    K.COLUMN_REMOVED: "keep the column and mark it deprecated for a release (dual write) before removing it",
    K.COLUMN_RENAMED: "add the new column next to the old one and deprecate the old one",
    K.DATASET_RENAMED: "publish the new name alongside the old one (a view) for a release",
    K.ENUM_VALUE_ADDED: "tell the consumers first, or set `policy.enum_value_added: compatible` if they "
                        "handle unknown values",
    K.PHYSICAL_TYPE_WIDENED: "widening is breaking under `policy.widening: breaking`",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Judged:
    change: Change
    impact: Impact
    against: Contract | None  # the earlier version the change was found against
    direction: str  # backward | forward
    transitive: bool = False  # found against a version older than base


def apply_policy(
    changes: Sequence[Change],
    *,
    base: Contract | None,
    head: Contract | None,
    policy: PolicyConfig,
    waivers: Sequence[Waiver],
    today: dt.date,
    history: Sequence[Contract] = (),
    waivers_location: Callable[[int], Location] | None = None,
    config_location: Callable[[tuple[str | int, ...]], Location] | None = None,
    dialect: str | None = None,
    report_expired: bool = True,
) -> list[Finding]:
    """Findings (gate "contracts") for `changes` (base -> head) under the contract's compatibility mode.

    `history` holds earlier versions (oldest first) for the `*_transitive` modes; `waivers_location(i)`
    (or `config_location(key_path)`) gives the datacanary.yml line of waiver i, for errors and expiry.
    Expired waivers of these contracts' datasets are reported too, unless `report_expired` is False
    (callers that run several passes report them once with `expired_waivers`).
    """
    if config_location is not None and waivers_location is None:
        waivers_location = lambda i: config_location(("waivers", i))  # noqa: E731
    check_policy(policy, waivers, waivers_location, config_location)
    # a change that edits its own contract's mode is judged under both the old and the new mode
    mode = effective_mode(*(c.compatibility for c in (base, head) if c is not None))
    judged = _judge(changes, base, mode)
    if mode.endswith("_transitive") and head is not None:
        from app.contracts.diff import diff_contracts

        seen = {_identity(j.change) for j in judged}
        for earlier in reversed([c for c in history if c is not base]):
            for j in _judge(diff_contracts(earlier, head, dialect=dialect), earlier, mode):
                j = replace(j, transitive=True)
                if j.impact in (Impact.BREAKING, Impact.UNKNOWN) and _identity(j.change) not in seen:
                    seen.add(_identity(j.change))
                    judged.append(j)
    datasets = {d.name for c in (base, head) if c for d in c.datasets}
    findings: list[Finding] = []
    for j in judged:
        finding = _finding(j, head, mode, policy, waivers, today)
        if finding is not None:
            findings.append(finding)
    if report_expired:
        findings.extend(expired_waivers(waivers, today, waivers_location, datasets))
    return findings


def _identity(c: Change) -> tuple[Any, ...]:
    return (c.kind, c.dataset, c.column, str(c.new))


def _judge(changes: Sequence[Change], against: Contract | None, mode: str) -> list[_Judged]:
    """The impact of each change in the compatibility mode (before the policy's knobs)."""
    family = mode.removesuffix("_transitive")
    out = []
    for c in changes:
        forward = _forward(c)
        if family == "forward":
            out.append(_Judged(c, forward, against, "forward"))
        elif family == "full" and _worse(forward, c.impact):
            out.append(_Judged(c, forward, against, "forward"))
        else:
            out.append(_Judged(c, c.impact, against, "backward"))
    return out


def _forward(c: Change) -> Impact:
    """Impact of `c` for forward compatibility: the inverse change's impact (`column-added` breaks old
    producers' data for new readers, as `column-removed` breaks old readers)."""
    if c.impact is not RULES[c.kind]:  # diff already refined it (unknown direction, a declaration)
        return c.impact
    return RULES[INVERSE.get(c.kind, c.kind)]


_RANK = {Impact.INFO: 0, Impact.COMPATIBLE: 0, Impact.UNKNOWN: 1, Impact.BREAKING: 2}


def _worse(a: Impact, b: Impact) -> bool:
    return _RANK[a] > _RANK[b]


def _effective_kind(j: _Judged) -> ChangeKind:
    return INVERSE.get(j.change.kind, j.change.kind) if j.direction == "forward" else j.change.kind


def _finding(
    j: _Judged,
    head: Contract | None,
    mode: str,
    policy: PolicyConfig,
    waivers: Sequence[Waiver],
    today: dt.date,
) -> Finding | None:
    c = j.change
    override = policy.rules.get(c.kind.value)
    if override == "off":
        return None
    impact = j.impact
    kind = _effective_kind(j)
    if kind is K.PHYSICAL_TYPE_WIDENED and policy.widening == "breaking" and impact is Impact.COMPATIBLE:
        impact = Impact.BREAKING
    if kind is K.ENUM_VALUE_ADDED and policy.enum_value_added == "compatible" and impact is Impact.BREAKING:
        impact = Impact.COMPATIBLE
    severity = _SEVERITY.get(impact) or Severity(policy.unknown)
    if kind in _UNCONTRACTED and impact is Impact.BREAKING:
        severity = Severity(policy.uncontracted_changes)
    if override is not None and impact in (Impact.BREAKING, Impact.UNKNOWN):
        severity = Severity(override)
    if mode == "none" and severity is Severity.ERROR:
        severity = Severity.WARNING  # reported, never blocking: the contract opted out of compatibility
    message = c.message
    if j.direction == "forward" and impact is Impact.BREAKING:
        message += " (breaks forward compatibility: readers of the new contract get old data)"
    if j.transitive and j.against is not None:
        message += f" (against earlier version {j.against.version})"
    accepted, hint = None, None
    if severity in (Severity.ERROR, Severity.WARNING) and impact in (Impact.BREAKING, Impact.UNKNOWN):
        accepted = _accept(c, j.against, head, policy, waivers, today)
        hint = None if accepted else _hint(c, j.against, head, policy, waivers, today)
    return Finding(
        gate=GATE,
        rule=c.kind.value,
        severity=severity,
        message=message,
        dataset=c.dataset,
        column=c.column,
        location=c.location,
        impact=impact,
        old=c.old,
        new=c.new,
        hint=hint,
        accepted=accepted,
        data=MappingProxyType(
            {
                "compatibility": mode,
                "direction": j.direction,
                "source": c.source,
                "against_version": j.against.version if j.against else None,
                "base_line": c.base_location.line if c.base_location else None,
            }
        ),
    )


def _major_bumped(earlier: Contract | None, head: Contract | None) -> bool:
    if earlier is None or head is None:
        return False
    a, b = earlier.major_version, head.major_version
    return a is not None and b is not None and b > a


def _matching_waivers(c: Change, waivers: Sequence[Waiver]) -> list[Waiver]:
    return [
        w
        for w in waivers
        if w.rule == c.kind.value and w.dataset == c.dataset and (w.column is None or w.column == c.column)
    ]


def _accept(
    c: Change,
    earlier: Contract | None,
    head: Contract | None,
    policy: PolicyConfig,
    waivers: Sequence[Waiver],
    today: dt.date,
) -> Acceptance | None:
    if policy.versioned_breaks and _major_bumped(earlier, head):
        assert earlier is not None and head is not None
        return Acceptance("major-version", f"major version bumped {earlier.version} -> {head.version}")
    for w in _matching_waivers(c, waivers):
        if w.expires >= today:
            return Acceptance("waiver", w.reason, w.expires.isoformat())
    return None


def _hint(
    c: Change,
    earlier: Contract | None,
    head: Contract | None,
    policy: PolicyConfig,
    waivers: Sequence[Waiver],
    today: dt.date,
) -> str:
    expired = [w for w in _matching_waivers(c, waivers) if w.expires < today]
    if expired:
        return (
            f"the waiver for `{c.kind.value}` on {c.dataset} expired on {expired[0].expires.isoformat()}; "
            "renew it with a new date and reason, or fix the change"
        )
    ways = []
    specific = _HINTS.get(c.kind)
    if specific:
        ways.append(specific)
    if policy.versioned_breaks and head is not None and head.major_version is not None:
        base_major = (
            earlier.major_version if earlier and earlier.major_version is not None else head.major_version
        )
        ways.append(f"bump the contract's major version (`version: {base_major + 1}.0.0`)")
    ways.append(
        f"add a waiver to datacanary.yml (rule: {c.kind.value}, dataset: {c.dataset}"
        f"{f', column: {c.column}' if c.column else ''}, reason, expires)"
    )
    return "; or ".join(ways)


def _target(w: Waiver) -> str:
    return f"{w.dataset}.{w.column}" if w.column else w.dataset


def expired_waivers(
    waivers: Sequence[Waiver],
    today: dt.date,
    locate: Callable[[int], Location] | None = None,
    datasets: set[str] | None = None,
) -> list[Finding]:
    """A `waiver-expired` warning at its datacanary.yml line per expired waiver (of `datasets`, if given)."""
    out = []
    for i, w in enumerate(waivers):
        if w.expires < today and (datasets is None or w.dataset in datasets):
            out.append(
                Finding(
                    gate=GATE,
                    rule=WAIVER_EXPIRED,
                    severity=Severity.WARNING,
                    message=f"waiver for `{w.rule}` on {_target(w)} expired on {w.expires.isoformat()} "
                    f"({w.reason}); it no longer accepts anything",
                    dataset=w.dataset,
                    column=w.column,
                    location=locate(i) if locate else None,
                    hint="renew it with a new expiry date and reason, or remove it",
                    data=MappingProxyType({"waiver": i, "expires": w.expires.isoformat()}),
                )
            )
    return out
