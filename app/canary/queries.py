"""Reconciliation SQL for DuckDB, built with sqlglot expressions (every identifier quoted). [pure]

The keyed diff is one pass: a FULL OUTER JOIN on the key whose rows carry a per-column "differs" flag
(IS DISTINCT FROM, with numeric tolerance) and which keeps only the rows that differ; counts, per-column
changed counts and the keys of example rows are then read from that (usually small) result. Wide text
columns travel through the join as 64-bit hashes, which keeps the join's hash table small; example rows
are fetched afterwards by key. Column profiles are one plain aggregate scan per side. Output column
names are the `alias_*` functions below, shared with reconcile.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from app.canary.keytype import common_key_type
from app.canary.schema import ColumnPlan, DiffPlan

DIALECT = "duckdb"
KEY = "__k"  # the struct of key values on every joined row


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def table(name: str, schema: str | None = None) -> exp.Table:
    """A quoted table reference `"schema"."name"`."""
    return exp.Table(this=ident(name), db=ident(schema) if schema else None)


def col(name: str, tbl: str | None = None) -> exp.Column:
    return exp.column(name, tbl, quoted=True)


def fn(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def lit(value: int | float | str) -> exp.Expr:
    return exp.convert(value)


def filtered(agg: exp.Expr, cond: exp.Expr) -> exp.Expr:
    return exp.Filter(this=agg, expression=exp.Where(this=cond))


def count_star() -> exp.Expr:
    return exp.Count(this=exp.Star())


def struct(fields: Sequence[tuple[str, exp.Expr]]) -> exp.Expr:
    return exp.Struct(expressions=[exp.PropertyEQ(this=ident(n), expression=e) for n, e in fields])


def cast(e: exp.Expr, to: str) -> exp.Expr:
    return exp.Cast(this=e, to=exp.DataType.build(to, dialect=DIALECT))


def sql(e: exp.Expr) -> str:
    return e.sql(dialect=DIALECT)


def alias_changed(i: int) -> str:
    return f"c{i}_changed"


def alias_stat(side: str, i: int, stat: str) -> str:
    return f"{side}{i}_{stat}"


def key_struct(key: Sequence[str], tbl: str | None = None) -> exp.Expr:
    return struct([(k, col(k, tbl)) for k in key])


def key_not_null(key: Sequence[str]) -> exp.Expr:
    return exp.and_(*(exp.Not(this=exp.Is(this=col(k), expression=exp.Null())) for k in key))


def side_summary(plan: DiffPlan, rel: exp.Table, side: str, profiles: bool, exact: bool) -> str:
    """One plain scan of one side: rows, rows with a NULL key part, an estimate of distinct keys (to keep a
    badly duplicated key away from the join) and the column profiles."""
    out: list[exp.Expr] = [exp.alias_(count_star(), "rows", quoted=True)]
    if plan.key:
        any_null = exp.or_(*(exp.Is(this=col(c), expression=exp.Null()) for c in plan.key))
        out.append(exp.alias_(filtered(count_star(), any_null), "null_keys", quoted=True))
        k = col(plan.key[0]) if len(plan.key) == 1 else key_struct(plan.key)
        out.append(exp.alias_(fn("approx_count_distinct", k), "approx_keys", quoted=True))
    if profiles:
        for i, p in enumerate(plan.columns):
            out += profile_columns(p, col(p.name), side, i, exact)
    return sql(exp.select(*out).from_(rel.copy()))


def _payload(p: ColumnPlan, tbl: str | None = None) -> exp.Expr:
    """What travels through the join for one column: the value, or a NULL-preserving hash of it."""
    value: exp.Expr = col(p.name, tbl)
    if p.compare == "native":
        return value
    if p.compare == "text":
        value = cast(value, "VARCHAR")
    is_null = exp.Is(this=value.copy(), expression=exp.Null())
    return exp.If(this=is_null, true=exp.Null(), false=fn("hash", value))


def differs(p: ColumnPlan, left: exp.Expr, right: exp.Expr) -> exp.Expr:
    """TRUE when the two values count as different under the column's comparison and tolerance."""
    distinct = exp.NullSafeNEQ(this=left.copy(), expression=right.copy())
    tol = p.tolerance
    if tol is None:
        return distinct
    if tol.decimals is not None and tol.absolute is None and tol.relative is None:
        return exp.NullSafeNEQ(
            this=exp.Round(this=left.copy(), decimals=lit(tol.decimals)),
            expression=exp.Round(this=right.copy(), decimals=lit(tol.decimals)),
        )
    gap = exp.Abs(this=exp.Sub(this=cast(left.copy(), "DOUBLE"), expression=cast(right.copy(), "DOUBLE")))
    close: list[exp.Expr] = []
    if tol.absolute is not None:
        close.append(exp.LTE(this=gap.copy(), expression=lit(tol.absolute)))
    if tol.relative is not None:
        # DuckDB's own greatest(): a NULL side already makes `gap` NULL, and sqlglot's portable GREATEST
        # would wrap it in a CASE that costs a third of the pass.
        scale = fn(
            "greatest", exp.Abs(this=cast(left.copy(), "DOUBLE")), exp.Abs(this=cast(right.copy(), "DOUBLE"))
        )
        close.append(exp.LTE(this=gap.copy(), expression=exp.Mul(this=lit(tol.relative), expression=scale)))
    if tol.decimals is not None:
        close.append(
            exp.EQ(
                this=exp.Round(this=left.copy(), decimals=lit(tol.decimals)),
                expression=exp.Round(this=right.copy(), decimals=lit(tol.decimals)),
            )
        )
    # NaN and ±inf are never "close" to anything else (gap and scale go NaN/inf, and DuckDB orders NaN
    # highest, so `NaN <= NaN` holds); NaN vs NaN and inf vs inf of one sign are not distinct anyway.
    finite = [fn("isfinite", cast(side.copy(), "DOUBLE")) for side in (left, right)]
    within = exp.Coalesce(this=exp.and_(*finite, exp.paren(exp.or_(*close))), expressions=[exp.false()])
    return exp.and_(distinct, exp.Not(this=exp.paren(within)))


