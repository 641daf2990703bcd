"""Reconcile two relations through a Database: runs the queries of `queries.py` in order and builds the
Reconciliation. No duckdb import here: the database is passed in (runner.Sandbox in practice).

Keyed, large inputs with (by estimate) unique keys: both sides' row and key counts and their fullest
bucket of key hashes (one statement) ->
the one-pass join with profiles (rows with a NULL key part ride through it unjoined, so that they are
profiled too), stored -> its summary, which also proves the keys unique -> example rows
and distributions (one statement). Small inputs, or a pass that finds a duplicated key: the exact key
check per side first (duplicated keys left out and reported), then the join.
Keyless: one grouped pass counting each distinct row per side (multisets: rows only on one side, both
row counts, sorted examples) -> per-side profiles (one side's when both hold the same rows) ->
distributions.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from app.canary import queries as q
from app.canary import rowsets as sets
from app.canary.assemble import column_results, examples_from, key_health, multiset_examples
from app.canary.evidence import Evidence, evidence_sql, read_evidence
from app.canary.reconcile import ColumnResult, Distribution, KeyHealth, Reconciliation
from app.canary.schema import ColumnPlan, DiffPlan, Tolerance, plan_diff
from app.canary.sqltext import Sql, col, table

# Exact COUNT(DISTINCT) up to this many rows per side; HyperLogLog estimates above (the report says so).
EXACT_DISTINCT_ROWS = 200_000
# From this many keyed rows per side, uniqueness is proven by the join itself instead of a GROUP BY.
FAST_PATH_ROWS = 200_000
_names = itertools.count()


class Database(Protocol):
    """What reconciliation needs from a database connection."""

    def query(self, sql: str) -> list[dict[str, Any]]: ...

    def execute(self, sql: str) -> None: ...

    def columns(self, relation: Sql) -> list[tuple[str, str]]: ...


def reconcile(
    db: Database,
    left: Sql,
    right: Sql,
    *,
    key: Sequence[str] = (),
    tolerances: Mapping[str, Tolerance] | None = None,
    examples: int = 5,
    low_cardinality: int = 20,
    labels: tuple[str, str] = ("left", "right"),
    exact_distinct: bool | None = None,
    profiles: bool = True,
    skip_columns: Sequence[str] = (),
    schemas: tuple[Sequence[tuple[str, str]], Sequence[tuple[str, str]]] | None = None,
) -> Reconciliation:
    """Compare `left` (base) with `right` (head), each SQL text naming a table or view (`sqltext.table`).
    Raises ValueError when a key column is missing.
    `profiles=False` skips the per-column statistics and distributions (the fastest keyed diff).
    Columns of `skip_columns` are not compared (volatile values: see app.sql.volatile).
    `schemas`: both sides' (name, type) columns as `db.columns` gives them, when the caller has them.
    `db` may be an engine of app.engines (PostgreSQL, Spark): the diff then runs there, in place
    (`inplace.reconcile_on`), with `left`/`right` named in DuckDB quoting all the same."""
    if getattr(db, "dialect", "duckdb") != "duckdb":
        from app.canary.inplace import reconcile_on

        return reconcile_on(
            db,
            left,
            right,
            key=key,
            tolerances=tolerances,
            examples=examples,
            low_cardinality=low_cardinality,
            labels=labels,
            exact_distinct=exact_distinct,
            profiles=profiles,
            skip_columns=skip_columns,
        )
    left_cols, right_cols = schemas or (db.columns(left), db.columns(right))
    plan = plan_diff(left_cols, right_cols, key, tolerances, skip_columns)
    made: list[Sql] = []  # `_bytewise` views, dropped however the diff ends
    try:
        left = _bytewise(db, left, plan.left_columns, made)
        right = _bytewise(db, right, plan.right_columns, made)
        if not plan.key:
            return _multiset(
                db, plan, left, right, examples, low_cardinality, labels, exact_distinct, profiles
            )
        sides = db.query(q.sides(plan, left, right, False, False, buckets=True))[0]
        ls, rs = sides["l"], sides["r"]
        if exact_distinct is None:
            exact_distinct = max(ls["rows"], rs["rows"]) <= EXACT_DISTINCT_ROWS
        n = next(_names)
        summary_t = table(f"__summary_{n}")
        temps = [summary_t]
        notes: list[str] = []
        dup_unmatched, exclude = 0, None
        summary = None
        if _fast_path_safe(ls) and _fast_path_safe(rs):
            summary = _one_pass(db, plan, left, right, summary_t, ls, rs, profiles, exact_distinct, examples)
        if summary is not None:
            lk = KeyHealth(int(ls["rows"]), int(ls["null_keys"]), 0, 0)
            rk = KeyHealth(int(rs["rows"]), int(rs["null_keys"]), 0, 0)
            side_profiles = (summary, summary) if profiles else None
        else:  # keys checked first, joined after
            side_profiles = None
            lk = key_health(db.query(sets.key_check(left, plan, examples))[0])
            rk = key_health(db.query(sets.key_check(right, plan, examples))[0])
            if lk.duplicate_keys or rk.duplicate_keys:
                exclude = table(f"__dups_{n}")
                temps.append(exclude)
                db.execute(
                    f"CREATE OR REPLACE TEMP TABLE {exclude} AS "
                    f"{sets.duplicate_keys(left, plan)} UNION {sets.duplicate_keys(right, plan)}"
                )
                dup_unmatched = _unmatched(db, plan, left, right, exclude)
                notes.append(duplicates_note(dup_unmatched))
            diffs = table(f"__diffs_{n}")
            temps.append(diffs)
            db.execute(f"CREATE OR REPLACE TEMP TABLE {diffs} AS {q.diff_rows(plan, left, right, exclude)}")
            db.execute(f"CREATE OR REPLACE TEMP TABLE {summary_t} AS {q.diff_summary(plan, diffs, examples)}")
            summary = db.query(f"SELECT * FROM {summary_t}")[0]
        if lk.null_keys or rk.null_keys:
            notes.append("rows with a NULL in the key were left out of the keyed comparison")
        # Rows that took part in the join: each key once per side, so matched = compared - removed.
        compared_left = (
            lk.rows - lk.null_keys - (_count_in(db, left, plan, exclude) if exclude is not None else 0)
        )
        matched = compared_left - int(summary["removed"])
        if profiles and side_profiles is None:
            side_profiles = _profiles(db, plan, left, right, exact_distinct, (lk.rows, rk.rows))
        columns = column_results(plan, summary, side_profiles, (lk.rows, rk.rows), matched)
        low = _low_cardinality(plan, columns, low_cardinality) if profiles else []
        found = _evidence(
            db, plan, (left, right), low, summary if examples else None, summary_t, (lk.rows, rk.rows)
        )
        for temp in temps:
            db.execute(f"DROP TABLE IF EXISTS {temp}")
        return keyed_result(
            labels, plan, (lk, rk), columns, summary, matched, (low, found), examples, exact_distinct, notes,
            dup_unmatched,
        )  # fmt: skip
    finally:
        for view in made:
            with contextlib.suppress(Exception):  # an aborted transaction: the first error is the one
                db.execute(f"DROP VIEW IF EXISTS {view}")


def _bytewise(db: Database, rel: Sql, columns: Sequence[tuple[str, str]], made: list[Sql]) -> Sql:
    """`rel`, or a temporary view of it whose VARCHAR columns are read `COLLATE C`: compared, grouped
    and counted by their bytes, as every other engine here does. A DuckDB column under a collation
    (`COLLATE NOCASE` in a table's DDL: `=`, GROUP BY, hash() and count(DISTINCT) take 'paid' and
    'Paid' for one value, HyperLogLog does not) is then one whose case change is a changed value; on
    any other column `COLLATE C` changes nothing (filters are still pushed into a Parquet scan).
    DuckDB's catalog does not tell a column's collation, and finding it by a query that fails would
    abort the caller's transaction (a backfill reconciles inside one): every VARCHAR column is read so."""
    text = [n for n, ty in columns if ty.strip().upper() == "VARCHAR"]
    if not text:
        return rel
    view = table(f"__dc_bytes_{os.getpid()}_{next(_names)}")
    replaced = ", ".join(f"{col(n)} COLLATE C AS {col(n)}" for n in text)
    db.execute(f"CREATE TEMP VIEW {view} AS SELECT * REPLACE ({replaced}) FROM {rel}")
    made.append(view)
    return view


