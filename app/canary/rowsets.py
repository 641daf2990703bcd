"""Queries over sets of rows, for the reconciliation's less common paths and its evidence: key checks
and duplicated keys, multiset differences (EXCEPT ALL), example rows read back by key, and value
distributions. Built with sqlglot expressions like `queries.py`, whose helpers they use. [pure]
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from app.canary.queries import (
    KEY,
    cast,
    col,
    count_star,
    filtered,
    fn,
    ident,
    key_not_null,
    key_struct,
    lit,
    sql,
)
from app.canary.schema import ColumnPlan, DiffPlan, nested


def key_check(rel: exp.Table, key: Sequence[str], examples: int) -> str:
    """One row: rows, rows with a NULL key part, duplicated keys, rows carrying them, example duplicated keys."""
    k = key_struct(key)
    any_null = exp.or_(*(exp.Is(this=col(c), expression=exp.Null()) for c in key))
    dups = (
        exp.select(exp.alias_(k, KEY, quoted=True), exp.alias_(count_star(), "n", quoted=True))
        .from_(rel.copy())
        .where(key_not_null(key))
        .group_by(k.copy())
        .having(exp.GT(this=count_star(), expression=lit(1)))
    )
    summary = exp.select(
        exp.alias_(count_star(), "dup_keys", quoted=True),
        exp.alias_(exp.Coalesce(this=exp.Sum(this=col("n")), expressions=[lit(0)]), "dup_rows", quoted=True),
        exp.alias_(
            exp.ArgMin(this=col(KEY), expression=col(KEY), count=lit(max(examples, 1))),
            "dup_examples",
            quoted=True,
        ),
    ).from_(dups.subquery("d"))
    totals = exp.select(
        exp.alias_(count_star(), "rows", quoted=True),
        exp.alias_(filtered(count_star(), any_null), "null_keys", quoted=True),
    ).from_(rel.copy())
    return sql(exp.select("*").from_(totals.subquery("t")).join(summary.subquery("s"), join_type="cross"))


def duplicate_keys(rel: exp.Table, key: Sequence[str]) -> str:
    """The `__k` structs of keys that occur more than once (for the exclusion table)."""
    k = key_struct(key)
    q = (
        exp.select(exp.alias_(k, KEY, quoted=True))
        .from_(rel.copy())
        .where(key_not_null(key))
        .group_by(k.copy())
        .having(exp.GT(this=count_star(), expression=lit(1)))
    )
    return sql(q)


def repeated_keys(diffs: exp.Table) -> str:
    """One row, `n`: keys that occur twice among the one-sided differing rows (duplicated keys the join
    could not fan out because the other side lacks them)."""
    one_side = exp.or_(
        exp.Is(this=col("lp"), expression=exp.Null()), exp.Is(this=col("rp"), expression=exp.Null())
    )
    dups = (
        exp.select(col(KEY), col("lp"))
        .from_(diffs.copy())
        .where(one_side)
        .group_by(col(KEY), col("lp"))
        .having(exp.GT(this=count_star(), expression=lit(1)))
    )
    return sql(exp.select(exp.alias_(count_star(), "n", quoted=True)).from_(dups.subquery("d")))


def _rows(rel: exp.Table, key: Sequence[str]) -> exp.Select:
    """SELECT each row of `rel` whole (as the struct `row`) with its key struct."""
    return exp.select(
        exp.alias_(key_struct(key), KEY, quoted=True),
        exp.alias_(exp.column("__row", quoted=True), "row", quoted=True),
    ).from_(exp.Table(this=rel.this.copy(), db=rel.args.get("db"), alias=exp.TableAlias(this=ident("__row"))))


def rows_by_key(rel: exp.Table, key: Sequence[str], keys_from: exp.Query) -> str:
    """Full rows of `rel` whose key struct is among `keys_from` (a query yielding one `__k` column)."""
    return sql(_rows(rel, key).where(key_struct(key).isin(query=keys_from)))


def rows_by_values(rel: exp.Table, column: str, values: Sequence[int | str]) -> str:
    """Full rows of `rel` whose single key column is one of `values` (literals: a filter DuckDB pushes
    down into the scan)."""
    return sql(_rows(rel, [column]).where(col(column).isin(*[lit(v) for v in values])))


def unnest_keys(summary: exp.Table, column: str, field: str | None = None) -> exp.Select:
    """SELECT the key structs out of a list column of the stored summary row."""
    item = exp.Unnest(expressions=[col(column)])
    q = exp.select(exp.alias_(item, "x", quoted=True)).from_(summary.copy())
    pick: exp.Expr = col("x")
    if field is not None:
        pick = exp.Dot(this=col("x"), expression=ident(field))
    return exp.select(pick).from_(q.subquery("u"))


def distributions(rel: exp.Table, columns: Sequence[ColumnPlan], side: str) -> str:
    """One row: a value -> count map per column (`histogram`), for the low-cardinality columns."""
    out = [exp.alias_(fn("histogram", _as_text(p, side)), p.name, quoted=True) for p in columns]
    return sql(exp.select(*out).from_(rel.copy()))


def _as_text(p: ColumnPlan, side: str) -> exp.Expr:
    # A retyped column's distributions are compared as text so that both sides' values line up. Nested
    # values (lists, structs, maps) are keyed by their text too: a histogram keyed by a list comes back
    # from DuckDB as {"key": [...], "value": [...]}, not as value -> count.
    if nested(p.left_type) or nested(p.right_type):
        return cast(col(p.name), "VARCHAR")
    if p.left_type == p.right_type:
        return col(p.name)
    return cast(col(p.name), "DOUBLE" if p.family == "number" else "VARCHAR")


def except_all(left: exp.Table, right: exp.Table, plan: DiffPlan, only_keys: exp.Table | None = None) -> str:
    """Rows of `left` not matched in `right`, as multisets (EXCEPT ALL keeps duplicate counts); with
    `only_keys`, only rows whose key struct is in that table (the duplicated keys of a keyed diff)."""
    names = [*plan.key, *(p.name for p in plan.columns)]
    compare = {p.name: p.compare for p in plan.columns}

    def side(rel: exp.Table) -> exp.Select:
        cols = [
            exp.alias_(cast(col(n), "VARCHAR") if compare.get(n) == "text" else col(n), n, quoted=True)
            for n in names
        ]
        s = exp.select(*cols).from_(rel.copy())
        if only_keys is not None:
            s = s.where(key_struct(plan.key).isin(query=exp.select(col(KEY)).from_(only_keys.copy())))
        return s

    return sql(exp.Except(this=side(left), expression=side(right), distinct=False))
