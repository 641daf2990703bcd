"""Reconciliation where the data lives: the same diff as `diff.reconcile`, run on a PostgreSQL or Spark
engine (app.engines) so that only counts, profiles and example rows leave it. [pure: the engine is
passed in]

DuckDB's own path (diff.py) leans on DuckDB-only aggregates of nested values (lists of structs, struct
keys, list_unique, histogram) that keep it fast in one process. Here every query returns flat rows:
the key travels as plain `k<j>` columns, example keys are picked by ORDER BY ... LIMIT, value
distributions come from one GROUPING SETS scan per side. The SQL is still written once in DuckDB's
dialect, by the builders of queries.py and rowsets.py, and transpiled by sqlglot for the engine; the
few pieces sqlglot cannot translate are sqltext's dialect functions. The steps are those of diff.py's
exact path (keys checked first, duplicated keys left out and compared as multisets, then the join),
and the rows go through the same `assemble` functions, so that a Reconciliation's `to_json()` is the
same on every engine for the same data (tests/engines/test_reconcile_engines.py).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from app.canary import queries as q
from app.canary import rowsets as sets
from app.canary import sqltext as t
from app.canary.assemble import column_results, key_health
from app.canary.evidence import Evidence, as_text
from app.canary.keytype import common_key_type
from app.canary.reconcile import KeyHealth, Reconciliation
from app.canary.schema import DiffPlan, Tolerance, nested, plan_diff
from app.canary.sqltext import Sql, alias, col, ident, lit

_names = itertools.count()


class On:
    """An engine (app.engines.Engine) spoken to in DuckDB SQL: each statement is transpiled to the
    engine's dialect first, and temporary tables are made the engine's way."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.dialect: str = engine.dialect
        self.views: dict[Sql, Sql] = {}  # a `bytewise` view -> the relation it reads
        self.setup: list[str] = []  # the engine statements that made them, for forked connections

    def sql(self, duck_sql: Sql) -> str:
        from app.engines import transpile

        return transpile(duck_sql, self.dialect)

    def query(self, duck_sql: Sql) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.engine.query(self.sql(duck_sql))
        return rows

    def one(self, duck_sql: Sql) -> dict[str, Any]:
        return self.query(duck_sql)[0]

    def columns(self, relation: Sql) -> list[tuple[str, str]]:
        return list(self.engine.columns(self._relation(relation)))

    def enforces_unique(self, relation: Sql, key: Sequence[str]) -> bool:
        """The engine itself keeps some subset of `key` unique in `relation` (app.engines.postgres
        `unique_keys`; engines without enforced constraints never do)."""
        unique_keys = getattr(self.engine, "unique_keys", None)
        if unique_keys is None:
            return False
        relation = self.views.get(relation, relation)  # bytes tell apart what the collation did
        return any(set(cols) <= set(key) for cols in unique_keys(self._relation(relation)))

    def bytewise(self, relation: Sql, columns: Sequence[tuple[str, str]]) -> Sql:
        """`relation` (whose `columns` these are), or a temporary view of it whose `collated_columns`
        (the engine's: under a collation whose `=` is not byte equality, `'a' = 'A'`, or one that cannot
        meet another table's) are read under the engine's byte collation (`COLLATE "C"`,
        `COLLATE UTF8_BINARY`): the join, GROUP BYs, hashes and distinct counts then tell values apart
        by their bytes, as DuckDB and the cross-engine diff do, and a value whose case changed is a
        changed value. PostgreSQL's citext compares case-insensitively under any collation: it is read
        as text; and json, xml and point, which PostgreSQL cannot compare at all (a GROUP BY, EXCEPT ALL
        or COUNT(DISTINCT) of them fails: `hashing.postgres_lacks_equality`), are read as their text,
        which is how DuckDB compares its JSON. `drop_views` drops them."""
        from app.sql.hashing import postgres_lacks_equality

        find = getattr(self.engine, "collated_columns", None)
        odd = set(find(self._relation(relation))) if find is not None else set()
        unequal = {n for n, ty in columns if self.dialect == "postgres" and postgres_lacks_equality(ty)}
        if not odd and not unequal:
            return relation
        cols = []
        for n, ty in columns:
            value = col(n)
            if n in unequal or (n in odd and ty.lower() == "citext"):
                value = t.cast(value, "VARCHAR")
            if n in odd:
                value = f"{value} COLLATE {self.engine.byte_collation}"
            cols.append(value if n not in odd | unequal else alias(value, n))
        ref = t.table(_temp_name("bytes"))
        made = self.sql(f"CREATE TEMP VIEW {ref} AS SELECT {', '.join(cols)} FROM {relation}")
        self.engine.execute(made)
        self.views[ref] = relation
        self.setup.append(made)
        return ref

    def in_utc(self) -> str | None:
        """Sets this session's TimeZone to UTC, as DuckDB's diff has it (runner.Sandbox): a timestamp
        retyped to timestamptz (a column or a key) is then read as UTC, not in the zone of whoever runs
        the diff (PGOPTIONS, the role's default), and `alongside` connections copy the setting. The zone
        it had, for `restore_zone`; None on engines without a session TimeZone."""
        if self.dialect != "postgres":
            return None
        zone = str(self.one("SELECT current_setting('TimeZone') AS z")["z"])
        self.engine.execute("SET TimeZone = 'UTC'")
        return zone

    def restore_zone(self, zone: str | None) -> None:
        """Sets the session's TimeZone back to `zone` (what `in_utc` returned)."""
        if zone is not None:
            self.engine.execute(f"SELECT set_config('TimeZone', {lit(zone)}, false)")

    def drop_views(self) -> None:
        """Drops the `bytewise` views."""
        for ref in self.views:
            self.engine.execute(self.sql(f"DROP VIEW IF EXISTS {ref}"))
        self.views.clear()
        self.setup.clear()

    def _relation(self, relation: Sql) -> str:
        import sqlglot
        from sqlglot import exp

        return sqlglot.parse_one(relation, read="duckdb", into=exp.Table).sql(self.dialect)

    def alongside(self, jobs: Sequence[Sequence[Sql]], relations: Sequence[Sql]) -> Alongside:
        """`jobs` (each one or more one-row statements that read `relations` only, whose rows make one)
        started now, each on a connection of its own, while this one goes on; `close` the result. Engines
        that cannot open another connection (or relations only this session sees) run them when their
        results are asked for."""
        fork = getattr(self.engine, "fork", None)
        shared = getattr(self.engine, "shared", None)
        if not jobs or fork is None or shared is None:
            return Alongside(self, jobs)
        # a `bytewise` view is this session's, but what it reads may be shared: the other connections
        # make the same view first
        reads = [self.views.get(r, r) for r in relations]
        return Alongside(self, jobs, fork if all(shared(self._relation(r)) for r in reads) else None)

    def temp(self, name: str, select: Sql) -> Sql:
        """A temporary table `name` holding the rows of `select`; its reference (DuckDB quoting)."""
        ref = t.table(name)
        if self.dialect == "spark":  # a cached temporary view: CACHE TABLE computes it once, eagerly
            self.engine.execute(f"CACHE TABLE `{name}` AS {self.sql(select)}")
        else:
            self.engine.execute(self.sql(f"CREATE TEMP TABLE {ref} AS {select}"))
        return ref

    def drop(self, name: str) -> None:
        if self.dialect == "spark":
            self.engine.execute(f"UNCACHE TABLE IF EXISTS `{name}`")
            self.engine.execute(f"DROP VIEW IF EXISTS `{name}`")
        else:
            self.engine.execute(self.sql(f"DROP TABLE IF EXISTS {t.table(name)}"))