def keyed_result(
    labels: tuple[str, str],
    plan: DiffPlan,
    keys: tuple[KeyHealth, KeyHealth],
    columns: tuple[ColumnResult, ...],
    summary: Mapping[str, Any],
    matched: int,
    evidence: tuple[Sequence[ColumnPlan], Evidence],
    examples: int,
    exact: bool,
    notes: Sequence[str],
    dup_unmatched: int,
) -> Reconciliation:
    """The keyed Reconciliation from the rows its queries returned (DuckDB's path and `inplace`'s)."""
    lk, rk = keys
    low, found = evidence
    changed = int(summary["changed"])
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
        distributions=_distributions(low, found),
        examples=examples_from(summary, plan, found.left_rows, found.right_rows) if examples else (),
        distinct_exact=exact,
        notes=tuple(notes),
        duplicates_unmatched=dup_unmatched,
    )


def duplicates_note(unmatched: int) -> str:
    return "rows with a duplicated key were left out of the keyed comparison; compared as multisets, " + (
        f"{unmatched:,} of them {'has' if unmatched == 1 else 'have'} no identical twin on the other side"
        if unmatched
        else "they are the same on both sides"
    )


def _fast_path_safe(side: Mapping[str, Any]) -> bool:
    """Large and (by estimate) nearly unique keys: the join may run before the exact duplicate check.
    Small inputs take the exact check first (it is cheap there), and so does a key whose estimated
    distinct count is well below its rows, or one key on many rows: joining such keys with themselves
    could multiply into billions of rows (one key on 5% of 400,000 rows a side: 400 million joined rows,
    90 s, where the exact check takes a second). The HyperLogLog estimate cannot see that key (its error
    is larger than the key's share); the buckets can: with unique keys each bucket's count is binomial
    around keyed / KEY_BUCKETS, and a key on a few hundred rows lifts its bucket 8 standard deviations
    over that (at 10 million rows: a key on 800 rows)."""
    keyed = int(side["rows"]) - int(side["null_keys"])
    if keyed < FAST_PATH_ROWS or int(side["approx_keys"] or 0) < 0.9 * keyed:
        return False
    mean = keyed / q.KEY_BUCKETS
    return int(side.get("top_bucket") or 0) <= mean + 8 * math.sqrt(mean) + 8


