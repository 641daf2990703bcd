"""ODCS 3.1 `relationships` (foreign keys, at schema or property level) compared across revisions.

A relationship is who joins on what: one removed or pointed elsewhere breaks the readers that join on
it; one added is a stronger promise. Where it is declared (the schema object's `from: [orders.cust]` or
the property `cust`'s own) is no change, and a renamed column keeps its relationships.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from app.contracts.matching import pair_in_stages
from app.contracts.model import Dataset, Relationship
from app.contracts.rules import Change, ChangeKind
from app.types import Location

K = ChangeKind


def relationship_changes(old: Dataset, new: Dataset, renamed: Mapping[str, str]) -> list[Change]:
    """Relationships of a matched dataset pair removed, changed or added; `renamed` maps a base column's
    name to its head name. A relationship of a removed column goes with it (`column-removed` says so)."""
    gone = {c.name for c in old.columns if c.name not in renamed}
    before = [_renamed(r, renamed) for r in old.all_relationships]
    pairs, removed, added = pair_in_stages(
        before,
        new.all_relationships,
        (
            lambda a, b: _shape(a) == _shape(b),
            lambda a, b: a.id is not None and a.id == b.id,
            lambda a, b: a.columns == b.columns,
            lambda a, b: a.to == b.to,
        ),
    )

    def change(kind: ChangeKind, r: Relationship, message: str, **kw: Any) -> Change:
        return Change.of(kind, new.name, f"relationship {message}", column=_column(r), **kw)

    out = [
        change(
            K.RELATIONSHIP_REMOVED,
            a,
            f"{_show(a)} removed: readers that join on it lose the promised key",
            location=_holder(new, a),
            base_location=a.location,
            old=_show(a),
        )
        for a in removed
        if not gone & set(a.columns)
    ]
    out += [
        change(
            K.RELATIONSHIP_CHANGED,
            b,
            f"{_show(a)} changed to {_show(b)}: joins on it match other rows, or none",
            location=b.key_location(*_changed_keys(a, b)),
            base_location=a.key_location(*_changed_keys(a, b)),
            old=_show(a),
            new=_show(b),
        )
        for a, b in pairs
        if _shape(a) != _shape(b) and not gone & set(a.columns)
    ]
    out += [
        change(K.RELATIONSHIP_ADDED, b, f"{_show(b)} added", location=b.location, new=_show(b)) for b in added
    ]
    return out


def _renamed(r: Relationship, renamed: Mapping[str, str]) -> Relationship:
    return replace(
        r,
        columns=tuple(renamed.get(c, c) for c in r.columns),
        column=None if r.column is None else renamed.get(r.column, r.column),
    )


def _shape(r: Relationship) -> tuple[object, ...]:
    return (r.columns, r.to, r.type)


def _changed_keys(a: Relationship, b: Relationship) -> list[str]:
    return [
        k
        for k, changed in (("to", a.to != b.to), ("from", a.columns != b.columns), ("type", a.type != b.type))
        if changed
    ]


def _column(r: Relationship) -> str | None:
    return r.columns[0] if len(r.columns) == 1 else None


def _show(r: Relationship) -> str:
    def refs(names: tuple[str, ...]) -> str:
        return names[0] if len(names) == 1 else f"({', '.join(names)})"

    kind = "" if r.type == "foreignKey" else f" ({r.type})"
    return f"{refs(r.columns)} -> {refs(r.to)}{kind}"


def _holder(dataset: Dataset, removed: Relationship) -> Location | None:
    """Where a removed relationship was held in head: the `relationships:` of its property (or of the
    schema object), else the property, else the schema object."""
    column = dataset.column(removed.column) if removed.column else None
    if column is not None:
        return column.key_location("relationships")
    return dataset.key_location("relationships")
