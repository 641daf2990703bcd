"""Reconciliation SQL for DuckDB, as text built by `sqltext` (every name quoted, every value a literal). [pure]

The keyed diff is one pass: a FULL OUTER JOIN on the key whose rows carry a per-column "differs" flag
(IS DISTINCT FROM, with numeric tolerance) and which keeps only the rows that differ; counts, per-column
changed counts and the keys of example rows are then read from that (usually small) result. Wide text
columns travel through the join as 64-bit hashes, which keeps the join's hash table small; example rows
are fetched afterwards by key. Column profiles are one plain aggregate scan per side. Output column
names are the `alias_*` functions below, shared with reconcile.py.

Relations are passed as SQL text naming a table or view (`sqltext.table(...)`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from app.canary import sqltext as t
from app.canary.keytype import common_key_type
from app.canary.schema import ColumnPlan, DiffPlan, Tolerance, exact_number, nested
from app.canary.sqltext import Sql, alias, and_, cast, col, filtered, ident, is_null, lit, or_, struct

KEY = "__k"  # the struct of key values on every joined row
COUNT = "count(*)"


def alias_changed(i: int) -> str:
    return f"c{i}_changed"


def alias_stat(side: str, i: int, stat: str) -> str:
    return f"{side}{i}_{stat}"


def as_side(row: Mapping[str, Any], side: str, other: str) -> dict[str, Any]:
    """A `side_summary` row of `side` keyed as `other`'s (its `alias_stat` names renamed)."""
    pattern = re.compile(rf"{re.escape(side)}(?=\d+_)")
    return {pattern.sub(other, name, count=1) if pattern.match(name) else name: v for name, v in row.items()}


def key_struct(key: Sequence[str]) -> Sql:
    return struct([(k, col(k)) for k in key])


def key_not_null(key: Sequence[str]) -> Sql:
    return and_(*(t.not_null(col(k)) for k in key))


def joined_key(plan: DiffPlan) -> Sql:
    """The key struct as the join sees it: parts of keys retyped between the sides cast to a type that
    holds both (`key_expr`), so both sides' keys and the stored `__k` structs compare."""
    return struct([(k, key_expr(plan, k)) for k in plan.key])


def in_keys(plan: DiffPlan, keys_table: Sql) -> Sql:
    """The row's key struct is among the `__k` structs of `keys_table`."""
    return f"{joined_key(plan)} IN (SELECT {col(KEY)} FROM {keys_table})"


# Up to this many rows a side, exact distinct counts and value distributions are taken from each column's
# values as a list (list_unique, list_aggregate): DuckDB's DISTINCT and histogram aggregates each set up a
# parallel hash table, ~10x the list's cost at 1,000 rows (the canary's sampled tables), even at 20,000,
# and cheaper from there on.
SMALL_ROWS = 10_000


# Buckets of the key's hash whose keyed rows the pre-pass counts (`top_bucket`: the fullest one's).
KEY_BUCKETS = 1024


def side_summary(
    plan: DiffPlan,
    rel: Sql,
    side: str,
    profiles: bool,
    exact: bool,
    small: bool = False,
    buckets: bool = False,
) -> Sql:
    """One plain scan of one side: rows, rows with a NULL key part, an estimate of distinct keys and, with
    `buckets`, the most keyed rows in one of KEY_BUCKETS buckets of the key's hash (both to keep a badly
    duplicated key away from the join), and the column profiles."""
    return t.select(_summary_columns(plan, side, profiles, exact, small, buckets), rel)


def _summary_columns(
    plan: DiffPlan, side: str, profiles: bool, exact: bool, small: bool, buckets: bool = False
) -> list[Sql]:
    out = [alias(COUNT, "rows")]
    if plan.key:
        # count(CASE), not count(*) FILTER: a FILTER among many aggregates is costly (see diff_pass)
        nulls = or_(*(is_null(col(c)) for c in plan.key))
        out.append(alias(f"count(CASE WHEN {nulls} THEN TRUE END)", "null_keys"))
        k = col(plan.key[0]) if len(plan.key) == 1 else key_struct(plan.key)
        out.append(alias(f"approx_count_distinct({k})", "approx_keys"))
        if buckets:
            bucket = f"CASE WHEN {nulls} THEN NULL ELSE hash({k}) % {KEY_BUCKETS} END"
            out.append(alias(f"list_max(map_values(histogram({bucket})))", "top_bucket"))
    if profiles:
        for i, p in enumerate(plan.columns):
            out += profile_columns(p, col(p.name), side, i, exact, small)
    return out


