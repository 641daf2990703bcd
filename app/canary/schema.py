"""Schema diff of two relations and the plan for comparing their common columns. [pure]

DuckDB type names come from DESCRIBE; PostgreSQL's (format_type) and Spark's (simpleString) fall into
the same families (`integer`, `double precision`, `numeric(12,2)`, `character varying(20)`, `timestamp
without time zone`, `int`, `string`, `decimal(12,2)`, `timestamp_ntz`, `array<int>`, `integer[]`).
Columns present on both sides are compared; a retyped column is
compared natively when both types are in the same family (numbers, temporals: DuckDB promotes), else
as text after a cast, and the plan says which it did so the report can tell the reader.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.contracts.physical import split_collation

_NUMBER = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|"
    r"REAL|DOUBLE PRECISION|DECIMAL(\(\d+,\s*\d+\))?|INT\d*|NUMERIC.*)$"
)
# numbers that subtract exactly: integers up to 64 bits (cast to DECIMAL(38, 0) they never overflow) and
# decimals. Tolerances on them are applied exactly, not in DOUBLE (53 bits: 9007199254740993 and ...992
# are one double, and 0.03 -> 0.04 is more than 0.01 apart in binary)
_EXACT_INTEGER = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|INT[248]?)$"
)
_EXACT_DECIMAL = re.compile(r"^(DECIMAL|NUMERIC)(\(\d+,\s*\d+\))?$")
_FLOAT = re.compile(r"^(FLOAT\d*|DOUBLE|DOUBLE PRECISION|REAL)$")
_TEMPORAL = re.compile(r"^(DATE|TIME|TIMESTAMP.*|TIME(\(\d\))? WITH(OUT)? TIME ZONE|INTERVAL.*)$")
_TEXT = re.compile(r"^(VARCHAR.*|TEXT|STRING|CHAR.*|BPCHAR|CITEXT|NAME|UUID|ENUM.*)$")

# Relative tolerance applied to floating-point columns when none is configured: parallel sums are not
# bit-for-bit reproducible, and a report full of 1e-16 "changes" hides the real ones.
DEFAULT_FLOAT_RELATIVE = 1e-9


def nested(duck_type: str) -> bool:
    """LIST, fixed-size ARRAY, STRUCT, MAP or UNION: compared by value, profiled as text."""
    t = duck_type.upper().strip()
    return t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION", "ARRAY<"))


def exact_number(duck_type: str) -> str | None:
    """`integer` or `decimal` for a type whose values subtract exactly, else None."""
    t = duck_type.strip().upper()
    if _EXACT_INTEGER.match(t):
        return "integer"
    return "decimal" if _EXACT_DECIMAL.match(t) else None


def family(duck_type: str) -> str:
    """`number`, `temporal`, `boolean`, `text` or `other` for a DuckDB type name (or another engine's:
    a collation, as Spark 4 names it in `string collate UTF8_LCASE`, leaves the family alone). A list,
    array, struct, map or union is `other` whatever it holds (`TIMESTAMP[]`, `numeric[]`)."""
    t = split_collation(duck_type.strip())[0].upper()
    if nested(t):
        return "other"
    if _NUMBER.match(t):
        return "number"
    if _TEMPORAL.match(t):
        return "temporal"
    if t == "BOOLEAN":
        return "boolean"
    if _TEXT.match(t):
        return "text"
    return "other"


@dataclass(frozen=True, slots=True)
class Tolerance:
    """When two numbers count as equal: within `absolute`, or within `relative` of the larger magnitude,
    or equal once rounded to `decimals`. A value and NULL always differ; NULL and NULL never do."""

    absolute: float | None = None
    relative: float | None = None
    decimals: int | None = None

    def describe(self) -> str:
        parts = []
        if self.absolute is not None:
            parts.append(f"abs {self.absolute:g}")
        if self.relative is not None:
            parts.append(f"rel {self.relative:g}")
        if self.decimals is not None:
            parts.append(f"{self.decimals} decimals")
        return ", ".join(parts)

    @property
    def empty(self) -> bool:
        return self.absolute is None and self.relative is None and self.decimals is None


@dataclass(frozen=True, slots=True)
class SchemaChange:
    column: str
    change: str  # added | removed | retyped
    left_type: str | None
    right_type: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "change": self.change,
            "left_type": self.left_type,
            "right_type": self.right_type,
        }


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """How one common column is compared: `native` (IS DISTINCT FROM on values, with tolerance for numbers),
    `hash` (64-bit hashes of the values: far cheaper to join for wide text), or `text` (both cast to VARCHAR)."""

    name: str
    left_type: str
    right_type: str
    compare: str
    tolerance: Tolerance | None = None

    @property
    def family(self) -> str:
        return family(self.left_type) if self.left_type == self.right_type else _common_family(self)

    @property
    def numeric(self) -> bool:
        return self.compare == "native" and self.family == "number"

    @property
    def orderable(self) -> bool:
        return self.compare == "native" and self.family in ("number", "temporal")


def _common_family(p: ColumnPlan) -> str:
    a, b = family(p.left_type), family(p.right_type)
    return a if a == b else "text"


@dataclass(frozen=True, slots=True)
class DiffPlan:
    """Everything the queries need: the key, the columns compared, and the schema changes."""

    key: tuple[str, ...]
    columns: tuple[ColumnPlan, ...]
    schema: tuple[SchemaChange, ...]
    left_columns: tuple[tuple[str, str], ...]
    right_columns: tuple[tuple[str, str], ...]
    # columns left out of the comparison (values that differ on every run: `now()`, invocation ids)
    excluded: tuple[str, ...] = ()


def plan_diff(
    left: Sequence[tuple[str, str]],
    right: Sequence[tuple[str, str]],
    key: Sequence[str],
    tolerances: Mapping[str, Tolerance] | None = None,
    exclude: Collection[str] = (),
) -> DiffPlan:
    """Compare two DESCRIBE results (name, type) and plan the comparison of the common non-key columns.
    Columns of `exclude` are not compared (nor part of a multiset row); schema changes still show them.

    Raises ValueError naming the key column that is missing on a side (callers turn it into their error).
    """
    tolerances = tolerances or {}
    ltypes, rtypes = dict(left), dict(right)
    for k in key:
        for side, types in (("left", ltypes), ("right", rtypes)):
            if k not in types:
                raise ValueError(f"key column {k!r} is not in the {side} table (columns: {', '.join(types)})")
    schema: list[SchemaChange] = []
    for name, t in left:
        if name not in rtypes:
            schema.append(SchemaChange(name, "removed", t, None))
        elif rtypes[name] != t:
            schema.append(SchemaChange(name, "retyped", t, rtypes[name]))
    schema += [SchemaChange(name, "added", None, t) for name, t in right if name not in ltypes]

    columns = []
    excluded = tuple(n for n, _ in left if n in rtypes and n in exclude and n not in key)
    for name, lt in left:
        if name in key or name not in rtypes or name in excluded:
            continue
        rt = rtypes[name]
        fa, fb = family(lt), family(rt)
        if fa == fb and fa in ("number", "temporal", "boolean"):
            compare = "native"
        elif lt == rt:
            compare = "hash"
        else:
            compare = "text"
        tol = tolerances.get(name)
        if tol is not None and tol.empty:
            tol = None
        if compare == "native" and fa == "number":
            # both sides floating point: an integer or decimal side has exact values to compare
            if tol is None and _FLOAT.match(lt.upper()) and _FLOAT.match(rt.upper()):
                tol = Tolerance(relative=DEFAULT_FLOAT_RELATIVE)
        else:
            tol = None  # tolerance only means something for numbers
        columns.append(ColumnPlan(name, lt, rt, compare, tol))
    return DiffPlan(tuple(key), tuple(columns), tuple(schema), tuple(left), tuple(right), excluded)