def _one_pass(
    db: Database,
    plan: DiffPlan,
    left: Sql,
    right: Sql,
    summary_t: Sql,
    ls: Mapping[str, Any],
    rs: Mapping[str, Any],
    profiles: bool,
    exact: bool,
    examples: int,
) -> dict[str, Any] | None:
    """Run the join once and store the summary of its differing rows in `summary_t`. Returns the summary
    row (with the pass's counts and, with `profiles`, both sides' profiles) when the join proves the keys
    unique: no side's rows were multiplied by the join and no one-sided key repeats among the differing
    rows; else None (and `summary_t` is left empty)."""
    pass_t = table(f"__pass_{next(_names)}")
    null_keys = bool(ls["null_keys"] or rs["null_keys"])  # profiled in the pass too, not by another scan
    try:
        db.execute(
            f"CREATE OR REPLACE TEMP TABLE {pass_t} AS "
            f"{q.diff_pass(plan, left, right, profiles, exact, null_keys)}"
        )
        db.execute(f"CREATE OR REPLACE TEMP TABLE {summary_t} AS {q.pass_summary(plan, pass_t, examples)}")
    finally:
        db.execute(f"DROP TABLE IF EXISTS {pass_t}")
    row = db.query(f"SELECT * FROM {summary_t}")[0]
    if (
        row["joined_left"] != ls["rows"] - ls["null_keys"]
        or row["joined_right"] != rs["rows"] - rs["null_keys"]
        or row["repeated"]
    ):
        db.execute(f"DROP TABLE IF EXISTS {summary_t}")
        return None
    return row


def _unmatched(db: Database, plan: DiffPlan, left: Sql, right: Sql, exclude: Sql) -> int:
    """Rows under a duplicated key without an identical twin on the other side (multiset difference)."""
    row = db.query(
        f"SELECT (SELECT count(*) FROM ({sets.except_all(left, right, plan, exclude)})) AS l,"
        f" (SELECT count(*) FROM ({sets.except_all(right, left, plan, exclude)})) AS r"
    )[0]
    return int(row["l"]) + int(row["r"])


def _count_in(db: Database, rel: Sql, plan: DiffPlan, keys: Sql) -> int:
    """Rows of `rel` whose key is in the `keys` table (the duplicated keys left out of the join)."""
    return int(db.query(f"SELECT count(*) AS n FROM {rel} WHERE {q.in_keys(plan, keys)}")[0]["n"])