def sides(
    plan: DiffPlan,
    left: Sql,
    right: Sql,
    profiles: bool,
    exact: bool,
    small: bool = False,
    buckets: bool = False,
) -> Sql:
    """Both sides' `side_summary` in one statement: one row with the structs `l` and `r`."""
    return (
        f"SELECT {ident('l')}, {ident('r')} FROM "
        f"{t.subquery(side_summary(plan, left, 'l', profiles, exact, small, buckets), 'l')}"
        f" CROSS JOIN {t.subquery(side_summary(plan, right, 'r', profiles, exact, small, buckets), 'r')}"
    )


def sides_grouped(plan: DiffPlan, left: Sql, right: Sql, exact: bool, small: bool = False) -> Sql | None:
    """Both sides' profiled `side_summary` (named as side "l") in one scan of their union grouped by
    side, `__side` 0 (left) or 1 (right): half the aggregates `sides` has DuckDB bind, which is most of
    what profiling a sampled table costs (31 columns of 1,000 rows a side: 14 ms instead of 30). A side
    without rows has no group. None when a column is typed differently on the two sides (the union
    would cast it, and its profile would no longer be the side's own)."""
    left_types, right_types = dict(plan.left_columns), dict(plan.right_columns)
    names = list(dict.fromkeys([*plan.key, *(p.name for p in plan.columns)]))
    if not names or any(left_types.get(n) is None or left_types.get(n) != right_types.get(n) for n in names):
        return None
    cols = ", ".join(col(n) for n in names)
    side = ident("__side")
    both = f"(SELECT 0 AS {side}, {cols} FROM {left} UNION ALL SELECT 1 AS {side}, {cols} FROM {right})"
    summary = ", ".join(_summary_columns(plan, "l", True, exact, small))
    return f"SELECT {side}, {summary} FROM {both} AS {ident('__both')} GROUP BY {side}"


def _payload(p: ColumnPlan, dialect: str = "duckdb") -> Sql:
    """What travels through the join for one column: the value, or a NULL-preserving hash of it."""
    value = col(p.name)
    if p.compare == "native":
        return value
    if p.compare == "text" or nested(p.left_type):
        # nested values by their text: DuckDB hashes [] and [NULL] alike; a UNION's text drops which
        # member holds the value (1 as `i` and '1' as `s` both print 1), so its tag goes in too
        text = cast(value, "VARCHAR") if p.compare == "text" else t.nested_text(value, dialect)
        if dialect == "duckdb" and p.left_type.upper().startswith("UNION") and p.compare != "text":
            text = f"{cast(f'union_tag({value})', 'VARCHAR')} || ':' || {text}"
        value = text
    return f"CASE WHEN {is_null(value)} THEN NULL ELSE {t.hash64(value, dialect)} END"


