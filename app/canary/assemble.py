"""Rows returned by the reconciliation queries -> the parts of a Reconciliation. [pure]"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from app.canary.queries import alias_changed, alias_stat
from app.canary.reconcile import ColumnResult, Example, KeyHealth, SideStats, jsonable
from app.canary.schema import ColumnPlan, DiffPlan


def key_health(row: Mapping[str, Any]) -> KeyHealth:
    """From a `queries.key_check` row."""
    return KeyHealth(
        rows=int(row["rows"]),
        null_keys=int(row["null_keys"]),
        duplicate_keys=int(row["dup_keys"]),
        duplicate_rows=int(row["dup_rows"]),
        examples=tuple(jsonable(row["dup_examples"] or [])) if row["dup_keys"] else (),
    )


def side_stats(p: ColumnPlan, row: Mapping[str, Any], side: str, i: int, rows: int) -> SideStats:
    """One column's profile from a row holding `queries.profile_columns` output."""

    def get(stat: str) -> Any:
        return row.get(alias_stat(side, i, stat))

    count = int(get("count") or 0)
    total = get("sum")
    return SideStats(
        count=count,
        nulls=rows - count,
        distinct=None if get("distinct") is None else int(get("distinct")),
        min=get("min"),
        max=get("max"),
        sum=total,
        # avg() would be one more aggregate per numeric column and side over every row
        mean=None if total is None or not count else total / count,
    )


def column_results(
    plan: DiffPlan,
    summary: Mapping[str, Any] | None,
    profiles: tuple[Mapping[str, Any], Mapping[str, Any]] | None,
    rows: tuple[int, int],
    matched: int | None,
) -> tuple[ColumnResult, ...]:
    """Per common column: changed count and match rate (keyed only) plus both sides' profiles."""
    out = []
    for i, p in enumerate(plan.columns):
        changed = None if summary is None else int(summary[alias_changed(i)])
        rate = None if changed is None or not matched else 1 - changed / matched
        left = right = None
        if profiles is not None:
            left = side_stats(p, profiles[0], "l", i, rows[0])
            right = side_stats(p, profiles[1], "r", i, rows[1])
        out.append(
            ColumnResult(
                name=p.name,
                left_type=p.left_type,
                right_type=p.right_type,
                compared_as=p.compare if p.compare != "hash" else "value",
                tolerance=p.tolerance.describe() if p.tolerance else None,
                changed=changed,
                match_rate=rate,
                left=left,
                right=right,
            )
        )
    return tuple(out)


def examples_from(
    summary: Mapping[str, Any],
    plan: DiffPlan,
    left_rows: Mapping[Any, Mapping[str, Any]],
    right_rows: Mapping[Any, Mapping[str, Any]],
) -> tuple[Example, ...]:
    """Example rows from the summary's key lists and the rows fetched for them (by frozen key)."""
    out: list[Example] = []
    for k in summary.get("ex_removed") or ():
        out.append(Example("removed", jsonable(k), _row(left_rows, k), None))
    for k in summary.get("ex_added") or ():
        out.append(Example("added", jsonable(k), None, _row(right_rows, k)))
    for item in summary.get("ex_changed") or ():
        k, flags = item["k"], item["d"]
        names = tuple(p.name for p, f in zip(plan.columns, flags, strict=True) if f)
        out.append(Example("changed", jsonable(k), _row(left_rows, k), _row(right_rows, k), names))
    return tuple(out)


def _row(rows: Mapping[Any, Mapping[str, Any]], key: Any) -> dict[str, Any] | None:
    row = rows.get(freeze(key))
    return None if row is None else jsonable(dict(row))


def multiset_examples(
    only_left: Sequence[Mapping[str, Any]], only_right: Sequence[Mapping[str, Any]]
) -> tuple[Example, ...]:
    return tuple(Example("removed", {}, jsonable(dict(r)), None) for r in only_left) + tuple(
        Example("added", {}, None, jsonable(dict(r))) for r in only_right
    )


_NAN = ("NaN",)  # a NaN key part: every float NaN is a new object unequal to itself, so no dict finds it


def freeze(key: Any) -> Any:
    """A hashable form of a key struct, to look fetched rows up by key."""
    if isinstance(key, Mapping):
        return tuple((k, freeze(v)) for k, v in key.items())
    if isinstance(key, list):
        return tuple(freeze(v) for v in key)
    if isinstance(key, float) and math.isnan(key):
        return _NAN
    return key
