"""Reconcile two relations through a Database: runs the queries of `queries.py` in order and builds the
Reconciliation. No duckdb import here: the database is passed in (runner.Sandbox in practice).

Keyed: key check per side (NULL and duplicated keys) -> one-pass diff (duplicated keys left out and
reported) -> example rows by key -> distributions of low-cardinality columns.
Keyless: EXCEPT ALL both ways (multisets) -> per-side profiles -> distributions.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlglot import exp

from app.canary import queries as q
from app.canary import rowsets as sets
from app.canary.assemble import column_results, examples_from, freeze, key_health, multiset_examples
from app.canary.reconcile import Distribution, KeyHealth, Reconciliation
from app.canary.schema import DiffPlan, Tolerance, plan_diff

# Exact COUNT(DISTINCT) up to this many rows per side; HyperLogLog estimates above (the report says so).
EXACT_DISTINCT_ROWS = 200_000
# From this many keyed rows per side, uniqueness is proven by the join itself instead of a GROUP BY.
FAST_PATH_ROWS = 200_000
_names = itertools.count()


class Database(Protocol):
    """What reconciliation needs from a database connection."""

    def query(self, sql: str) -> list[dict[str, Any]]: ...

    def execute(self, sql: str) -> None: ...

    def columns(self, relation: exp.Table) -> list[tuple[str, str]]: ...


def reconcile(
    db: Database,
    left: exp.Table,
    right: exp.Table,
    *,
    key: Sequence[str] = (),
    tolerances: Mapping[str, Tolerance] | None = None,
    examples: int = 5,
    low_cardinality: int = 20,
    labels: tuple[str, str] = ("left", "right"),
    exact_distinct: bool | None = None,
    profiles: bool = True,
) -> Reconciliation:
    """Compare `left` (base) with `right` (head). Raises ValueError when a key column is missing.
    `profiles=False` skips the per-column statistics and distributions (the fastest keyed diff)."""
    plan = plan_diff(db.columns(left), db.columns(right), key, tolerances)
    if not plan.key:
        return _multiset(db, plan, left, right, examples, low_cardinality, labels, exact_distinct, profiles)
    if exact_distinct is None:
        counts = db.query(
            f"SELECT (SELECT count(*) FROM {q.sql(left)}) AS l, (SELECT count(*) FROM {q.sql(right)}) AS r"
        )
        exact_distinct = max(counts[0]["l"], counts[0]["r"]) <= EXACT_DISTINCT_ROWS
    ls = db.query(q.side_summary(plan, left, "l", False, exact_distinct))[0]
    rs = db.query(q.side_summary(plan, right, "r", False, exact_distinct))[0]
    n = next(_names)
    diffs, summary_t = q.table(f"__diffs_{n}"), q.table(f"__summary_{n}")
    notes: list[str] = []
    dup_unmatched, exclude = 0, None
    fast = _fast_path_safe(ls) and _fast_path_safe(rs)
    passed = (
        _join_proves_unique(db, plan, left, right, diffs, ls, rs, profiles, exact_distinct) if fast else None
    )
    side_profiles = (
        (passed, passed) if passed and profiles and not ls["null_keys"] and not rs["null_keys"] else None
    )
    if passed is not None:
        lk = KeyHealth(int(ls["rows"]), int(ls["null_keys"]), 0, 0)
        rk = KeyHealth(int(rs["rows"]), int(rs["null_keys"]), 0, 0)
    else:
        lk = key_health(db.query(sets.key_check(left, plan.key, examples))[0])
        rk = key_health(db.query(sets.key_check(right, plan.key, examples))[0])
        if lk.duplicate_keys or rk.duplicate_keys:
            exclude = q.table(f"__dups_{n}")
            db.execute(
                f"CREATE OR REPLACE TEMP TABLE {q.sql(exclude)} AS "
                f"{sets.duplicate_keys(left, plan.key)} UNION {sets.duplicate_keys(right, plan.key)}"
            )
            dup_unmatched = _unmatched(db, plan, left, right, exclude)
            notes.append(
                "rows with a duplicated key were left out of the keyed comparison; compared as multisets, "
                + (
                    f"{dup_unmatched:,} of them have no identical twin on the other side"
                    if dup_unmatched
                    else "they are the same on both sides"
                )
            )
        db.execute(
            f"CREATE OR REPLACE TEMP TABLE {q.sql(diffs)} AS {q.diff_rows(plan, left, right, exclude)}"
        )
    if lk.null_keys or rk.null_keys:
        notes.append("rows with a NULL in the key were left out of the keyed comparison")
    db.execute(f"CREATE OR REPLACE TEMP TABLE {q.sql(summary_t)} AS {q.diff_summary(plan, diffs, examples)}")
    summary = db.query(f"SELECT * FROM {q.sql(summary_t)}")[0]
    left_rows = _fetch(db, left, plan, summary_t, ("ex_removed", "ex_changed")) if examples else {}
    right_rows = _fetch(db, right, plan, summary_t, ("ex_added", "ex_changed")) if examples else {}
    # Rows that took part in the join: each key once per side, so matched = compared - removed.
    compared_left = (
        lk.rows - lk.null_keys - (_count_in(db, left, plan, exclude) if exclude is not None else 0)
    )
    for t in (diffs, summary_t, exclude):
        if t is not None:
            db.execute(f"DROP TABLE IF EXISTS {q.sql(t)}")
    matched = compared_left - int(summary["removed"])
    changed = int(summary["changed"])
    if profiles and side_profiles is None:
        side_profiles = _profiles(db, plan, left, right, exact_distinct)
    columns = column_results(plan, summary, side_profiles, (lk.rows, rk.rows), matched)
    return Reconciliation(
        left=labels[0],
        right=labels[1],
        key=plan.key,
        rows_left=lk.rows,
        rows_right=rk.rows,
        schema=plan.schema,
        columns=columns,
        added=int(summary["added"]),
        removed=int(summary["removed"]),
        changed=changed,
        unchanged=matched - changed,
        left_keys=lk,
        right_keys=rk,
        distributions=_distributions(db, plan, left, right, columns, low_cardinality) if profiles else (),
        examples=examples_from(summary, plan, left_rows, right_rows) if examples else (),
        distinct_exact=exact_distinct,
        notes=tuple(notes),
        duplicates_unmatched=dup_unmatched,
    )


def _fast_path_safe(side: Mapping[str, Any]) -> bool:
    """Large and (by estimate) nearly unique keys: the join may run before the exact duplicate check.
    Small inputs take the exact check first (it is cheap there), and so does a key whose estimated
    distinct count is well below its rows: joining such keys could multiply into billions of rows."""
    keyed = int(side["rows"]) - int(side["null_keys"])
    return keyed >= FAST_PATH_ROWS and int(side["approx_keys"] or 0) >= 0.9 * keyed


def _join_proves_unique(
    db: Database,
    plan: DiffPlan,
    left: exp.Table,
    right: exp.Table,
    diffs: exp.Table,
    ls: Mapping[str, Any],
    rs: Mapping[str, Any],
    profiles: bool,
    exact: bool,
) -> dict[str, Any] | None:
    """Run the join once, storing its differing rows in `diffs`. Returns the pass's row (counts and, with
    `profiles`, both sides' profiles) when it proves the keys unique: no side's rows were multiplied by
    the join and no one-sided key repeats among the differing rows; else None."""
    n = next(_names)
    pass_t = q.table(f"__pass_{n}")
    db.execute(
        f"CREATE OR REPLACE TEMP TABLE {q.sql(pass_t)} AS {q.diff_pass(plan, left, right, profiles, exact)}"
    )
    row = db.query(f"SELECT * EXCLUDE (diffs) FROM {q.sql(pass_t)}")[0]
    db.execute(f"CREATE OR REPLACE TEMP TABLE {q.sql(diffs)} AS {q.unnest_diffs(pass_t)}")
    db.execute(f"DROP TABLE IF EXISTS {q.sql(pass_t)}")
    if (
        row["joined_left"] != ls["rows"] - ls["null_keys"]
        or row["joined_right"] != rs["rows"] - rs["null_keys"]
    ):
        return None
    return None if db.query(sets.repeated_keys(diffs))[0]["n"] else row


def _unmatched(db: Database, plan: DiffPlan, left: exp.Table, right: exp.Table, exclude: exp.Table) -> int:
    """Rows under a duplicated key without an identical twin on the other side (multiset difference)."""
    row = db.query(
        f"SELECT (SELECT count(*) FROM ({sets.except_all(left, right, plan, exclude)})) AS l,"
        f" (SELECT count(*) FROM ({sets.except_all(right, left, plan, exclude)})) AS r"
    )[0]
    return int(row["l"]) + int(row["r"])


def _count_in(db: Database, rel: exp.Table, plan: DiffPlan, keys: exp.Table) -> int:
    """Rows of `rel` whose key is in the `keys` table (the duplicated keys left out of the join)."""
    inside = q.key_struct(plan.key).isin(query=exp.select(q.col(q.KEY)).from_(keys.copy()))
    return int(
        db.query(
            q.sql(exp.select(exp.alias_(q.count_star(), "n", quoted=True)).from_(rel.copy()).where(inside))
        )[0]["n"]
    )


def _profiles(
    db: Database, plan: DiffPlan, left: exp.Table, right: exp.Table, exact: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        db.query(q.side_summary(plan, left, "l", True, exact))[0],
        db.query(q.side_summary(plan, right, "r", True, exact))[0],
    )


def _fetch(
    db: Database, rel: exp.Table, plan: DiffPlan, summary: exp.Table, lists: tuple[str, str]
) -> dict[Any, dict[str, Any]]:
    """Full rows of the example keys, read back by key. A single integer or text key goes in as a literal
    IN list, which DuckDB pushes into the Parquet scan; other keys are matched with a semi-join."""
    keys = sets.unnest_keys(summary, lists[0]).union(sets.unnest_keys(summary, lists[1], "k"), distinct=True)
    if len(plan.key) == 1:
        (name,) = plan.key
        values = [next(iter(r.values())) for r in db.query(q.sql(keys))]
        values = [v[name] for v in values if v is not None]
        if not values:
            return {}
        if all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in values):
            rows = db.query(sets.rows_by_values(rel, name, values))
            return {freeze(r[q.KEY]): r["row"] for r in rows}
    rows = db.query(sets.rows_by_key(rel, plan.key, keys))
    return {freeze(r[q.KEY]): r["row"] for r in rows}


def _distributions(
    db: Database, plan: DiffPlan, left: exp.Table, right: exp.Table, columns: Sequence[Any], limit: int
) -> tuple[Distribution, ...]:
    low = [
        p
        for p, c in zip(plan.columns, columns, strict=True)
        if c.left is not None
        and c.right is not None
        and 0 < max(c.left.distinct or 0, c.right.distinct or 0) <= limit
    ]
    if not low:
        return ()
    lrow = db.query(sets.distributions(left, low, "l"))[0]
    rrow = db.query(sets.distributions(right, low, "r"))[0]
    out = []
    for p in low:
        lm, rm = lrow[p.name] or {}, rrow[p.name] or {}
        out.append(Distribution(p.name, tuple(lm.items()), tuple(rm.items())))
    return tuple(out)


def _multiset(
    db: Database,
    plan: DiffPlan,
    left: exp.Table,
    right: exp.Table,
    examples: int,
    low_cardinality: int,
    labels: tuple[str, str],
    exact_distinct: bool | None,
    profiles: bool,
) -> Reconciliation:
    n = next(_names)
    only_l, only_r = q.table(f"__only_left_{n}"), q.table(f"__only_right_{n}")
    if plan.columns:
        db.execute(f"CREATE OR REPLACE TEMP TABLE {q.sql(only_l)} AS {sets.except_all(left, right, plan)}")
        db.execute(f"CREATE OR REPLACE TEMP TABLE {q.sql(only_r)} AS {sets.except_all(right, left, plan)}")
    else:  # nothing in common: every row is on its own side only
        db.execute(f"CREATE OR REPLACE TEMP TABLE {q.sql(only_l)} AS SELECT * FROM {q.sql(left)}")
        db.execute(f"CREATE OR REPLACE TEMP TABLE {q.sql(only_r)} AS SELECT * FROM {q.sql(right)}")
    counts = db.query(
        f"SELECT (SELECT count(*) FROM {q.sql(only_l)}) AS removed, (SELECT count(*) FROM {q.sql(only_r)}) AS added"
    )[0]
    ex_l = db.query(f"SELECT * FROM {q.sql(only_l)} LIMIT {int(examples)}") if examples else []
    ex_r = db.query(f"SELECT * FROM {q.sql(only_r)} LIMIT {int(examples)}") if examples else []
    for t in (only_l, only_r):
        db.execute(f"DROP TABLE IF EXISTS {q.sql(t)}")
    rows_l = int(db.query(f"SELECT count(*) AS n FROM {q.sql(left)}")[0]["n"])
    rows_r = int(db.query(f"SELECT count(*) AS n FROM {q.sql(right)}")[0]["n"])
    exact = exact_distinct if exact_distinct is not None else max(rows_l, rows_r) <= EXACT_DISTINCT_ROWS
    side_profiles = _profiles(db, plan, left, right, exact) if profiles else None
    columns = column_results(plan, None, side_profiles, (rows_l, rows_r), None)
    notes: tuple[str, ...] = (
        "no key: rows compared as multisets (a changed row counts once as removed and once as added)",
    )
    if not plan.columns:
        notes += ("the two tables have no column in common",)
    return Reconciliation(
        left=labels[0],
        right=labels[1],
        key=(),
        rows_left=rows_l,
        rows_right=rows_r,
        schema=plan.schema,
        columns=columns,
        added=int(counts["added"]),
        removed=int(counts["removed"]),
        changed=None,
        unchanged=None,
        distributions=_distributions(db, plan, left, right, columns, low_cardinality) if profiles else (),
        examples=multiset_examples(ex_l, ex_r),
        distinct_exact=exact,
        notes=notes,
    )
