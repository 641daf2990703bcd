"""The one-pass profile query of a table in its engine's dialect (DuckDB, PostgreSQL, Spark), built with
sqlglot, and its result row read back into a Profile. [pure]

Per column, in ONE scan of the table on every engine:

- nulls: COUNT(*) - COUNT(col), exact everywhere;
- distinct values: DuckDB and Spark APPROX_COUNT_DISTINCT (HyperLogLog, a few % of error;
  Spark's at its default 5%: asking for 1% made the profile several times slower), PostgreSQL
  COUNT(DISTINCT col) (exact: it has no HyperLogLog built in; text and numeric values counted by
  a 64-bit hash, app.sql.hashing.postgres_distinct_operand);
- numeric columns: AVG (as a double) and a quantile sketch at the 21 QUANTILES: DuckDB APPROX_QUANTILE
  (a t-digest), PostgreSQL PERCENTILE_CONT(ARRAY[...]) WITHIN GROUP (exact, interpolated), Spark
  PERCENTILE_APPROX (accuracy 10000: rank error under 1/10000 of the rows);
- categorical columns (text, boolean, enum): the frequencies of BUCKETS buckets of the value, exact.

The bucket of a value is the same function on every engine (bucket scheme SCHEME): the md5-48 number of
the value's text (app.sql.hashing, which the canary's key sampling uses too) modulo BUCKETS, the value's
text being CAST(value AS TEXT), which is the same string for text, booleans (`true`/`false` in all
three) and enum labels. So an environment that moves from DuckDB to PostgreSQL, or two profiles taken
on different engines, show no false distribution shift. Profiles stored before had scheme 1 (DuckDB's
HASH(), which exists nowhere else); the judges never compare buckets of different schemes.

The counts per bucket: DuckDB HISTOGRAM(bucket); PostgreSQL and Spark have no exact histogram
aggregate, so one COUNT(*) FILTER (WHERE bucket = k) per bucket, over a subquery that computes each
column's bucket once per row (benchmarks/health.py measures this against GROUPING SETS on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlglot
from sqlglot import exp

from app.slo.health import BUCKETS, QUANTILES, SCHEME, ColumnProfile, Profile
from app.slo.sli import DIALECT, table
from app.sql.hashing import md5_48_mod, postgres_distinct_operand

ACCURACY = 10_000  # Spark's percentile_approx accuracy (its default)


def kind(type_: str, dialect: str = DIALECT, enums: Collection[str] = ()) -> str:
    """numeric | categorical | other (temporal, nested: null rate and distinct count only), by sqlglot's
    type families of the type as `dialect`'s engine names it; `enums` are the names of user-defined
    enum types (PostgreSQL's, which a type name alone does not tell from other user types)."""
    if type_ in enums:
        return "categorical"
    try:
        dtype = exp.DataType.build(type_, dialect=dialect)
    except (sqlglot.errors.SqlglotError, ValueError):
        return "other"
    if dtype.is_type(*exp.DataType.NUMERIC_TYPES):
        return "numeric"
    if dtype.is_type(*exp.DataType.TEXT_TYPES, exp.DataType.Type.BOOLEAN, exp.DataType.Type.ENUM):
        return "categorical"
    return "other"


def bucket(value: exp.Expr, dialect: str = DIALECT) -> exp.Expr:
    """The bucket (0..BUCKETS-1) of a non-NULL value, NULL for NULL: md5-48(CAST(value AS TEXT)) % BUCKETS,
    identical on every engine."""
    text = exp.Cast(this=value.copy(), to=exp.DataType.build("TEXT"))
    number = md5_48_mod(text, BUCKETS, dialect)
    return exp.Case(
        ifs=[exp.If(this=exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())), true=number)]
    )


def python_bucket(value: Any) -> int | None:
    """The same bucket computed in Python, for a text or boolean value (booleans print as true/false)."""
    from app.sql.hashing import python_md5_48

    if value is None:
        return None
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return python_md5_48(text) % BUCKETS


def _fill(template: str, dialect: str, **values: exp.Expr) -> exp.Expr:
    return exp.replace_placeholders(sqlglot.parse_one(template, read=dialect), **values)


_DISTINCT = {
    "postgres": "COUNT(DISTINCT :c)",
}
_QUANTILES = {
    "duckdb": "APPROX_QUANTILE(CAST(:c AS DOUBLE), CAST(:p AS FLOAT[]))",
    "postgres": "PERCENTILE_CONT(CAST(:p AS DOUBLE PRECISION[])) WITHIN GROUP (ORDER BY CAST(:c AS DOUBLE PRECISION))",
    "spark": f"PERCENTILE_APPROX(CAST(:c AS DOUBLE), :p, {ACCURACY})",
}


