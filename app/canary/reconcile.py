"""The reconciliation of two tables as values: what the queries found, with every figure the report shows.
[pure] Built from the rows the queries in `queries.py` return; no database here.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.canary.schema import SchemaChange


def jsonable(value: Any) -> Any:
    """A database value as JSON: exact decimals as strings, times as ISO text, nested values kept."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")  # 0.0000000000, not str()'s 0E-10
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)


@dataclass(frozen=True, slots=True)
class SideStats:
    """One column's profile on one side."""

    count: int
    nulls: int
    distinct: int | None
    min: Any = None
    max: Any = None
    sum: float | None = None
    mean: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            k: jsonable(getattr(self, k)) for k in ("count", "nulls", "distinct", "min", "max", "sum", "mean")
        }


@dataclass(frozen=True, slots=True)
class ColumnResult:
    """A common column: how it was compared, how many matched rows differ in it, and its profiles."""

    name: str
    left_type: str
    right_type: str
    compared_as: str
    tolerance: str | None
    changed: int | None
    match_rate: float | None
    left: SideStats | None = None
    right: SideStats | None = None

    @property
    def deltas(self) -> dict[str, float | int]:
        """right minus left for every numeric statistic both sides have."""
        if self.left is None or self.right is None:
            return {}
        out: dict[str, float | int] = {}
        for k in ("count", "nulls", "distinct", "sum", "mean", "min", "max"):
            a, b = getattr(self.left, k), getattr(self.right, k)
            if isinstance(a, (int, float, decimal.Decimal)) and isinstance(b, (int, float, decimal.Decimal)):
                if not isinstance(a, bool) and not isinstance(b, bool):
                    if isinstance(a, decimal.Decimal) and isinstance(b, decimal.Decimal):
                        # exact, then shown as a number; PostgreSQL's NUMERIC also holds NaN and
                        # ±Infinity, whose Decimal difference raises (inf - inf): as floats, NaN or inf
                        finite = a.is_finite() and b.is_finite()
                        out[k] = float(b - a) if finite else float(b) - float(a)
                    elif isinstance(a, decimal.Decimal) or isinstance(b, decimal.Decimal):
                        # a DECIMAL column retyped to DOUBLE (or back): Decimal and float do not mix
                        out[k] = float(b) - float(a)
                    else:
                        out[k] = b - a
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "left_type": self.left_type,
            "right_type": self.right_type,
            "compared_as": self.compared_as,
            "tolerance": self.tolerance,
            "changed": self.changed,
            "match_rate": self.match_rate,
            "left": self.left.to_json() if self.left else None,
            "right": self.right.to_json() if self.right else None,
            "deltas": {k: jsonable(v) for k, v in self.deltas.items()},
        }


@dataclass(frozen=True, slots=True)
class KeyHealth:
    """Key problems on one side: rows whose key has a NULL part, and keys that occur more than once."""

    rows: int
    null_keys: int
    duplicate_keys: int
    duplicate_rows: int
    examples: tuple[Any, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "null_keys": self.null_keys,
            "duplicate_keys": self.duplicate_keys,
            "duplicate_rows": self.duplicate_rows,
            "examples": jsonable(list(self.examples)),
        }


@dataclass(frozen=True, slots=True)
class Distribution:
    """Value counts of a low-cardinality column on both sides; `shift` is the total variation distance
    between the two (0: same proportions, 1: no value in common)."""

    column: str
    left: tuple[tuple[Any, int], ...]
    right: tuple[tuple[Any, int], ...]

    @property
    def shift(self) -> float:
        lt, rt = sum(c for _, c in self.left) or 1, sum(c for _, c in self.right) or 1
        lm = {_dist_key(v): c / lt for v, c in self.left}
        rm = {_dist_key(v): c / rt for v, c in self.right}
        return 0.5 * sum(abs(lm.get(v, 0.0) - rm.get(v, 0.0)) for v in set(lm) | set(rm))

    def rows(self) -> list[dict[str, Any]]:
        lm, rm = {_dist_key(v): c for v, c in self.left}, {_dist_key(v): c for v, c in self.right}
        keys = sorted(set(lm) | set(rm), key=lambda v: (-(lm.get(v, 0) + rm.get(v, 0)), v))
        return [{"value": v, "left": lm.get(v, 0), "right": rm.get(v, 0)} for v in keys]

    def to_json(self) -> dict[str, Any]:
        return {"column": self.column, "shift": self.shift, "values": self.rows()}


def _dist_key(v: Any) -> str:
    """A value as a distribution's bucket: numbers by value, so that a column retyped DECIMAL(10,2) ->
    DECIMAL(12,3) or INTEGER -> DOUBLE (1.50 and 1.500, 1 and 1.0) keeps its buckets."""
    if v is None:
        return "NULL"
    if isinstance(v, (int, float, decimal.Decimal)) and not isinstance(v, bool):
        exact = decimal.Decimal(repr(v)) if isinstance(v, float) else decimal.Decimal(v)
        if exact.is_finite():
            return format(exact.normalize(), "f") if exact else "0"  # 1.50 -> 1.5, 1E+2 -> 100, -0.0 -> 0
    return str(jsonable(v))