def differs(p: ColumnPlan, left: Sql, right: Sql, dialect: str = "duckdb") -> Sql:
    """TRUE when the two values count as different under the column's comparison and tolerance."""
    distinct = f"{left} IS DISTINCT FROM {right}"
    tol = p.tolerance
    if tol is None:
        return distinct
    if tol.decimals is not None and tol.absolute is None and tol.relative is None:
        return f"{_round(left, tol, dialect)} IS DISTINCT FROM {_round(right, tol, dialect)}"
    kinds = (exact_number(p.left_type), exact_number(p.right_type))
    # a 38-digit decimal cannot be widened for the difference: DuckDB's TRY makes an overflowing one NULL
    # (not close: the values are further apart than the type can say); Spark's ANSI mode would raise, so
    # there such columns compare in DOUBLE; PostgreSQL's numeric does not overflow
    widest = max((int(d) for d in re.findall(r"\((\d+)", f"{p.left_type} {p.right_type}")), default=0)
    exact = None not in kinds and (widest < 38 or dialect != "spark")
    if exact:  # integers (widened so that they never overflow) and decimals subtract exactly
        a, b = (
            x if k == "decimal" else cast(x, "DECIMAL(38, 0)")
            for x, k in zip((left, right), kinds, strict=True)
        )
    else:
        a, b = cast(left, "DOUBLE"), cast(right, "DOUBLE")
    gap = f"try(abs({a} - {b}))" if exact and widest >= 38 and dialect == "duckdb" else f"abs({a} - {b})"
    close: list[Sql] = []
    if tol.absolute is not None:
        close.append(f"{gap} <= {lit(tol.absolute)}")
    if tol.relative is not None:
        # DuckDB's greatest(): a NULL side already makes `gap` NULL.
        close.append(f"{gap} <= {lit(tol.relative)} * greatest(abs({a}), abs({b}))")
    if tol.decimals is not None:
        close.append(f"{_round(left, tol, dialect)} = {_round(right, tol, dialect)}")
    # NaN and ±inf are never "close" to anything else (gap and scale go NaN/inf, and DuckDB orders NaN
    # highest, so `NaN <= NaN` holds); NaN vs NaN and inf vs inf of one sign are not distinct anyway.
    # integers are always finite, and DuckDB's and Spark's decimals too; PostgreSQL's numeric holds NaN
    # and ±Infinity, which `<=` would find close to anything (NaN <= NaN, inf <= 0.5 * inf)
    always_finite = exact and (dialect != "postgres" or "decimal" not in kinds)
    finite = [] if always_finite else [t.isfinite(a, dialect), t.isfinite(b, dialect)]
    within = f"coalesce({and_(*finite, or_(*close))}, FALSE)"
    # CASE, not AND: the closeness test runs only on the rows whose values differ at all
    return f"CASE WHEN {distinct} THEN NOT {within} ELSE FALSE END"


def _round(value: Sql, tol: Tolerance, dialect: str) -> Sql:
    assert tol.decimals is not None
    return t.round_to(value, tol.decimals, dialect)


def _side(
    rel: Sql, plan: DiffPlan, exclude: Sql | None, null_keys: bool = False, dialect: str = "duckdb"
) -> Sql:
    """One side's rows as the join reads them: keys (`k<j>`) and compared payloads (`c<i>`). Rows with a
    NULL key part are left out, or with `null_keys` kept: they never match (NULL = x is not true), and
    count in the profiles but not in the diff (`_join` tells a side's rows by their whole key)."""
    keys = [alias(key_expr(plan, k), f"k{j}") for j, k in enumerate(plan.key)]
    cols = [alias(_payload(p, dialect), f"c{i}") for i, p in enumerate(plan.columns)]
    where = [] if null_keys else [key_not_null(plan.key)]
    if exclude is not None:
        where.append(f"NOT {in_keys(plan, exclude) if dialect == 'duckdb' else in_flat_keys(plan, exclude)}")
    return t.select([*keys, *cols], rel, and_(*where) if where else None)


def in_flat_keys(plan: DiffPlan, keys_table: Sql) -> Sql:
    """The row's key is among the `k<j>` columns of `keys_table` (for engines without struct keys)."""
    x = ident("__x")
    on = and_(*(f"{col(f'k{j}', '__x')} = {key_expr(plan, k)}" for j, k in enumerate(plan.key)))
    return f"EXISTS (SELECT 1 FROM {keys_table} AS {x} WHERE {on})"


def key_expr(plan: DiffPlan, k: str) -> Sql:
    # Keys of different types still join: cast both to a type holding both (text as the last resort).
    common = common_key_type(dict(plan.left_columns)[k], dict(plan.right_columns)[k])
    return col(k) if common is None else cast(col(k), common)