# How one bucket is counted (benchmarks/health.py): COUNT(*) FILTER (WHERE b = k) on PostgreSQL, cheaper
# there than COUNT(CASE WHEN b = k THEN 1 END) (1M rows, 4 columns: 5.0 s against 5.3 s; GROUPING SETS
# over the buckets, 3.5 s, is cheaper for the buckets alone but cannot share the scan with the exact
# quantiles and distinct counts, which would then run once per grouping set); Spark runs the FILTER
# form 4x slower than the CASE form (2000 rows, local[2]: 6.7 s against 1.7 s).
FILTERED = {"postgres": True, "spark": False}


def _count_where(b: exp.Expr, k: int, dialect: str) -> exp.Expr:
    hit = exp.EQ(this=b, expression=exp.Literal.number(k))
    if FILTERED.get(dialect):
        return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=hit))
    return exp.Count(this=exp.Case(ifs=[exp.If(this=hit, true=exp.Literal.number(1))]))


def profile_query(
    relation: str, columns: Sequence[tuple[str, str]], dialect: str = DIALECT, enums: Collection[str] = ()
) -> str:
    """One SELECT over `relation` in `dialect` that profiles every column; aliases are positional
    (c0_nulls, ...). `columns` are (name, type) as the engine names the types (`enums`: see `kind`)."""
    points = exp.Array(expressions=[exp.Literal.number(q) for q in QUANTILES])
    selects: list[exp.Expr] = [exp.alias_(exp.Count(this=exp.Star()), "n")]
    buckets: list[exp.Expr] = []  # per categorical column, its bucket computed once per row (not DuckDB)
    for i, (name, type_) in enumerate(columns):
        col = exp.column(name, quoted=True)
        selects.append(exp.alias_(_fill("COUNT(*) - COUNT(:c)", dialect, c=col), f"c{i}_nulls"))
        k = kind(type_, dialect, enums)
        distinct = _DISTINCT.get(dialect, "APPROX_COUNT_DISTINCT(:c)")
        # a PostgreSQL json (or xml, point) has no equality, a Spark map cannot be hashed: their text can
        counted: exp.Expr = (
            col if k != "other" or dialect == "duckdb" else exp.Cast(this=col, to=exp.DataType.build("TEXT"))
        )
        if dialect == "postgres" and type_ not in enums:  # a bigint sort instead of a text one, same count
            counted = postgres_distinct_operand(type_, col) or counted
        selects.append(exp.alias_(_fill(distinct, dialect, c=counted), f"c{i}_distinct"))
        if k == "numeric":
            selects.append(exp.alias_(_fill("AVG(CAST(:c AS DOUBLE))", "duckdb", c=col), f"c{i}_mean"))
            quantiles = _fill(_QUANTILES.get(dialect, _QUANTILES["duckdb"]), dialect, c=col, p=points)
            selects.append(exp.alias_(quantiles, f"c{i}_q"))
        elif k == "categorical" and dialect == "duckdb":
            selects.append(exp.alias_(exp.Anonymous(this="HISTOGRAM", expressions=[bucket(col)]), f"c{i}_h"))
        elif k == "categorical":
            alias = f"__b{i}"
            buckets.append(exp.alias_(bucket(col, dialect), alias, quoted=True))
            counts = [_count_where(exp.column(alias, quoted=True), b, dialect) for b in range(BUCKETS)]
            selects.append(exp.alias_(exp.Array(expressions=counts), f"c{i}_h"))
    source: exp.Expr = table(relation)
    if buckets:
        inner = exp.select(exp.Star(), *buckets).from_(source)
        if dialect == "postgres":  # OFFSET 0 keeps the subquery: its md5s run once per row, not per bucket
            inner = inner.offset(0)
        source = inner.subquery("__t")
    return exp.select(*selects).from_(source).sql(dialect=dialect)


def _frequencies(hist: Any) -> dict[str, int]:
    """{bucket: count} of a HISTOGRAM map (DuckDB) or a list of counts by bucket (PostgreSQL, Spark)."""
    if isinstance(hist, Mapping):
        return {str(b): int(c) for b, c in hist.items() if b is not None}
    return {str(b): int(c) for b, c in enumerate(hist or ()) if c}


def read_profile(
    dataset: str,
    at: dt.datetime,
    columns: Sequence[tuple[str, str]],
    row: Mapping[str, Any],
    dialect: str = DIALECT,
    enums: Collection[str] = (),
) -> Profile:
    """The profile query's one row as a Profile."""
    cols = []
    for i, (name, type_) in enumerate(columns):
        k = kind(type_, dialect, enums)
        q = row.get(f"c{i}_q") or ()
        cols.append(
            ColumnProfile(
                name=name,
                type=type_,
                kind=k,
                nulls=int(row[f"c{i}_nulls"] or 0),
                distinct=int(row[f"c{i}_distinct"] or 0),
                mean=None if row.get(f"c{i}_mean") is None else float(row[f"c{i}_mean"]),
                quantiles=tuple(float(x) for x in q if x is not None),
                buckets=_frequencies(row.get(f"c{i}_h")),
                scheme=SCHEME,
            )
        )
    return Profile(dataset, at, int(row["n"]), tuple(cols))
