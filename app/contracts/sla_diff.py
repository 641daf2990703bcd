"""The contract's `slaProperties` across revisions: each entry removed, added, weakened, strengthened or
changed, paired by stable `id`, by property and element, and, when its `element:` was edited, by property
alone (one SLA moved, not one removed plus one added). Pure; used by `app.contracts.diff`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from app.contracts.matching import match_columns, match_datasets, pair_in_stages
from app.contracts.model import Contract, SlaProperty
from app.contracts.rules import Change, ChangeKind
from app.contracts.sla import compare_entries, show, sla_key
from app.types import Impact

K = ChangeKind


def sla_changes(base: Contract, head: Contract, subject: str) -> list[Change]:
    """SLA changes from `base` to `head`, filed under the dataset their element names (else `subject`)."""
    pairs, removed, added = _pair_slas(base.sla, head.sla)
    out = [
        Change.of(
            K.SLA_WEAKENED,
            _sla_dataset(sla.element, head) or subject,
            f"SLA {sla.property} ({show(sla)}) removed",
            location=head.sla_location,
            base_location=sla.location,
            old=show(sla),
        )
        for sla in removed
    ]
    renames = _renames(base, head)
    for sla, now in pairs:
        if _same_element(sla.element, base, now.element, head, renames):
            now = replace(now, element=sla.element)  # its dataset or column renamed: reported as that
        change = _paired(sla, now, head, _sla_dataset(now.element, head) or subject)
        if change is not None:
            out.append(change)
    out += [
        Change.of(
            K.SLA_STRENGTHENED,
            _sla_dataset(sla.element, head) or subject,
            f"SLA {sla.property} ({show(sla)}) added",
            location=sla.location,
            new=show(sla),
        )
        for sla in added
    ]
    return out


def _paired(sla: SlaProperty, now: SlaProperty, head: Contract, dataset: str) -> Change | None:
    """One matched entry's change: at its entry for a value, at the key that moved for a move."""
    outcome, why, keys = compare_entries(sla, now)
    if outcome == "same":
        return None
    moved = keys != ("value",)
    if outcome == "changed" and moved:
        if "element" in keys and _covers(sla.element, head):
            outcome, why = "weakened", f"{why}: {sla.element} is still there, no longer covered"
        else:
            why += ": readers of the old one may no longer have this promise"
    change = Change.of(
        K.SLA_STRENGTHENED if outcome == "strengthened" else K.SLA_WEAKENED,
        dataset,
        f"SLA {sla.property} {outcome}: {why}",
        location=now.key_location(*keys) if moved else now.location,
        base_location=sla.key_location(*keys) if moved else sla.location,
        old=show(sla),
        new=show(now),
    )
    return change if outcome != "changed" else replace(change, impact=Impact.UNKNOWN)


def _pair_slas(
    old: Sequence[SlaProperty], new: Sequence[SlaProperty]
) -> tuple[list[tuple[SlaProperty, SlaProperty]], list[SlaProperty], list[SlaProperty]]:
    """SLA entries matched across revisions by their ODCS 3.1 `id`, else by property and element
    (`sla_key`); several entries under one key (a regulatory and an analytics `timeOfAvailability` of
    one element) pair by their `driver` first, then in their order, so that none hides another. What is
    left pairs by property and driver: the SLA moved to another element. Returns (pairs, removed, added)."""
    stages: tuple[Callable[[SlaProperty, SlaProperty], bool], ...] = (
        lambda a, b: a.id is not None and a.id == b.id,
        lambda a, b: sla_key(a) == sla_key(b) and a.driver == b.driver,
        lambda a, b: sla_key(a) == sla_key(b),
        lambda a, b: sla_key(a)[0] == sla_key(b)[0] and a.driver == b.driver,
    )
    return pair_in_stages(old, new, stages)


def _parts(element: str | None) -> list[str]:
    return [p.strip() for p in (element or "").split(",") if p.strip()]


def _canonical(part: str, contract: Contract) -> str:
    """`fct_orders.ID` as `orders.id`: the names of the dataset and column it names (else as written)."""
    table, dot, column = part.partition(".")
    found = contract.dataset(table)
    if found is None:
        return part.lower()
    if not dot:
        return found.name.lower()
    hit = found.column(column)
    return f"{found.name}.{hit.name if hit else column}".lower()


def _renames(base: Contract, head: Contract) -> dict[str, str]:
    """Each base dataset and column (`orders`, `orders.id`) -> its head name, across renames."""
    out: dict[str, str] = {}
    datasets, _, _ = match_datasets(base.datasets, head.datasets)
    for a, b in datasets:
        out[a.name.lower()] = b.name.lower()
        columns, _, _ = match_columns(a.columns, b.columns)
        out.update({f"{a.name}.{x.name}".lower(): f"{b.name}.{y.name}".lower() for x, y in columns})
    return out


def _same_element(
    old: str | None, base: Contract, new: str | None, head: Contract, renames: dict[str, str]
) -> bool:
    """Whether `new` names what `old` named, under a new name or spelling (physicalName, case)."""
    before = [renames.get(c, c) for c in (_canonical(p, base) for p in _parts(old))]
    return before == [_canonical(p, head) for p in _parts(new)]


def _covers(element: str | None, contract: Contract) -> bool:
    """Whether every part of an SLA's `element` (`orders`, `orders.ordered_at`) names a dataset or
    column `contract` still has: an SLA moved off it leaves that element without its promise."""
    parts = _parts(element)
    for part in parts:
        table, _, column = part.partition(".")
        found = contract.dataset(table)
        if found is None or (column and found.column(column) is None):
            return False
    return bool(parts)


def _sla_dataset(element: str | None, contract: Contract) -> str | None:
    """`element: fct_orders.ordered_at` names a dataset by name or physical name."""
    parts = _parts(element)
    found = contract.dataset(parts[0].split(".")[0]) if parts else None
    return found.name if found else None
