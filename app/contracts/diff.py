"""Diff two versions of a contract into classified changes (before policy).

Datasets and columns are matched by name first, then renames are recognised (stable `id`, physicalName,
or an identical shape) so a rename is reported as one `*-renamed` change, not a removal plus an addition.

>>> diff_contracts(None, None)
[]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from app.contracts.columns import column_changes, quality_changes
from app.contracts.compat import relaxes
from app.contracts.lifecycle import status_change
from app.contracts.matching import match_columns, match_datasets
from app.contracts.model import Column, Contract, Dataset
from app.contracts.relationships import relationship_changes
from app.contracts.rules import Change, ChangeKind
from app.contracts.sla_diff import sla_changes
from app.types import Impact, Location

K = ChangeKind
_ORDER = {kind: i for i, kind in enumerate(ChangeKind)}


def diff_contracts(
    base: Contract | None, head: Contract | None, *, dialect: str | None = None
) -> list[Change]:
    """Every change from `base` to `head` (None: contract added or removed), in a stable order."""
    old = base.datasets if base else ()
    new = head.datasets if head else ()
    out: list[Change] = []
    pairs, removed, added = match_datasets(old, new)
    for a, b in pairs:
        if a.name != b.name or a.output_name != b.output_name:
            what = (
                f"{a.name} -> {b.name}"
                if a.name != b.name
                else f"physicalName {a.output_name} -> {b.output_name}"
            )
            out.append(
                Change.of(
                    K.DATASET_RENAMED,
                    b.name,
                    f"dataset renamed: {what}",
                    location=b.location,
                    base_location=a.location,
                    old=a.output_name if a.name == b.name else a.name,
                    new=b.output_name if a.name == b.name else b.name,
                )
            )
        out.extend(dataset_changes(a, b, dialect))
    for a in removed:
        note = " (it was marked deprecated)" if a.deprecated else ""
        out.append(
            Change.of(
                K.DATASET_REMOVED,
                a.name,
                f"dataset {a.name} removed{note}: its readers fail",
                location=head.schema_location if head else a.location,
                base_location=a.location,
                old=a.name,
            )
        )
    for b in added:
        out.append(
            Change.of(K.DATASET_ADDED, b.name, f"dataset {b.name} added", location=b.location, new=b.name)
        )
    if base is not None and head is not None:
        out.extend(_contract_changes(base, head))
    return sorted(out, key=_sort_key)


def _sort_key(c: Change) -> tuple[Any, ...]:
    return (c.dataset, c.column or "", _ORDER[c.kind], str(c.old), str(c.new), c.message)


def _contract_changes(base: Contract, head: Contract) -> list[Change]:
    subject = primary_dataset(head) or primary_dataset(base) or head.id
    out = []
    if base.version != head.version:
        out.append(
            Change.of(
                K.VERSION_CHANGED,
                subject,
                f"contract version {base.version} -> {head.version}",
                location=head.version_location or head.location,
                base_location=base.version_location or base.location,
                old=base.version,
                new=head.version,
            )
        )
    if base.compatibility != head.compatibility:
        note = ""
        if relaxes(base.compatibility, head.compatibility):
            note = f"; this change is still checked as {base.compatibility}, the new mode applies after it"
        out.append(
            Change.of(
                K.COMPATIBILITY_CHANGED,
                subject,
                f"compatibility mode {base.compatibility} -> {head.compatibility}{note}",
                location=head.compatibility_location or head.location,
                base_location=base.compatibility_location or base.location,
                old=base.compatibility,
                new=head.compatibility,
            )
        )
    out += status_change(
        base.status,
        head.status,
        what=_contract_name(head),
        dataset=subject,
        location=head.status_location or head.location,
        base_location=base.status_location or base.location,
    )
    out += sla_changes(base, head, subject)
    return out


def _contract_name(contract: Contract) -> str:
    """`contract (datasets orders, refunds)`: a contract's status is each of its datasets'; one dataset is
    named by the finding itself."""
    names = [d.name for d in contract.datasets]
    return f"contract (datasets {', '.join(names)})" if len(names) > 1 else "contract"


def primary_dataset(contract: Contract | None) -> str | None:
    """The dataset a contract-level change is filed under: its only (or first) schema object."""
    if contract is None or not contract.datasets:
        return None
    return contract.datasets[0].name


def dataset_changes(old: Dataset, new: Dataset, dialect: str | None = None) -> list[Change]:
    """Changes inside one matched dataset: columns, keys, quality, semantics, materialization, docs."""
    at = {"location": new.location, "base_location": old.location}
    out: list[Change] = []
    pairs, removed, added = match_columns(old.columns, new.columns)
    for a, b in pairs:
        if a.name != b.name:
            out.append(
                Change.of(
                    K.COLUMN_RENAMED,
                    new.name,
                    f"column renamed: {a.name} -> {b.name}",
                    column=b.name,
                    location=b.location,
                    base_location=a.location,
                    old=a.name,
                    new=b.name,
                )
            )
        out.extend(column_changes(new.name, a, b, dialect))
    for a in removed:
        note = (
            " (it was marked deprecated: the dual-write window is over)"
            if a.deprecated
            else "; mark it deprecated for a release first to give readers a dual-write window"
        )
        out.append(
            Change.of(
                K.COLUMN_REMOVED,
                new.name,
                f"column {a.name} removed{note}",
                column=a.name,
                location=new.location,
                base_location=a.location,
                old=a.name,
            )
        )
    for b in added:
        what = "required" if b.required else "optional"
        out.append(
            Change.of(
                K.COLUMN_ADDED,
                new.name,
                f"{what} column {b.name} added",
                column=b.name,
                location=b.location,
                new=b.name,
            )
        )
    renamed = {a.name: b.name for a, b in pairs}
    out.extend(relationship_changes(old, new, renamed))
    old_key, new_key = _key_columns(old), _key_columns(new)
    was = [renamed.get(n, n) for n in old_key]  # a renamed key column alone is not a new key
    positioned = any(c.primary_key_position for c in (*old.columns, *new.columns) if c.primary_key)
    # without primaryKeyPosition the key's order is only the properties' order: reordering those is
    # column-reordered, the key (a set of columns) is the same
    if (was if positioned else sorted(was)) != (new_key if positioned else sorted(new_key)):
        out.append(
            Change.of(
                K.PRIMARY_KEY_CHANGED,
                new.name,
                f"primary key {old_key or 'none'} -> {new_key or 'none'}",
                old=old_key,
                new=new_key,
                **_key_change_at(pairs, at),
            )
        )
    order_old = [b.name for a in old.columns for x, b in pairs if x is a]
    order_new = [b.name for b in new.columns if any(b is y for _, y in pairs)]
    if order_old != order_new:
        out.append(
            Change.of(K.COLUMN_REORDERED, new.name, "columns reordered", old=order_old, new=order_new, **at)
        )
    if old.physical_type != new.physical_type:
        out.append(
            Change.of(
                K.MATERIALIZATION_CHANGED,
                new.name,
                f"materialization {old.physical_type or 'unset'} -> {new.physical_type or 'unset'}",
                old=old.physical_type,
                new=new.physical_type,
                **_at(old, new, "physicalType"),
            )
        )
    for key in sorted(dict(old.semantics).keys() | dict(new.semantics).keys()):
        before, after = dict(old.semantics).get(key), dict(new.semantics).get(key)
        if before != after:
            change = Change.of(
                K.SEMANTICS_CHANGED,
                new.name,
                f"{key} {before!r} -> {after!r}",
                old=before,
                new=after,
                **_at(old, new, f"customProperties.{key}"),
            )
            out.append(change if before is not None else replace(change, impact=Impact.INFO))
    out += status_change(
        old.status,
        new.status,
        what=f"dataset {new.name}",
        dataset=new.name,
        **_at(old, new, "customProperties.status"),
    )
    docs = [
        f
        for f in ("description", "business_name", "tags", "deprecated")
        if getattr(old, f) != getattr(new, f)
    ]
    if docs:
        out.append(
            Change.of(
                K.DOCUMENTATION_CHANGED,
                new.name,
                f"{', '.join(docs).replace('_', ' ')} changed",
                old={f: _plain(getattr(old, f)) for f in docs},
                new={f: _plain(getattr(new, f)) for f in docs},
                **_at(old, new, *(_DOC_KEYS[f] for f in docs), "customProperties.deprecated"),
            )
        )
    out.extend(
        quality_changes(
            old.quality,
            new.quality,
            dataset=new.name,
            column=None,
            location=new.location,
            base_location=old.location,
        )
    )
    return out


_DOC_KEYS = {
    "description": "description",
    "business_name": "businessName",
    "tags": "tags",
    "deprecated": "deprecated",
}


def _at(old: Dataset, new: Dataset, *keys: str) -> dict[str, Location | None]:
    """At the first of the ODCS `keys` each side declares (a key removed: the schema object)."""
    return {"location": new.key_location(*keys), "base_location": old.key_location(*keys)}


def _key_change_at(
    pairs: Sequence[tuple[Column, Column]], at: dict[str, Location | None]
) -> dict[str, Location | None]:
    """At the first column whose part in the primary key changed (the schema object when the change is a
    key column removed or added)."""
    keys = ("primaryKey", "primaryKeyPosition")
    for a, b in pairs:
        if (a.primary_key, a.primary_key_position) != (b.primary_key, b.primary_key_position):
            return {"location": b.key_location(*keys), "base_location": a.key_location(*keys)}
    return at


def _key_columns(dataset: Dataset) -> list[str]:
    keyed = sorted((c for c in dataset.columns if c.primary_key), key=lambda c: c.primary_key_position or 0)
    return [c.name for c in keyed]


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