@dataclass(frozen=True, slots=True)
class Example:
    """One example row: `removed` (left only), `added` (right only) or `changed` (both, side by side)."""

    kind: str
    key: Mapping[str, Any]
    left: Mapping[str, Any] | None
    right: Mapping[str, Any] | None
    changed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": jsonable(dict(self.key)),
            "left": jsonable(dict(self.left)) if self.left is not None else None,
            "right": jsonable(dict(self.right)) if self.right is not None else None,
            "changed": list(self.changed),
        }


@dataclass(frozen=True, slots=True)
class Transfer:
    """What a cross-database diff (app.canary.segments) cost: queries run and rows that crossed the
    network per side, as (left, right). `segment_rows` are checksum rows (one per segment and side),
    `rows` the data rows fetched from the segments that differ."""

    method: str
    queries: tuple[int, int]
    segment_rows: tuple[int, int]
    rows: tuple[int, int]
    levels: int
    segments_differing: int
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.segment_rows) + sum(self.rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "queries": list(self.queries),
            "segment_rows": list(self.segment_rows),
            "rows": list(self.rows),
            "total_rows": self.total_rows,
            "levels": self.levels,
            "segments_differing": self.segments_differing,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """Left (base) against right (head). With a key: added/removed/changed/unchanged rows by key; without
    one: `removed` and `added` are the rows only on the left / only on the right, as multisets."""

    left: str
    right: str
    key: tuple[str, ...]
    rows_left: int
    rows_right: int
    schema: tuple[SchemaChange, ...]
    columns: tuple[ColumnResult, ...]
    added: int
    removed: int
    changed: int | None
    unchanged: int | None
    left_keys: KeyHealth | None = None
    right_keys: KeyHealth | None = None
    distributions: tuple[Distribution, ...] = ()
    examples: tuple[Example, ...] = ()
    distinct_exact: bool = True
    notes: tuple[str, ...] = ()
    duplicates_unmatched: int = 0  # rows with a duplicated key that have no identical twin on the other side
    transfer: Transfer | None = None  # cross-database diffs only: what crossed the network

    @property
    def keyed(self) -> bool:
        return bool(self.key)

    @property
    def duplicate_keys(self) -> int:
        return sum(k.duplicate_keys for k in (self.left_keys, self.right_keys) if k is not None)

    @property
    def null_keys(self) -> int:
        return sum(k.null_keys for k in (self.left_keys, self.right_keys) if k is not None)

    @property
    def identical(self) -> bool:
        """Same columns and types, same rows (rows under a duplicated key compared as multisets)."""
        return (
            not self.schema
            and self.added == 0
            and self.removed == 0
            and not self.changed
            and self.duplicates_unmatched == 0
            and self.null_keys == 0
        )

    @property
    def differing_rows(self) -> int:
        """Rows added, removed or changed, plus rows under a duplicated key without an identical twin on
        the other side (compared as multisets): never 0 when duplicates make the tables differ."""
        return self.added + self.removed + (self.changed or 0) + self.duplicates_unmatched

    @property
    def changed_share(self) -> float:
        """Share of rows that differ, 0..1 (docs/canary.md, "Shares"). Keyed: differing_rows over the rows
        of both sides taken together: matched keys once (changed + unchanged), plus added, removed and
        unmatched duplicate rows, and never fewer than either side's row count. Keyless: rows only in
        base plus rows only in head over the rows of both sides, since a changed row is counted once on
        each side. Greater than 0 whenever rows differ."""
        if self.keyed:
            total = self.differing_rows + (self.unchanged or 0)
            total = max(total, self.rows_left, self.rows_right)
        else:
            total = self.rows_left + self.rows_right
        return min(1.0, self.differing_rows / max(total, 1))

    @property
    def row_count_change(self) -> float | None:
        """Relative change of the row count (right vs left); None when the left is empty."""
        if self.rows_left == 0:
            return None if self.rows_right == 0 else math.inf
        return (self.rows_right - self.rows_left) / self.rows_left

    @property
    def changed_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.changed)

    def to_json(self) -> dict[str, Any]:
        rcc = self.row_count_change
        return {
            "left": self.left,
            "right": self.right,
            "key": list(self.key),
            "identical": self.identical,
            "rows": {"left": self.rows_left, "right": self.rows_right},
            "row_count_change": None if rcc is None else jsonable(rcc),
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "changed_share": self.changed_share,
            "schema": [s.to_json() for s in self.schema],
            "keys": {
                "left": self.left_keys.to_json() if self.left_keys else None,
                "right": self.right_keys.to_json() if self.right_keys else None,
            },
            "columns": [c.to_json() for c in self.columns],
            "duplicates_unmatched": self.duplicates_unmatched,
            "distinct_exact": self.distinct_exact,
            "distributions": [d.to_json() for d in self.distributions],
            "examples": [e.to_json() for e in self.examples],
            "notes": list(self.notes),
        } | ({"transfer": self.transfer.to_json()} if self.transfer else {})