def _side(rel: exp.Table, plan: DiffPlan, exclude: exp.Table | None) -> exp.Select:
    keys = [exp.alias_(_key_expr(plan, k), f"k{j}", quoted=True) for j, k in enumerate(plan.key)]
    cols = [exp.alias_(_payload(p), f"c{i}", quoted=True) for i, p in enumerate(plan.columns)]
    q = (
        exp.select(*keys, *cols, exp.alias_(exp.true(), "__p", quoted=True))
        .from_(rel.copy())
        .where(key_not_null(plan.key))
    )
    if exclude is not None:
        in_dups = key_struct(plan.key).isin(query=exp.select(col(KEY)).from_(exclude.copy()))
        q = q.where(exp.Not(this=in_dups))
    return q


def _key_expr(plan: DiffPlan, k: str) -> exp.Expr:
    # Keys of different types still join: cast both to a type holding both (text as the last resort).
    common = common_key_type(dict(plan.left_columns)[k], dict(plan.right_columns)[k])
    return col(k) if common is None else cast(col(k), common)


def _join(
    plan: DiffPlan, left: exp.Table, right: exp.Table, exclude: exp.Table | None
) -> tuple[exp.Select, exp.Expr]:
    """The one pass over both tables: FULL OUTER JOIN on the key with `lp`/`rp` presence and a `d<i>`
    flag per column, and the condition that keeps only the rows that differ (small when the tables
    mostly agree; every count follows from them). `exclude`: a table of `__k` structs left out."""
    joined_key = struct(
        [
            (k, exp.Coalesce(this=col(f"k{j}", "l"), expressions=[col(f"k{j}", "r")]))
            for j, k in enumerate(plan.key)
        ]
    )
    flags = [differs(p, col(f"c{i}", "l"), col(f"c{i}", "r")) for i, p in enumerate(plan.columns)]
    inner: list[exp.Expr] = [
        exp.alias_(joined_key, KEY, quoted=True),
        exp.alias_(col("__p", "l"), "lp", quoted=True),
        exp.alias_(col("__p", "r"), "rp", quoted=True),
        *(exp.alias_(f, f"d{i}", quoted=True) for i, f in enumerate(flags)),
    ]
    on = exp.and_(
        *(exp.EQ(this=col(f"k{j}", "l"), expression=col(f"k{j}", "r")) for j in range(len(plan.key)))
    )
    joined = (
        exp.select(*inner)
        .from_(_side(left, plan, exclude).subquery("l", copy=False))
        .join(_side(right, plan, exclude).subquery("r", copy=False), on=on, join_type="full outer")
    )
    # Each flag is computed once, in the join's projection; the filter reads the flags.
    one_side = exp.or_(
        exp.Is(this=col("lp"), expression=exp.Null()), exp.Is(this=col("rp"), expression=exp.Null())
    )
    keep = exp.or_(one_side, *(col(f"d{i}") for i in range(len(flags)))) if flags else one_side
    return joined, keep


def diff_rows(plan: DiffPlan, left: exp.Table, right: exp.Table, exclude: exp.Table | None = None) -> str:
    """The differing rows of the join (see `_join`), for a temporary table."""
    joined, keep = _join(plan, left, right, exclude)
    return sql(exp.select(exp.Star()).from_(joined.subquery("j", copy=False)).where(keep))