def _temp_name(kind: str) -> str:
    return f"__dc_{kind}_{os.getpid()}_{next(_names)}"


def reconcile_on(
    engine: Any,
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
) -> Reconciliation:
    """`diff.reconcile` on an engine of app.engines (not DuckDB); `left`/`right` name relations in
    DuckDB quoting (`sqltext.table`), transpiled with the rest."""
    from app.canary.diff import EXACT_DISTINCT_ROWS, _low_cardinality, duplicates_note, keyed_result

    on = On(engine)
    plan = plan_diff(on.columns(left), on.columns(right), key, tolerances, skip_columns)
    temps: list[str] = []
    pending: Alongside | None = None
    zone = on.in_utc()
    try:
        left, right = on.bytewise(left, plan.left_columns), on.bytewise(right, plan.right_columns)
        if not plan.key:
            return _multiset(
                on, plan, left, right, examples, low_cardinality, labels, exact_distinct, profiles, temps
            )
        lk, rk = (_key_health(on, plan, rel, examples) for rel in (left, right))
        if on.dialect == "postgres":  # no HyperLogLog in PostgreSQL: distinct counts are exact
            exact_distinct = True
        elif exact_distinct is None:
            exact_distinct = max(lk.rows, rk.rows) <= EXACT_DISTINCT_ROWS
        notes: list[str] = []
        exclude, dup_unmatched, dup_left = None, 0, 0
        pending = _profiles_alongside(on, plan, (left, right), exact_distinct, profiles)
        if lk.duplicate_keys or rk.duplicate_keys:
            name = _temp_name("dups")
            temps.append(name)
            exclude = on.temp(name, f"{_dup_keys(plan, left)} UNION {_dup_keys(plan, right)}")
            dl, dr = (_keyed(plan, rel, exclude, True) for rel in (left, right))
            found = on.one(
                f"SELECT (SELECT count(*) FROM ({sets.except_all(dl, dr, plan, dialect=on.dialect)}) AS a) AS l,"
                f" (SELECT count(*) FROM ({sets.except_all(dr, dl, plan, dialect=on.dialect)}) AS b) AS r,"
                f" (SELECT count(*) FROM {dl}) AS n"
            )
            dup_unmatched, dup_left = int(found["l"]) + int(found["r"]), int(found["n"])
            notes.append(duplicates_note(dup_unmatched))
        diffs_name = _temp_name("diffs")
        temps.append(diffs_name)
        joined = (left, right)
        if exclude is not None:  # the join reads the rows of the other keys only
            joined = (_keyed(plan, left, exclude, False), _keyed(plan, right, exclude, False))
        diffs = on.temp(diffs_name, q.diff_rows(plan, *joined, None, on.dialect))
        summary = on.one(t.select(q.summary_counts(plan), diffs))
        picked = on.query(_example_keys(plan, diffs, examples, on.dialect)) if examples else []
        summary.update(_example_lists(plan, picked))
        if lk.null_keys or rk.null_keys:
            notes.append("rows with a NULL in the key were left out of the keyed comparison")
        matched = lk.rows - lk.null_keys - dup_left - int(summary["removed"])
        side_profiles = pending.pair() if profiles else None
        columns = column_results(plan, summary, side_profiles, (lk.rows, rk.rows), matched)
        low = _low_cardinality(plan, columns, low_cardinality) if profiles else []
        found_rows = _example_rows(on, plan, (left, right), diffs, examples) if examples else ({}, {})
        evidence = Evidence(*found_rows, *_histograms(on, low, (left, right)))
        return keyed_result(
            labels, plan, (lk, rk), columns, summary, matched, (low, evidence), examples, exact_distinct,
            notes, dup_unmatched,
        )  # fmt: skip
    finally:
        try:
            if pending is not None:  # cancels the profiles if the diff failed under them
                pending.close()
            for name in reversed(temps):  # Spark's views read the ones made before them
                on.drop(name)
        finally:  # the byte views too, in Spark's long-lived session, whatever failed above
            try:
                on.drop_views()
            finally:  # the session goes on as it was (a canary's models run in it next)
                on.restore_zone(zone)


