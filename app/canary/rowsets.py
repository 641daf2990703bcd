"""Queries over sets of rows, for the reconciliation's less common paths and its evidence: key checks
and duplicated keys, multiset differences (EXCEPT ALL), example rows read back by key. Text built like
`queries.py`, whose helpers they use. [pure]
"""

from __future__ import annotations

from collections.abc import Sequence

from app.canary import sqltext as t
from app.canary.queries import COUNT, KEY, in_flat_keys, in_keys, joined_key, key_expr, key_not_null
from app.canary.schema import DiffPlan, nested
from app.canary.sqltext import Sql, alias, cast, col, filtered, ident, is_null, lit, or_


def _duplicated(rel: Sql, plan: DiffPlan, *columns: Sql) -> Sql:
    k = joined_key(plan)
    where = key_not_null(plan.key)
    return f"{t.select([alias(k, KEY), *columns], rel, where)} GROUP BY {k} HAVING count(*) > 1"


def key_check(rel: Sql, plan: DiffPlan, examples: int) -> Sql:
    """One row: rows, rows with a NULL key part, duplicated keys, rows carrying them, example duplicated keys."""
    summary = t.select(
        [
            alias(COUNT, "dup_keys"),
            alias(f"coalesce(sum({col('n')}), 0)", "dup_rows"),
            alias(f"arg_min({col(KEY)}, {col(KEY)}, {lit(max(examples, 1))})", "dup_examples"),
        ],
        t.subquery(_duplicated(rel, plan, alias(COUNT, "n")), "d"),
    )
    totals = t.select(
        [
            alias(COUNT, "rows"),
            alias(filtered(COUNT, or_(*(is_null(col(c)) for c in plan.key))), "null_keys"),
        ],
        rel,
    )
    return f"SELECT * FROM {t.subquery(totals, 't')} CROSS JOIN {t.subquery(summary, 's')}"


def duplicate_keys(rel: Sql, plan: DiffPlan) -> Sql:
    """The `__k` structs of keys that occur more than once (for the exclusion table)."""
    return _duplicated(rel, plan)


def _rows(rel: Sql, plan: DiffPlan, where: Sql) -> Sql:
    """Each row of `rel` whole (as the struct `row`, through a relation alias no column is named) with
    its key struct as the join saw it."""
    names = {n for n, _ in (*plan.left_columns, *plan.right_columns)}
    whole = "__row"
    while whole in names:
        whole = f"_{whole}"
    return t.select(
        [alias(joined_key(plan), KEY), alias(ident(whole), "row")], f"{rel} AS {ident(whole)}", where
    )


def rows_by_key(rel: Sql, plan: DiffPlan, keys_from: Sql) -> Sql:
    """Full rows of `rel` whose key struct is among `keys_from` (a query yielding one `__k` column)."""
    return _rows(rel, plan, f"{joined_key(plan)} IN ({keys_from})")


def rows_by_values(rel: Sql, plan: DiffPlan, values: Sequence[int | str]) -> Sql:
    """Full rows of `rel` whose single key column is one of `values` (literals: a filter DuckDB pushes
    down into the scan when the key is not retyped)."""
    (name,) = plan.key
    return _rows(rel, plan, f"{key_expr(plan, name)} IN ({', '.join(lit(v) for v in values)})")


def unnest_keys(summary: Sql, column: str, field: str | None = None) -> Sql:
    """SELECT the key structs out of a list column of the stored summary row."""
    pick = col("x") if field is None else f"{col('x')}.{ident(field)}"
    return t.select([pick], t.subquery(t.select([alias(f"unnest({col(column)})", "x")], summary), "u"))


