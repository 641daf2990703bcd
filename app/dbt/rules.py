"""dbt's breaking-change rules for contracted models, on top of datacanary's contract rules.

dbt (`state:modified` on a model with `contract: {enforced: true}`) calls a change breaking when a
column is removed, a `data_type` changes, an enforced constraint is removed, the contract stops being
enforced, or a table/incremental with constraints becomes a view or ephemeral; a new model version is
the way to ship one. datacanary maps dbt's contract to a Contract, so the first three come from the
contract diff (with full types: dbt's enforcement ignores size and precision, so `varchar(10)` ->
`varchar(3)` slips through dbt, not through datacanary) and a new version counts as a major version
bump. This module adds the rest: enforcement disabled, materialization, a renamed contracted model
as one rename, removal after a `deprecation_date`, hints in dbt's terms, and the exposures hit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType

from app.contracts.gate import contract_findings
from app.contracts.model import Contract
from app.contracts.policy import apply_policy
from app.contracts.rules import Change, ChangeKind
from app.findings import Acceptance, Finding
from app.project.model import Project
from app.types import Impact

CONSTRAINED = ("table", "incremental")
_NO_HISTORY: Mapping[str, Sequence[Contract]] = MappingProxyType({})


def dbt_contract_findings(
    base: Project | None,
    head: Project,
    *,
    today: dt.date,
    history: Mapping[str, Sequence[Contract]] = _NO_HISTORY,
) -> list[Finding]:
    """The contracts gate for a dbt project: datacanary's findings plus dbt's own rules, with the
    exposures that read each changed dataset in `data["exposures"]`."""
    if base is not None:
        base = renamed_as_before(base, head)
    findings = contract_findings(base, head, today=today, history=history)
    if base is not None:
        findings = [_deprecated(_unenforced(f, base, head), base, today) for f in findings]
        for change, old, new in dbt_changes(base, head):
            findings += apply_policy(
                [change],
                base=old,
                head=new,
                policy=head.config.policy,
                waivers=head.config.waivers,
                today=today,
                config_location=head.config_doc.location,
                dialect=head.config.dialect,
            )
    return [_dbt_hint(_with_exposures(f, head)) for f in findings]


def renamed_as_before(base: Project, head: Project) -> Project:
    """`base` with the contract of a renamed model carrying its new id, so the gate compares the two
    and reports one rename (old -> new name) instead of a removal plus an addition. A rename is a
    contract that vanished and one that appeared with the same columns and types, one to one."""
    head_ids = {c.id for c in head.contracts}
    base_ids = {c.id for c in base.contracts}
    gone = [c for c in base.contracts if c.id not in head_ids]
    new = [c for c in head.contracts if c.id not in base_ids]
    renames: dict[str, str] = {}
    for old in gone:
        same = [c for c in new if _shape(c) == _shape(old)]
        if len(same) == 1 and sum(1 for o in gone if _shape(o) == _shape(old)) == 1:
            renames[old.id] = same[0].id
    if not renames:
        return base
    contracts = tuple(replace(c, id=renames.get(c.id, c.id)) for c in base.contracts)
    return replace(base, contracts=contracts)


def _shape(contract: Contract) -> frozenset[tuple[str, str | None]]:
    return frozenset((c.name, c.physical_type) for d in contract.datasets for c in d.columns)


def dbt_changes(base: Project, head: Project) -> list[tuple[Change, Contract, Contract]]:
    """Changes only dbt's rules see, with the base and head contract each belongs to."""
    out = []
    for old in base.contracts:
        new = _same_model(old, head)
        if new is None:
            continue
        was, now = _custom(old, "materialized"), _custom(new, "materialized")
        constrained = any(c.required or c.unique or c.primary_key for d in old.datasets for c in d.columns)
        if was in CONSTRAINED and now not in CONSTRAINED and constrained:
            dataset = new.datasets[0].name
            out.append(
                (
                    replace(
                        Change.of(
                            ChangeKind.MATERIALIZATION_CHANGED,
                            dataset,
                            f"materialization {was} -> {now}: its constraints are no longer enforced",
                            location=new.location,
                            base_location=old.location,
                            old=was,
                            new=now,
                            source="dbt",
                        ),
                        impact=Impact.BREAKING,
                    ),
                    old,
                    new,
                )
            )
    return out


def _custom(contract: Contract, key: str) -> str | None:
    value = dict(contract.custom).get(key)
    return value if isinstance(value, str) else None


def _same_model(old: Contract, head: Project) -> Contract | None:
    return next((c for c in head.contracts if c.id == old.id), None)


def _unenforced(f: Finding, base: Project, head: Project) -> Finding:
    """A contract that vanished while its model stayed is dbt's `contract: {enforced: false}`."""
    if f.rule != ChangeKind.DATASET_REMOVED.value or f.dataset is None or f.dataset not in head.models:
        return f
    if base.contract_of(f.dataset) is None or head.contract_of(f.dataset) is not None:
        return f
    return replace(
        f,
        message=f"model {f.dataset} is still built but its contract is no longer enforced: "
        "every promise it made to readers is gone",
        hint="keep `contract: {enforced: true}`; to change the promise, add a new model version",
    )


_BUMP = re.compile(r"bump the contract's major version \(`version: [^`]*`\)")
_NEW_VERSION = (
    "publish a new model version (`versions: [{v: 2}, {v: 1}]` and `latest_version: 2` in its schema yml; "
    "readers who pin v1 keep it)"
)


def _dbt_hint(f: Finding) -> Finding:
    """In dbt, a new major version of a contract is a new model version."""
    if f.hint is None or not _BUMP.search(f.hint):
        return f
    return replace(f, hint=_BUMP.sub(_NEW_VERSION, f.hint))


def _deprecated(f: Finding, base: Project, today: dt.date) -> Finding:
    """dbt model governance: a model (version) may go once its `deprecation_date` has passed."""
    if f.rule != ChangeKind.DATASET_REMOVED.value or not f.blocking or f.dataset is None:
        return f
    hit = base.contract_of(f.dataset)
    when = _custom(hit[0], "deprecation_date") if hit else None
    try:
        day = dt.date.fromisoformat(when[:10]) if when else None
    except ValueError:
        return f
    if day is None or day > today:
        return f
    return replace(f, accepted=Acceptance(by="deprecation", reason=f"deprecation_date {day} has passed"))


def _with_exposures(f: Finding, head: Project) -> Finding:
    if f.dataset is None or f.impact not in (Impact.BREAKING, Impact.UNKNOWN):
        return f
    readers = head.consumers_of(f.dataset)
    if not readers:
        return f
    return replace(f, data=MappingProxyType({**f.data, "exposures": list(readers)}))