class Alongside:
    """Statements running on other connections of an engine (`On.alongside`). PostgreSQL runs a
    statement on one core and its FULL JOIN and exact COUNT(DISTINCT) sorts are not parallel: the two
    sides' profiles, each on its own connection beside the join, take the wall time of the slowest of the
    three instead of their sum. `close` cancels what is still running (the diff failed meanwhile). A
    job of several statements (a profile wider than one SELECT may be) runs them one after another on
    its connection."""

    def __init__(self, on: On, jobs: Sequence[Sequence[Sql]], fork: Any = None) -> None:
        self.on, self.jobs = on, [[on.sql(q) for q in job] for job in jobs]
        self.engines: list[Any] = []
        self.futures: list[Any] = []
        self.pool: Any = None
        if fork is None or not self.jobs:
            return
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers=len(self.jobs), thread_name_prefix="datacanary-alongside")
        try:
            for job in self.jobs:
                engine = fork()  # connected here: an unreachable server is this thread's error
                self.engines.append(engine)
                for made in on.setup:  # the diff's `bytewise` views, in this session too
                    engine.execute(made)
                self.futures.append(self.pool.submit(_one_row, engine, job))
        except BaseException:
            self.close()
            raise

    def results(self) -> list[dict[str, Any]]:
        if self.pool is None:
            return [_one_row(self.on.engine, job) for job in self.jobs]
        return [f.result() for f in self.futures]

    def pair(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The results of two jobs (both sides' profiles)."""
        a, b = self.results()
        return a, b

    def close(self) -> None:
        for engine, future in zip(self.engines, self.futures, strict=False):
            if not future.done():
                engine.cancel()
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        for engine in self.engines:
            engine.close()


def _one_row(engine: Any, queries: Sequence[str]) -> dict[str, Any]:
    """The one-row results of `queries` (engine SQL), run in turn, as one row."""
    row: dict[str, Any] = {}
    for sql in queries:
        row.update(engine.query(sql)[0])
    return row


def _profiles_alongside(
    on: On, plan: DiffPlan, sides: tuple[Sql, Sql], exact: bool, profiles: bool
) -> Alongside:
    """Both sides' column profiles, started beside what the diff does next (none without `profiles`)."""
    jobs = [_profile(plan, rel, side, exact, on.dialect) for rel, side in zip(sides, "lr", strict=True)]
    return on.alongside(jobs if profiles else [], sides)


# -- keys ---------------------------------------------------------------------------------------------


def _key_parts(plan: DiffPlan) -> list[Sql]:
    return [alias(q.key_expr(plan, k), f"k{j}") for j, k in enumerate(plan.key)]


def _grouped_keys(plan: DiffPlan, rel: Sql, *more: Sql) -> Sql:
    """The keys (as `k<j>`) that occur more than once in `rel`, with `more` aggregates per key."""
    exprs = ", ".join(q.key_expr(plan, k) for k in plan.key)
    return f"{t.select([*_key_parts(plan), *more], rel, q.key_not_null(plan.key))} GROUP BY {exprs} HAVING count(*) > 1"


def _dup_keys(plan: DiffPlan, rel: Sql) -> Sql:
    return _grouped_keys(plan, rel)


def _key_of_row(plan: DiffPlan, k: str, rel_alias: str) -> Sql:
    """`queries.key_expr` of key part `k`, read from the relation aliased `rel_alias`: beside a relation
    of `k<j>` columns, an unqualified key column named `k0` would be that relation's `k0`."""
    common = common_key_type(dict(plan.left_columns)[k], dict(plan.right_columns)[k])
    return col(k, rel_alias) if common is None else t.cast(col(k, rel_alias), common)


def _keyed(plan: DiffPlan, rel: Sql, keys_table: Sql, among: bool) -> Sql:
    """The rows of `rel` whose key is (`among`), or is not, one of the `k<j>` rows of `keys_table`, as a
    relation. Not `queries.in_flat_keys`, whose unqualified key columns would bind to the keys table's
    own when a key column is named `k<j>` (every row found among the keys)."""
    on = t.and_(*(f"{col(f'k{j}', '__x')} = {_key_of_row(plan, k, '__r')}" for j, k in enumerate(plan.key)))
    found = f"EXISTS (SELECT 1 FROM {keys_table} AS {ident('__x')} WHERE {on})"
    where = found if among else f"NOT {found}"
    return t.subquery(f"SELECT * FROM {rel} AS {ident('__r')} WHERE {where}", "__keyed")


# The types that take a collation (text, varchar, char, citext, name, and arrays of them, and VARCHAR, what a
# key retyped between the sides is joined as): a COLLATE on any other fails, "collations are not
# supported by type uuid" (bytea, enums, inet, jsonb, money, composites, ...).
_COLLATABLE = re.compile(
    r"^(text|varchar|character varying|bpchar|character|char|citext|name)(\s*\(\d+\))?(\[\])*$", re.I
)


def _collatable(type_name: str) -> bool:
    return bool(_COLLATABLE.match(type_name.strip()))


def _order(plan: DiffPlan, dialect: str) -> str:
    """ORDER BY the key parts as DuckDB orders its key structs (text by bytes)."""
    types = dict(plan.left_columns)
    parts = []
    for j, k in enumerate(plan.key):
        joined_as = common_key_type(types[k], dict(plan.right_columns)[k]) or types[k]
        parts.append(t.order_key(col(f"k{j}"), _collatable(joined_as), dialect))
    return ", ".join(parts)


def _key_health(on: On, plan: DiffPlan, rel: Sql, examples: int) -> KeyHealth:
    """rows, rows with a NULL key part, duplicated keys and the rows carrying them, examples of them.
    When the engine keeps a subset of the key unique itself (a primary key or unique index), rows with a
    whole key cannot repeat one: the count alone, without grouping every key (10M rows on PostgreSQL:
    0.7 s instead of 3.6 s a side)."""
    nulls = t.or_(*(t.is_null(col(c)) for c in plan.key))
    totals = t.select([alias(q.COUNT, "rows"), alias(t.filtered(q.COUNT, nulls), "null_keys")], rel)
    if on.enforces_unique(rel, plan.key):
        return key_health(on.one(totals) | {"dup_keys": 0, "dup_rows": 0, "dup_examples": []})
    dups = t.select(
        [alias(q.COUNT, "dup_keys"), alias(f"coalesce(sum({col('n')}), 0)", "dup_rows")],
        t.subquery(_grouped_keys(plan, rel, alias(q.COUNT, "n")), "d"),
    )
    row = on.one(f"SELECT * FROM {t.subquery(totals, 't')} CROSS JOIN {t.subquery(dups, 's')}")
    row["dup_examples"] = []
    if int(row["dup_keys"]):
        keys = on.query(
            f"SELECT * FROM {t.subquery(_grouped_keys(plan, rel), 'd')}"
            f" ORDER BY {_order(plan, on.dialect)} LIMIT {max(int(examples), 1)}"
        )
        row["dup_examples"] = [_key_of(plan, k) for k in keys]
    return key_health(row)


def _key_of(plan: DiffPlan, row: Mapping[str, Any], prefix: str = "k") -> dict[str, Any]:
    return {k: row[f"{prefix}{j}"] for j, k in enumerate(plan.key)}


# -- differing rows -------------------------------------------------------------------------------------


def _example_keys(plan: DiffPlan, diffs: Sql, examples: int, dialect: str) -> Sql:
    """Up to `examples` keys of each kind of differing row (by key order), with their flags."""
    keys = [col(f"k{j}") for j in range(len(plan.key))]
    flags = [col(f"d{i}") for i in range(len(plan.columns))]
    parts = []
    for kind, cond in q.DIFF_KINDS.items():
        pick = t.select([alias(lit(kind), "kind"), *keys, *flags], diffs, cond)
        parts.append(
            f"SELECT * FROM ({pick} ORDER BY {_order(plan, dialect)} LIMIT {int(examples)}) AS {ident(kind)}"
        )
    return " UNION ALL ".join(parts)


def _example_lists(plan: DiffPlan, picked: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The `_example_keys` rows as diff_summary's `ex_removed`, `ex_added`, `ex_changed` (in key order)."""
    out: dict[str, list[Any]] = {"ex_removed": [], "ex_added": [], "ex_changed": []}
    for row in picked:
        key = _key_of(plan, row)
        if row["kind"] == "changed":
            out["ex_changed"].append({"k": key, "d": [row[f"d{i}"] for i in range(len(plan.columns))]})
        else:
            out[f"ex_{row['kind']}"].append(key)
    # UNION ALL promises no order: sort again, as Python orders the key values (text by code point,
    # which is the byte order of UTF-8, as in DuckDB)
    out["ex_changed"].sort(key=lambda item: tuple(item["k"].values()))
    for name in ("ex_removed", "ex_added"):
        out[name].sort(key=lambda k: tuple(k.values()))
    return out


def _example_rows(
    on: On, plan: DiffPlan, sides: tuple[Sql, Sql], diffs: Sql, examples: int
) -> tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, Any]]]:
    """The whole rows of the example keys, by frozen key, for each side (one query a side)."""
    from app.canary.assemble import freeze

    taken = {n for n, _ in (*plan.left_columns, *plan.right_columns)}
    prefix = "__dck"
    while any(n.startswith(prefix) for n in taken):
        prefix = f"_{prefix}"
    found: list[dict[Any, dict[str, Any]]] = []
    for rel, kinds in zip(sides, (("removed", "changed"), ("added", "changed")), strict=True):
        picks = [
            f"SELECT * FROM ({t.select([col(f'k{j}') for j in range(len(plan.key))], diffs, q.DIFF_KINDS[kind])}"
            f" ORDER BY {_order(plan, on.dialect)} LIMIT {int(examples)}) AS {ident(kind)}"
            for kind in kinds
        ]
        e = ident("__e")
        on_key = t.and_(
            *(f"{col(f'k{j}', '__e')} = {_key_of_row(plan, k, '__r')}" for j, k in enumerate(plan.key))
        )
        keys = ", ".join(alias(col(f"k{j}", "__e"), f"{prefix}{j}") for j in range(len(plan.key)))
        rows = on.query(
            f"SELECT {keys}, {ident('__r')}.* FROM {rel} AS {ident('__r')}"
            f" JOIN ({' UNION '.join(picks)}) AS {e} ON {on_key}"
        )
        side: dict[Any, dict[str, Any]] = {}
        for row in rows:
            key = _key_of(plan, row, prefix)
            side[freeze(key)] = {n: v for n, v in row.items() if not n.startswith(prefix)}
        found.append(side)
    return found[0], found[1]