def except_all(
    left: Sql,
    right: Sql,
    plan: DiffPlan,
    only_keys: Sql | None = None,
    flat: bool = False,
    dialect: str = "duckdb",
) -> Sql:
    """Rows of `left` not matched in `right`, as multisets (EXCEPT ALL keeps duplicate counts); with
    `only_keys`, only rows whose key struct (`flat`: whose `k<j>` columns) is in that table (the
    duplicated keys of a keyed diff). Spark takes no map in a set operation ("Cannot have MAP type
    columns"): a value holding one is compared by its text (`sqltext.nested_text`)."""
    keys = [alias(key_expr(plan, k), k) for k in plan.key]
    cols = [*keys]
    for p in plan.columns:
        value = col(p.name)
        if p.compare == "text":
            value = cast(value, "VARCHAR")
        elif dialect == "spark" and "map<" in f"{p.left_type} {p.right_type}".lower():
            value = t.nested_text(value, dialect)
        cols.append(alias(value, p.name))
    where = None
    if only_keys is not None:
        where = in_flat_keys(plan, only_keys) if flat else in_keys(plan, only_keys)
    return f"{t.select(cols, left, where)} EXCEPT ALL {t.select(cols, right, where)}"


def _fresh(name: str, taken: set[str]) -> str:
    while name in taken:
        name = f"_{name}"
    return name


def multiset_names(plan: DiffPlan) -> tuple[str, str, str, str]:
    """Names of the side, left count, right count and row columns no compared column has."""
    taken = {p.name for p in plan.columns}
    side, n_left, n_right, row = (_fresh(n, taken) for n in ("__side", "__n_left", "__n_right", "__row"))
    return side, n_left, n_right, row


def multiset_groups(left: Sql, right: Sql, plan: DiffPlan) -> Sql:
    """Each distinct row (text-compared columns as text) whose count differs between the sides, with
    both counts (`multiset_names`)."""
    names = [p.name for p in plan.columns]
    side, n_left, n_right, _ = multiset_names(plan)
    compare = {p.name: p.compare for p in plan.columns}
    cols = [alias(cast(col(n), "VARCHAR") if compare[n] == "text" else col(n), n) for n in names]
    both = (
        f"{t.select([alias('0', side), *cols], left)} UNION ALL {t.select([alias('1', side), *cols], right)}"
    )
    grouped = ", ".join(col(n) for n in names)
    counts = [f"count(*) FILTER (WHERE {col(side)} = {i})" for i in (0, 1)]
    return (
        f"SELECT {grouped}, {alias(counts[0], n_left)}, {alias(counts[1], n_right)} FROM ({both}) "
        f"{ident('__both')} GROUP BY {grouped} HAVING {counts[0]} <> {counts[1]}"
    )


def multiset_difference(left: Sql, right: Sql, plan: DiffPlan, examples: int) -> Sql:
    """One statement for a keyless comparison: both sides' row counts, the rows only on the left
    (`removed`) and only on the right (`added`) as multisets, and up to `examples` of each (`ex_left`,
    `ex_right`: lists of row structs, in a stable order). Both sides' rows are grouped once, counted per
    side: one pass where two EXCEPT ALL would build a hash table each. Columns compared as text are
    grouped (and shown) by their text, as in `except_all`."""
    names = [p.name for p in plan.columns]
    n_left, n_right, row = multiset_names(plan)[1:]
    differ = multiset_groups(left, right, plan)
    grouped = ", ".join(col(n) for n in names)
    order = ", ".join(col(p.name) for p in plan.columns if not nested(p.left_type)) or "1"
    d = ident("__differ")

    def only(more: str, less: str) -> tuple[Sql, Sql]:
        total = (
            f"(SELECT coalesce(sum({col(more)} - {col(less)}), 0) FROM {d} WHERE {col(more)} > {col(less)})"
        )
        picked = f"SELECT {grouped} FROM {d} WHERE {col(more)} > {col(less)} ORDER BY {order} LIMIT {int(examples)}"
        return total, f"(SELECT list({ident(row)} ORDER BY {order}) FROM ({picked}) AS {ident(row)})"

    removed, ex_left = only(n_left, n_right)
    added, ex_right = only(n_right, n_left)
    out = [
        alias(f"(SELECT count(*) FROM {left})", "rows_left"),
        alias(f"(SELECT count(*) FROM {right})", "rows_right"),
        alias(removed, "removed"),
        alias(added, "added"),
    ]
    if examples:
        out += [alias(ex_left, "ex_left"), alias(ex_right, "ex_right")]
    return f"WITH {d} AS MATERIALIZED ({differ}) SELECT {', '.join(out)}"