def _join(
    plan: DiffPlan,
    left: Sql,
    right: Sql,
    exclude: Sql | None,
    extra: Sequence[Sql] = (),
    null_keys: bool = False,
    dialect: str = "duckdb",
) -> tuple[Sql, Sql]:
    """The one pass over both tables: FULL OUTER JOIN on the key with `lp`/`rp` presence and a `d<i>`
    flag per column, and the condition that keeps only the rows that differ (small when the tables
    mostly agree; every count follows from them). `exclude`: a table of `__k` structs left out;
    `extra`: more output columns of the join; `null_keys`: rows with a NULL key part pass through the
    join (for `extra` aggregates over every row) without being kept (see `_side`). Outside DuckDB the
    key comes out as plain `k<j>` columns, not as a struct."""
    parts = [f"coalesce({col(f'k{j}', 'l')}, {col(f'k{j}', 'r')})" for j in range(len(plan.key))]
    if dialect == "duckdb":
        keys = [alias(struct(list(zip(plan.key, parts, strict=True))), KEY)]
    else:
        keys = [alias(part, f"k{j}") for j, part in enumerate(parts)]
    flags = [differs(p, col(f"c{i}", "l"), col(f"c{i}", "r"), dialect) for i, p in enumerate(plan.columns)]
    inner = [
        *keys,
        alias(_present(plan, "l"), "lp"),
        alias(_present(plan, "r"), "rp"),
        *(alias(f, f"d{i}") for i, f in enumerate(flags)),
        *extra,
    ]
    on = and_(*(f"{col(f'k{j}', 'l')} = {col(f'k{j}', 'r')}" for j in range(len(plan.key))))
    joined = (
        f"SELECT {', '.join(inner)} FROM {t.subquery(_side(left, plan, exclude, null_keys, dialect), 'l')}"
        f" FULL OUTER JOIN {t.subquery(_side(right, plan, exclude, null_keys, dialect), 'r')} ON {on}"
    )
    # Each flag is computed once, in the join's projection; the filter reads the flags.
    keep = or_(is_null(col("lp")), is_null(col("rp")), *(col(f"d{i}") for i in range(len(flags))))
    if null_keys:  # a row with a NULL key part has neither `lp` nor `rp`
        keep = and_(or_(col("lp"), col("rp")), keep)
    return joined, keep


def _present(plan: DiffPlan, side: str) -> Sql:
    """TRUE on a joined row that carries a row of `side` with its whole key, else NULL. A side's key
    parts are never NULL on its own rows (or, with `null_keys`, the row is one that joins nothing), so no
    presence column has to travel through the join's hash table."""
    whole = and_(*(t.not_null(col(f"k{j}", side)) for j in range(len(plan.key))))
    return f"CASE WHEN {whole} THEN TRUE END"


def diff_rows(
    plan: DiffPlan, left: Sql, right: Sql, exclude: Sql | None = None, dialect: str = "duckdb"
) -> Sql:
    """The differing rows of the join (see `_join`), for a temporary table."""
    joined, keep = _join(plan, left, right, exclude, dialect=dialect)
    return t.select(["*"], t.subquery(joined, "j"), keep)


def diff_pass(
    plan: DiffPlan,
    left: Sql,
    right: Sql,
    profiles: bool = False,
    exact: bool = False,
    null_keys: bool = False,
) -> Sql:
    """The join as one aggregate: how many joined rows carry each side (more than the side's rows means a
    duplicated key fanned the join out), the list of differing rows (`diffs`, unnested afterwards) and,
    with `profiles`, both sides' column profiles from the same scan (valid once the keys are unique).
    `null_keys` (some rows have a NULL key part): those rows join nothing but are profiled too."""
    n = len(plan.columns)
    # The join already carries every compared value (text as NULL-preserving hashes: enough for count
    # and distinct), so the profiles cost a few aggregates instead of another scan per side.
    extra = [alias(col(f"c{i}", s), f"{s}{i}") for s in ("l", "r") for i in range(n)] if profiles else []
    joined, keep = _join(plan, left, right, None, extra, null_keys and profiles)
    row = struct(
        [(KEY, col(KEY)), ("lp", col("lp")), ("rp", col("rp")), *((f"d{i}", col(f"d{i}")) for i in range(n))]
    )
    # `lp`/`rp` are TRUE or NULL: count() of them is the FILTERed count(*), without a FILTER (which,
    # among this many aggregates, costs DuckDB ~10% of the pass at 10M rows).
    out = [
        alias(f"count({col('lp')})", "joined_left"),
        alias(f"count({col('rp')})", "joined_right"),
        alias(filtered(f"array_agg({row})", keep), "diffs"),
    ]
    if profiles:
        for s in ("l", "r"):
            for i, p in enumerate(plan.columns):
                out += profile_columns(p, col(f"{s}{i}"), s, i, exact)
    return t.select(out, t.subquery(joined, "j"))