# -- profiles and distributions --------------------------------------------------------------------------


# The most output columns a PostgreSQL SELECT may have ("target lists can have at most 1664 entries"):
# a profile takes up to 5 a column, so a table of 333 numeric columns is profiled in more than one scan.
_MOST_OUTPUTS = 1664


def _profile(plan: DiffPlan, rel: Sql, side: str, exact: bool, dialect: str) -> list[Sql]:
    """One side's column profiles: one scan, or one per `_MOST_OUTPUTS` of them."""
    chunks: list[list[Sql]] = [[alias(q.COUNT, "rows")]]
    for i, p in enumerate(plan.columns):
        out = q.profile_columns(p, col(p.name), side, i, exact, False, dialect)
        if len(chunks[-1]) + len(out) > _MOST_OUTPUTS:
            chunks.append([])
        chunks[-1] += out
    return [t.select(chunk, rel) for chunk in chunks]


def _histograms(
    on: On, low: Sequence[Any], sides: tuple[Sql, Sql]
) -> tuple[dict[str, dict[Any, int]], dict[str, dict[Any, int]]]:
    """value -> count of each low-cardinality column (NULLs left out, as DuckDB's histogram does), per
    side: one GROUPING SETS scan a side."""
    if not low:
        return {}, {}
    out: list[dict[str, dict[Any, int]]] = []
    values = [alias(as_text(p, on.dialect), f"v{i}") for i, p in enumerate(low)]
    groups = ", ".join(f"({col(f'v{i}')})" for i in range(len(low)))
    flags = [alias(f"grouping({col(f'v{i}')})", f"g{i}") for i in range(len(low))]
    for rel in sides:
        inner = t.subquery(t.select(values, rel), "v")
        rows = on.query(
            f"SELECT {', '.join(col(f'v{i}') for i in range(len(low)))}, {', '.join(flags)}, "
            f"{alias(q.COUNT, 'n')} FROM {inner} GROUP BY GROUPING SETS ({groups})"
        )
        hist: dict[str, dict[Any, int]] = {p.name: {} for p in low}
        for row in rows:
            for i, p in enumerate(low):
                if not row[f"g{i}"] and row[f"v{i}"] is not None:
                    hist[p.name][row[f"v{i}"]] = int(row["n"])
        out.append(hist)
    return out[0], out[1]