def diff_pass(
    plan: DiffPlan, left: exp.Table, right: exp.Table, profiles: bool = False, exact: bool = False
) -> str:
    """The join as one aggregate: how many joined rows carry each side (more than the side's rows means a
    duplicated key fanned the join out), the list of differing rows (`diffs`, unnested afterwards) and,
    with `profiles`, both sides' column profiles from the same scan (valid once the keys are unique)."""
    joined, keep = _join(plan, left, right, None)
    row = struct(
        [
            (KEY, col(KEY)),
            ("lp", col("lp")),
            ("rp", col("rp")),
            *((f"d{i}", col(f"d{i}")) for i in range(len(plan.columns))),
        ]
    )
    out = [
        exp.alias_(filtered(count_star(), col("lp")), "joined_left", quoted=True),
        exp.alias_(filtered(count_star(), col("rp")), "joined_right", quoted=True),
        exp.alias_(filtered(exp.ArrayAgg(this=row), keep), "diffs", quoted=True),
    ]
    if profiles:
        # The join already carries every compared value (text as NULL-preserving hashes: enough for
        # count and distinct), so the profiles cost a few aggregates instead of another scan per side.
        joined = joined.select(
            *(
                exp.alias_(col(f"c{i}", s), f"{s}{i}", quoted=True)
                for s in ("l", "r")
                for i in range(len(plan.columns))
            )
        )
        for s in ("l", "r"):
            for i, p in enumerate(plan.columns):
                out += profile_columns(p, col(f"{s}{i}"), s, i, exact)
    return sql(exp.select(*out).from_(joined.subquery("j", copy=False)))


def unnest_diffs(pass_table: exp.Table) -> str:
    """The differing rows stored by `diff_pass`, one per row again (same columns as `diff_rows`)."""
    item = exp.Explode(
        this=col("diffs"),
        expressions=[exp.PropertyEQ(this=exp.to_identifier("max_depth"), expression=lit(2))],
    )
    return sql(exp.select(item).from_(pass_table.copy()))


def diff_summary(plan: DiffPlan, diffs: exp.Table, examples: int) -> str:
    """One row over the stored differing rows: removed, added, changed, `c<i>_changed` per column and
    the keys of up to `examples` example rows of each kind (`ex_changed` items also carry the flags)."""
    n = max(examples, 1)
    lp, rp = col("lp"), col("rp")
    both = exp.and_(
        exp.Not(this=exp.Is(this=lp.copy(), expression=exp.Null())),
        exp.Not(this=exp.Is(this=rp.copy(), expression=exp.Null())),
    )
    removed, added = (
        exp.Is(this=rp.copy(), expression=exp.Null()),
        exp.Is(this=lp.copy(), expression=exp.Null()),
    )
    out: list[exp.Expr] = [
        exp.alias_(filtered(count_star(), removed.copy()), "removed", quoted=True),
        exp.alias_(filtered(count_star(), added.copy()), "added", quoted=True),
        exp.alias_(filtered(count_star(), both.copy()), "changed", quoted=True),
    ]
    for i in range(len(plan.columns)):
        out.append(
            exp.alias_(
                filtered(count_star(), exp.and_(both.copy(), col(f"d{i}"))), alias_changed(i), quoted=True
            )
        )
    flags = exp.Array(expressions=[col(f"d{i}") for i in range(len(plan.columns))])
    for kind, cond, payload in (
        ("ex_removed", removed, col(KEY)),
        ("ex_added", added, col(KEY)),
        ("ex_changed", both, struct([("k", col(KEY)), ("d", flags)])),
    ):
        pick = exp.ArgMin(this=payload, expression=col(KEY), count=lit(n))
        out.append(exp.alias_(filtered(pick, cond.copy()), kind, quoted=True))
    return sql(exp.select(*out).from_(diffs.copy()))


def profile_columns(p: ColumnPlan, value: exp.Expr, side: str, i: int, exact: bool) -> list[exp.Expr]:
    """count, distinct (and for numbers and temporals min/max, for numbers sum/mean) of one column."""
    distinct = (
        exp.Count(this=exp.Distinct(expressions=[value.copy()]))
        if exact
        else fn("approx_count_distinct", value.copy())
    )
    out = [
        exp.alias_(exp.Count(this=value.copy()), alias_stat(side, i, "count"), quoted=True),
        exp.alias_(distinct, alias_stat(side, i, "distinct"), quoted=True),
    ]
    if p.orderable:
        out.append(exp.alias_(exp.Min(this=value.copy()), alias_stat(side, i, "min"), quoted=True))
        out.append(exp.alias_(exp.Max(this=value.copy()), alias_stat(side, i, "max"), quoted=True))
    if p.numeric:
        as_double = cast(value.copy(), "DOUBLE")
        out.append(exp.alias_(exp.Sum(this=as_double), alias_stat(side, i, "sum"), quoted=True))
        out.append(exp.alias_(exp.Avg(this=as_double.copy()), alias_stat(side, i, "mean"), quoted=True))
    return out
