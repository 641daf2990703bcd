"""The one-pass profile query of a table, built with sqlglot in DuckDB's dialect (so the engines'
transpile applies), and its result row read back into a Profile. [pure]

Per column: COUNT (nulls), APPROX_COUNT_DISTINCT (HyperLogLog), and for numeric columns AVG and
APPROX_QUANTILE at 21 points (a t-digest), for categorical ones HISTOGRAM(HASH(col) % 64): bounded
whatever the column's cardinality, and a renamed or re-weighted category moves mass between buckets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlglot
from sqlglot import exp

from app.slo.health import BUCKETS, QUANTILES, ColumnProfile, Profile
from app.slo.sli import DIALECT, table


def kind(type_: str) -> str:
    """numeric | categorical | other (temporal, nested: null rate and distinct count only), by sqlglot's
    type families."""
    try:
        dtype = exp.DataType.build(type_, dialect=DIALECT)
    except sqlglot.errors.ParseError:
        return "other"
    if dtype.is_type(*exp.DataType.NUMERIC_TYPES):
        return "numeric"
    if dtype.is_type(*exp.DataType.TEXT_TYPES, exp.DataType.Type.BOOLEAN, exp.DataType.Type.ENUM):
        return "categorical"
    return "other"


def _fill(template: str, **values: exp.Expr) -> exp.Expr:
    return exp.replace_placeholders(sqlglot.parse_one(template, read=DIALECT), **values)


def profile_query(relation: str, columns: Sequence[tuple[str, str]]) -> str:
    """One SELECT over `relation` that profiles every column; aliases are positional (c0_nulls, ...)."""
    points = exp.Array(expressions=[exp.Literal.number(q) for q in QUANTILES])
    selects: list[exp.Expr] = [exp.alias_(exp.Count(this=exp.Star()), "n")]
    for i, (name, type_) in enumerate(columns):
        col = exp.column(name, quoted=True)
        selects.append(exp.alias_(_fill("COUNT(*) - COUNT(:c)", c=col), f"c{i}_nulls"))
        selects.append(exp.alias_(_fill("APPROX_COUNT_DISTINCT(:c)", c=col), f"c{i}_distinct"))
        k = kind(type_)
        if k == "numeric":
            selects.append(exp.alias_(_fill("AVG(CAST(:c AS DOUBLE))", c=col), f"c{i}_mean"))
            selects.append(
                exp.alias_(
                    _fill("APPROX_QUANTILE(CAST(:c AS DOUBLE), CAST(:p AS FLOAT[]))", c=col, p=points),
                    f"c{i}_q",
                )
            )
        elif k == "categorical":
            selects.append(
                exp.alias_(
                    _fill(
                        "HISTOGRAM(CASE WHEN :c IS NOT NULL THEN HASH(:c) % :b END)",
                        c=col,
                        b=exp.Literal.number(BUCKETS),
                    ),
                    f"c{i}_h",
                )
            )
    return exp.select(*selects).from_(table(relation)).sql(dialect=DIALECT)


def read_profile(
    dataset: str, at: dt.datetime, columns: Sequence[tuple[str, str]], row: Mapping[str, Any]
) -> Profile:
    """The profile query's one row as a Profile."""
    cols = []
    for i, (name, type_) in enumerate(columns):
        k = kind(type_)
        q = row.get(f"c{i}_q") or ()
        hist = row.get(f"c{i}_h") or {}
        cols.append(
            ColumnProfile(
                name=name,
                type=type_,
                kind=k,
                nulls=int(row[f"c{i}_nulls"] or 0),
                distinct=int(row[f"c{i}_distinct"] or 0),
                mean=None if row.get(f"c{i}_mean") is None else float(row[f"c{i}_mean"]),
                quantiles=tuple(float(x) for x in q if x is not None),
                buckets={str(b): int(c) for b, c in dict(hist).items() if b is not None},
            )
        )
    return Profile(dataset, at, int(row["n"]), tuple(cols))