def pass_summary(plan: DiffPlan, pass_table: Sql, examples: int) -> Sql:
    """One row from the stored `diff_pass`: its counts and profiles, the `diff_summary` of its differing
    rows, and `repeated`: keys that occur twice among the one-sided differing rows (duplicated keys the
    join could not fan out because the other side lacks them)."""
    rows = t.subquery(f"SELECT unnest({col('diffs')}, max_depth := 2) FROM {pass_table}", "j")
    one_side = or_(is_null(col("lp")), is_null(col("rp")))
    dups = f"{t.select([col(KEY), col('lp')], rows, one_side)} GROUP BY {col(KEY)}, {col('lp')} HAVING count(*) > 1"
    counts = f"SELECT * EXCLUDE ({ident('diffs')}) FROM {pass_table}"
    return (
        f"SELECT * FROM {t.subquery(counts, 'p')}"
        f" CROSS JOIN {t.subquery(diff_summary(plan, rows, examples), 's')}"
        f" CROSS JOIN {t.subquery(t.select([alias(COUNT, 'repeated')], t.subquery(dups, 'd')), 'x')}"
    )


# Which stored differing rows are of each kind.
DIFF_KINDS = {
    "removed": is_null(col("rp")),
    "added": is_null(col("lp")),
    "changed": and_(t.not_null(col("lp")), t.not_null(col("rp"))),
}


def summary_counts(plan: DiffPlan) -> list[Sql]:
    """removed, added, changed and `c<i>_changed` over the stored differing rows."""
    return [
        *(alias(filtered(COUNT, cond), kind) for kind, cond in DIFF_KINDS.items()),
        *(
            alias(filtered(COUNT, and_(DIFF_KINDS["changed"], col(f"d{i}"))), alias_changed(i))
            for i in range(len(plan.columns))
        ),
    ]


def diff_summary(plan: DiffPlan, diffs: Sql, examples: int) -> Sql:
    """One row over the stored differing rows: removed, added, changed, `c<i>_changed` per column and
    the keys of up to `examples` example rows of each kind (`ex_changed` items also carry the flags)."""
    n = lit(max(examples, 1))
    removed, added, both = DIFF_KINDS["removed"], DIFF_KINDS["added"], DIFF_KINDS["changed"]
    out = summary_counts(plan)
    flags = "[" + ", ".join(col(f"d{i}") for i in range(len(plan.columns))) + "]"
    for kind, cond, payload in (
        ("ex_removed", removed, col(KEY)),
        ("ex_added", added, col(KEY)),
        ("ex_changed", both, struct([("k", col(KEY)), ("d", flags)])),
    ):
        out.append(alias(filtered(f"arg_min({payload}, {col(KEY)}, {n})", cond), kind))
    return t.select(out, diffs)


def _distinct_operand(side_type: str, value: Sql, dialect: str) -> Sql:
    """What COUNT(DISTINCT) counts: the value, or on PostgreSQL a 64-bit hash of it that is equal exactly
    when the values are (`app.sql.hashing.postgres_distinct_operand`: a sort of bigints, not of text)."""
    if dialect != "postgres":
        return value
    import sqlglot

    from app.sql.hashing import postgres_distinct_operand

    hashed = postgres_distinct_operand(side_type, sqlglot.parse_one(value, read="duckdb"))
    return value if hashed is None else hashed.sql("duckdb")


def profile_columns(
    p: ColumnPlan, value: Sql, side: str, i: int, exact: bool, small: bool = False, dialect: str = "duckdb"
) -> list[Sql]:
    """count, distinct (and for numbers and temporals min/max, for numbers sum) of one column; the mean
    is sum / count (`assemble.side_stats`), which is what DuckDB's avg() of the same doubles returns.
    `small` (at most SMALL_ROWS rows a side): the exact distinct count from the column's values as a list."""
    if not exact:
        distinct = t.approx_distinct(value, dialect)
    elif small:
        distinct = f"coalesce(list_unique(list({value})), 0)"
    else:
        side_type = p.left_type if side == "l" else p.right_type
        distinct = f"count(DISTINCT {_distinct_operand(side_type, value, dialect)})"
    out = [
        alias(f"count({value})", alias_stat(side, i, "count")),
        alias(distinct, alias_stat(side, i, "distinct")),
    ]
    if p.orderable:
        out.append(alias(f"min({value})", alias_stat(side, i, "min")))
        out.append(alias(f"max({value})", alias_stat(side, i, "max")))
    if p.numeric:
        as_double = cast(value, "DOUBLE")
        out.append(alias(f"sum({as_double})", alias_stat(side, i, "sum")))
    return out