# -- no key ------------------------------------------------------------------------------------------


def _multiset(
    on: On,
    plan: DiffPlan,
    left: Sql,
    right: Sql,
    examples: int,
    low_cardinality: int,
    labels: tuple[str, str],
    exact_distinct: bool | None,
    profiles: bool,
    temps: list[str],
) -> Reconciliation:
    from app.canary.diff import EXACT_DISTINCT_ROWS, _low_cardinality, multiset_result

    rows = on.one(f"SELECT (SELECT count(*) FROM {left}) AS l, (SELECT count(*) FROM {right}) AS r")
    rows_l, rows_r = int(rows["l"]), int(rows["r"])
    if on.dialect == "postgres":
        exact = True
    else:
        exact = exact_distinct if exact_distinct is not None else max(rows_l, rows_r) <= EXACT_DISTINCT_ROWS
    pending = _profiles_alongside(on, plan, (left, right), exact, profiles)  # beside the multisets
    try:
        ex_l: list[dict[str, Any]] = []
        ex_r: list[dict[str, Any]] = []
        if plan.columns:
            _, n_left, n_right, _ = sets.multiset_names(plan)
            name = _temp_name("multiset")
            temps.append(name)
            d = on.temp(name, sets.multiset_groups(left, right, plan))
            counts = on.one(
                f"SELECT (SELECT coalesce(sum({col(n_left)} - {col(n_right)}), 0) FROM {d}"
                f" WHERE {col(n_left)} > {col(n_right)}) AS removed,"
                f" (SELECT coalesce(sum({col(n_right)} - {col(n_left)}), 0) FROM {d}"
                f" WHERE {col(n_right)} > {col(n_left)}) AS added"
            )
            removed, added = int(counts["removed"]), int(counts["added"])
            if examples:
                names = [p.name for p in plan.columns]
                order = (
                    ", ".join(
                        # text-compared columns were grouped as VARCHAR (rowsets.multiset_groups)
                        t.order_key(col(p.name), p.compare == "text" or _collatable(p.left_type), on.dialect)
                        for p in plan.columns
                        if not nested(p.left_type)
                    )
                    or "1"
                )
                for more, less, into in ((n_left, n_right, ex_l), (n_right, n_left, ex_r)):
                    picked = on.query(
                        f"SELECT {', '.join(col(n) for n in names)} FROM {d} WHERE {col(more)} > {col(less)}"
                        f" ORDER BY {order} LIMIT {int(examples)}"
                    )
                    into.extend(picked)
        else:  # nothing in common: every row is on its own side only
            removed, added = rows_l, rows_r
            if examples:
                ex_l = on.query(f"SELECT * FROM {left} LIMIT {int(examples)}")
                ex_r = on.query(f"SELECT * FROM {right} LIMIT {int(examples)}")
        side_profiles = pending.pair() if profiles else None
        columns = column_results(plan, None, side_profiles, (rows_l, rows_r), None)
        low = _low_cardinality(plan, columns, low_cardinality) if profiles else []
        evidence = Evidence({}, {}, *_histograms(on, low, (left, right)))
    finally:
        pending.close()
    return multiset_result(
        labels, plan, (rows_l, rows_r), (removed, added), columns, (low, evidence), (ex_l, ex_r), exact
    )