def _profiles(
    db: Database,
    plan: DiffPlan,
    left: Sql,
    right: Sql,
    exact: bool,
    rows: tuple[int, int],
    same: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both sides' column profiles; `same` (the two sides hold the same rows, typed alike): one side's,
    read once."""
    small = max(rows) <= q.SMALL_ROWS
    if same and all(p.left_type == p.right_type for p in plan.columns):
        one = db.query(q.side_summary(plan, left, "l", True, exact, small))[0]
        return one, q.as_side(one, "l", "r")
    # small tables (the canary's samples) only: there binding the aggregates is most of the cost; a
    # large table's sides each take an ungrouped scan of their own, in parallel
    grouped = q.sides_grouped(plan, left, right, exact, small) if small and min(rows) > 0 else None
    if grouped is not None:
        found = {int(r.pop("__side")): r for r in db.query(grouped)}
        if len(found) == 2:
            return found[0], q.as_side(found[1], "l", "r")
    row = db.query(q.sides(plan, left, right, True, exact, small))[0]
    return row["l"], row["r"]


def _low_cardinality(plan: DiffPlan, columns: Sequence[ColumnResult], limit: int) -> list[ColumnPlan]:
    """The columns whose distinct count (either side) is at most `limit`: their distributions are shown."""
    return [
        p
        for p, c in zip(plan.columns, columns, strict=True)
        if c.left is not None
        and c.right is not None
        and 0 < max(c.left.distinct or 0, c.right.distinct or 0) <= limit
    ]


def _evidence(
    db: Database,
    plan: DiffPlan,
    sides: tuple[Sql, Sql],
    low: Sequence[ColumnPlan],
    summary: Mapping[str, Any] | None = None,
    summary_t: Sql | None = None,
    rows: tuple[int, int] | None = None,
) -> Evidence:
    small = rows is not None and max(rows) <= q.SMALL_ROWS
    sql = evidence_sql(plan, sides, low, summary, summary_t, small)
    return read_evidence(db.query(sql)[0] if sql is not None else None)


def _distributions(low: Sequence[ColumnPlan], found: Evidence) -> tuple[Distribution, ...]:
    return tuple(
        Distribution(
            p.name,
            tuple((found.left_values.get(p.name) or {}).items()),
            tuple((found.right_values.get(p.name) or {}).items()),
        )
        for p in low
    )


def _multiset(
    db: Database,
    plan: DiffPlan,
    left: Sql,
    right: Sql,
    examples: int,
    low_cardinality: int,
    labels: tuple[str, str],
    exact_distinct: bool | None,
    profiles: bool,
) -> Reconciliation:
    if plan.columns:
        found = db.query(sets.multiset_difference(left, right, plan, examples))[0]
        rows_l, rows_r = int(found["rows_left"]), int(found["rows_right"])
        removed, added = int(found["removed"]), int(found["added"])
        ex_l, ex_r = found.get("ex_left") or [], found.get("ex_right") or []
    else:  # nothing in common: every row is on its own side only
        rows_l = int(db.query(f"SELECT count(*) AS n FROM {left}")[0]["n"])
        rows_r = int(db.query(f"SELECT count(*) AS n FROM {right}")[0]["n"])
        removed, added = rows_l, rows_r
        ex_l = db.query(f"SELECT * FROM {left} LIMIT {int(examples)}") if examples else []
        ex_r = db.query(f"SELECT * FROM {right} LIMIT {int(examples)}") if examples else []
    exact = exact_distinct if exact_distinct is not None else max(rows_l, rows_r) <= EXACT_DISTINCT_ROWS
    same = not removed and not added and bool(plan.columns)
    side_profiles = _profiles(db, plan, left, right, exact, (rows_l, rows_r), same) if profiles else None
    columns = column_results(plan, None, side_profiles, (rows_l, rows_r), None)
    low = _low_cardinality(plan, columns, low_cardinality) if profiles else []
    evidence = _evidence(db, plan, (left, right), low, rows=(rows_l, rows_r))
    return multiset_result(
        labels, plan, (rows_l, rows_r), (removed, added), columns, (low, evidence), (ex_l, ex_r), exact
    )


def multiset_result(
    labels: tuple[str, str],
    plan: DiffPlan,
    rows: tuple[int, int],
    removed_added: tuple[int, int],
    columns: tuple[ColumnResult, ...],
    evidence: tuple[Sequence[ColumnPlan], Evidence],
    examples: tuple[Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]],
    exact: bool,
) -> Reconciliation:
    """The keyless Reconciliation from the rows its queries returned (DuckDB's path and `inplace`'s)."""
    notes: tuple[str, ...] = (
        "no key: rows compared as multisets (a changed row counts once as removed and once as added)",
    )
    if not plan.columns:
        notes += ("the two tables have no column in common",)
    return Reconciliation(
        left=labels[0],
        right=labels[1],
        key=(),
        rows_left=rows[0],
        rows_right=rows[1],
        schema=plan.schema,
        columns=columns,
        added=removed_added[1],
        removed=removed_added[0],
        changed=None,
        unchanged=None,
        distributions=_distributions(evidence[0], evidence[1]),
        examples=multiset_examples(*examples),
        distinct_exact=exact,
        notes=notes,
    )
