"""The same data reconciled on DuckDB, PostgreSQL and Spark gives the same Reconciliation: identical
`to_json()` but for the engines' own type names. Hypothesis makes the tables: NULLs, NULL keys, duplicated
keys, tolerances, timestamps, decimals, text that sorts differently under a collation."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import itertools
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from app.canary import sqltext as t
from app.canary.diff import reconcile
from app.canary.runner import Sandbox
from app.canary.schema import Tolerance, family

# name, DuckDB type, PostgreSQL type, Spark type
COLUMNS = [
    ("id", "INTEGER", "integer", "int"),
    ("name", "VARCHAR", "text", "string"),
    ("amount", "DECIMAL(12,2)", "numeric(12,2)", "decimal(12,2)"),
    ("score", "DOUBLE", "double precision", "double"),
    ("ts", "TIMESTAMP", "timestamp", "timestamp_ntz"),
    ("day", "DATE", "date", "date"),
    ("flag", "BOOLEAN", "boolean", "boolean"),
    ("cat", "VARCHAR", "varchar(8)", "string"),
]

_seq = itertools.count()

row = st.tuples(
    st.one_of(st.none(), st.integers(0, 12)),
    st.one_of(st.none(), st.text(alphabet="aBbé Z", max_size=3)),
    st.one_of(st.none(), st.integers(-10_000, 10_000).map(lambda n: decimal.Decimal(n).scaleb(-2))),
    st.one_of(st.none(), st.integers(-800, 800).map(lambda n: n / 8)),
    st.one_of(st.none(), st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2030, 1, 1))),
    st.one_of(st.none(), st.dates(dt.date(2000, 1, 1), dt.date(2030, 1, 1))),
    st.one_of(st.none(), st.booleans()),
    st.sampled_from(["x", "y", "zz", None]),
)


@st.composite
def table_pairs(draw: st.DrawFn) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    left = draw(st.lists(row, max_size=12))
    right = []
    for r in left:  # the head mostly keeps the base's rows, some changed in a column, some dropped
        action = draw(st.sampled_from(["keep", "keep", "drop", "change"]))
        if action == "keep":
            right.append(r)
        elif action == "change":
            i = draw(st.integers(1, len(r) - 1))
            right.append((*r[:i], draw(row)[i], *r[i + 1 :]))
    right += draw(st.lists(row, max_size=4))
    return left, right


def load_duckdb(db: Sandbox, name: str, rows: Sequence[Sequence[Any]]) -> str:
    cols = ", ".join(f"{t.ident(c)} {ty}" for c, ty, _, _ in COLUMNS)
    db.conn.execute(f"CREATE OR REPLACE TABLE {t.ident(name)} ({cols})")
    if rows:
        db.conn.executemany(
            f"INSERT INTO {t.ident(name)} VALUES ({', '.join('?' for _ in COLUMNS)})", [list(r) for r in rows]
        )
    return t.table(name)


def load_postgres(engine: Any, name: str, rows: Sequence[Sequence[Any]], collate: str | None = None) -> str:
    """The rows as a PostgreSQL table; with `collate`, its text columns under that collation."""
    cols = ", ".join(
        f"{t.ident(c)} {ty}" + (f" COLLATE {collate}" if collate and family(ty) == "text" else "")
        for c, _, ty, _ in COLUMNS
    )
    engine.execute(f"DROP TABLE IF EXISTS {t.ident(name)}")
    engine.execute(f"CREATE TABLE {t.ident(name)} ({cols})")
    if rows:
        with engine.conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {t.ident(name)} VALUES ({', '.join('%s' for _ in COLUMNS)})", list(rows)
            )
    return t.table(name)


def load_spark(spark: Any, name: str, rows: Sequence[Sequence[Any]]) -> str:
    schema = ", ".join(f"`{c}` {ty}" for c, _, _, ty in COLUMNS)
    spark.createDataFrame(list(rows), schema).createOrReplaceTempView(name)
    return t.table(name)


def comparable(result: Any) -> Any:
    """`to_json()` without what each engine names its own way: its type names (their families must
    agree) and the labels; floats to 9 significant digits (sums run in another order)."""

    def walk(v: Any) -> Any:
        if isinstance(v, float):
            return float(f"{v:.9g}")
        if isinstance(v, Mapping):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    out = result.to_json()
    for c in out["columns"]:
        c["family"] = family(c.pop("left_type")), family(c.pop("right_type"))
    for s in out["schema"]:
        s.pop("left_type"), s.pop("right_type")
    return walk(out)


CASES: list[tuple[list[str], dict[str, Tolerance]]] = [
    (["id"], {}),
    (["id"], {"score": Tolerance(absolute=1.0), "amount": Tolerance(decimals=0)}),
    (["id", "name"], {"amount": Tolerance(relative=0.01)}),
    ([], {}),
]


def _check(engine: Any, load: Any, left_rows: list[Any], right_rows: list[Any]) -> None:
    n = next(_seq)
    duck = Sandbox(threads=1)
    try:
        dl, dr = load_duckdb(duck, "l", left_rows), load_duckdb(duck, "r", right_rows)
        el, er = load(engine, f"l_{n}", left_rows), load(engine, f"r_{n}", right_rows)
        for key, tol in CASES:
            want = reconcile(duck, dl, dr, key=key, tolerances=tol, examples=3, low_cardinality=4)
            got = reconcile(engine, el, er, key=key, tolerances=tol, examples=3, low_cardinality=4)
            assert comparable(got) == comparable(want), (key, tol)
    finally:
        duck.close()


@pytest.fixture
def postgres(postgres_url: str) -> Any:
    from app.engines.postgres import PostgresEngine

    engine = PostgresEngine(postgres_url)
    yield engine
    engine.close()


@pytest.fixture
def spark(spark_session: Any) -> Any:
    from app.engines.spark import SparkEngine

    return SparkEngine(session=spark_session)


_X = (None, None, None, None, None, None, None, "x")
_SIGNED = [(None, None, decimal.Decimal(v), None, None, None, None, "x") for v in ("100.00", "-100.00")]


@contextlib.contextmanager
def _logged(engine: Any) -> Iterator[list[str]]:
    """The statements `engine.query` runs meanwhile (on this connection, not on its forks)."""
    statements: list[str] = []
    query = engine.query

    def logged(sql: str) -> Any:
        statements.append(sql)
        return query(sql)

    engine.query = logged
    try:
        yield statements
    finally:
        engine.query = query


CASE_INSENSITIVE = "dc_case_insensitive"


def _case_insensitive(engine: Any) -> None:
    engine.execute(
        f"CREATE COLLATION IF NOT EXISTS {CASE_INSENSITIVE}"
        " (provider = icu, locale = 'und-u-ks-level2', deterministic = false)"
    )


_CASED = [
    (1, name, None, None, None, None, None, cat) for name, cat in (("b", "x"), ("B", "x"), ("bB", "zz"))
]


# what a side's text columns are declared under: the database's default, a nondeterministic collation
# ('b' = 'B'), byte order, an ICU locale (deterministic, but not combinable with another table's)
_COLLATIONS = [None, CASE_INSENSITIVE, '"C"', '"en-x-icu"']


def test_postgres_reconciles_like_duckdb(postgres: Any) -> None:
    """Also with each side's text columns under a collation of its own, even one PostgreSQL cannot
    combine with the other side's: datacanary compares their bytes, as DuckDB does (under a
    case-insensitive one a value whose case changed is changed, a key whose case changed is a removed
    and an added key, distinct counts and distributions count both spellings)."""
    _case_insensitive(postgres)

    @settings(max_examples=25)
    @given(table_pairs(), st.tuples(st.sampled_from(_COLLATIONS), st.sampled_from(_COLLATIONS)))
    @example(([_X, _X, _SIGNED[0]], [_X, _SIGNED[0], _X, _SIGNED[1]]), (None, None))  # x and -x, one hash
    @example(([_CASED[0], _CASED[2]], [_CASED[1], (*_CASED[2][:7], "x")]), (CASE_INSENSITIVE,) * 2)
    @example(([_CASED[0]], [_CASED[0]]), ('"en-x-icu"', '"C"'))  # "no collation was derived" before
    def check(pair: tuple[list[Any], list[Any]], collations: tuple[str | None, str | None]) -> None:
        def load(engine: Any, name: str, rows: Sequence[Sequence[Any]]) -> str:
            return load_postgres(engine, name, rows, collations[0 if name.startswith("l") else 1])

        _check(postgres, load, *pair)

    check()


# a value whose case changed (k1) and a key whose case changed (K3 -> k3)
_CASE_ROWS = ([("k1", "paid"), ("K3", "open")], [("k1", "Paid"), ("k3", "open")])


def _on_duckdb_by_bytes(left_ref: str, right_ref: str, got: Any) -> None:
    """`got` (the diff of _CASE_ROWS on an engine whose columns fold case) is DuckDB's diff of them."""
    duck = Sandbox(threads=1)
    try:
        for name, rows in zip((left_ref, right_ref), _CASE_ROWS, strict=True):
            duck.conn.execute(f"CREATE TABLE {name} (id VARCHAR, status VARCHAR)")
            duck.conn.executemany(f"INSERT INTO {name} VALUES (?, ?)", rows)
        want = reconcile(duck, t.table(left_ref), t.table(right_ref), key=["id"], low_cardinality=4)
        assert comparable(got) == comparable(want)
    finally:
        duck.close()
    assert (got.added, got.removed, got.changed) == (1, 1, 1)
    status = next(c for c in got.columns if c.name == "status")
    assert status.changed == 1 and status.right is not None and status.right.distinct == 2
    (dist,) = [d for d in got.distributions if d.column == "status"]
    assert (dict(dist.left), dict(dist.right)) == ({"paid": 1, "open": 1}, {"Paid": 1, "open": 1})


def test_a_case_insensitive_diff_reads_bytewise_views_and_leaves_none_behind(postgres: Any) -> None:
    """What the user sees on a real server: the case change of a value and of a key are reported, as
    DuckDB reports them; the primary key (unique under the collation, so under bytes too) is still
    trusted, the profiles still run beside the join on connections of their own, and the diff's views
    go with it."""
    _case_insensitive(postgres)
    n = next(_seq)
    for side, rows in zip(("l", "r"), _CASE_ROWS, strict=True):
        postgres.execute(
            f"CREATE TABLE {side}_{n} (id text COLLATE {CASE_INSENSITIVE} PRIMARY KEY,"
            f" status text COLLATE {CASE_INSENSITIVE})"
        )
        with postgres.conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {side}_{n} VALUES (%s, %s)", rows)
    with _logged(postgres) as statements:
        got = reconcile(postgres, t.table(f"l_{n}"), t.table(f"r_{n}"), key=["id"], low_cardinality=4)
    _on_duckdb_by_bytes(f"l_{n}", f"r_{n}", got)
    grouped = [s for s in statements if "GROUP BY" in s.upper() and "pg_index" not in s]
    assert grouped and all("GROUPING SETS" in s.upper() for s in grouped)  # only the distributions
    assert not [s for s in statements if "count(DISTINCT" in s or "COUNT(DISTINCT" in s]  # on the forks
    left = postgres.query("SELECT count(*) AS n FROM pg_views WHERE viewname LIKE '__dc_bytes%'")
    assert left == [{"n": 0}]


def test_spark_tells_text_apart_by_bytes_under_utf8_lcase(spark: Any) -> None:
    """Spark 4's UTF8_LCASE collation takes 'K3' = 'k3' in a join: datacanary compares the bytes there
    too, so Spark reports what DuckDB and PostgreSQL do, and leaves no view behind."""
    n = next(_seq)
    for side, rows in zip(("l", "r"), _CASE_ROWS, strict=True):
        frame = spark.spark.createDataFrame(
            rows, "id string collate UTF8_LCASE, status string collate UTF8_LCASE"
        )
        frame.createOrReplaceTempView(f"{side}_{n}")
    assert spark.collated_columns(f"l_{n}") == ["id", "status"]
    got = reconcile(spark, t.table(f"l_{n}"), t.table(f"r_{n}"), key=["id"], low_cardinality=4)
    _on_duckdb_by_bytes(f"l_{n}", f"r_{n}", got)
    views = {r["viewName"] for r in spark.query("SHOW VIEWS")}
    assert not [v for v in views if v.startswith("__dc_")]


@pytest.mark.slow
def test_spark_reconciles_like_duckdb(spark: Any) -> None:
    @settings(max_examples=1, phases=[Phase.explicit, Phase.generate])  # an example costs a minute on Spark
    @given(table_pairs())
    def check(pair: tuple[list[Any], list[Any]]) -> None:
        _check(spark, lambda e, name, rows: load_spark(e.spark, name, rows), *pair)

    check()


def test_postgres_distinct_counts_follow_the_types_equality(postgres: Any) -> None:
    """The profile's distinct counts on PostgreSQL are over 64-bit hashes of text and numeric values (a
    sort of bigints, not of collated text): they must still count what PostgreSQL's `=` tells apart.
    1.5 and 1.50 are one numeric, 1.5 and -1.5 two, 'a ' and 'a' one char(3), 'a' and 'A' two texts."""
    n = next(_seq)
    rows = [
        (1, "1.5", "a ", "a", None),
        (2, "1.50", "a", "A", "x"),
        (3, "-0.0", "b", "a", "x"),
        (4, "0", "b  ", "é", "y"),
        (5, "1e3", "", "e\u0301", None),
        (6, "1000.000", " ", "é", "y"),
        (7, "-1.5", "a", "a", None),  # PostgreSQL's own numeric hash gives -1.5 the hash of 1.5
    ]
    name = f"dist_{n}"
    postgres.execute(f"CREATE TABLE {name} (id int, num numeric, ch char(3), tx text, vc varchar(4))")
    with postgres.conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {name} VALUES (%s, %s::numeric, %s, %s, %s)", rows)
    want = postgres.query(
        f"SELECT count(DISTINCT num) AS num, count(DISTINCT ch) AS ch, count(DISTINCT tx) AS tx,"
        f" count(DISTINCT vc) AS vc FROM {name}"
    )[0]
    assert want == {"num": 4, "ch": 3, "tx": 4, "vc": 2}  # what PostgreSQL itself says
    got = reconcile(postgres, t.table(name), t.table(name), key=["id"])
    distinct = {c.name: c.left.distinct for c in got.columns if c.left is not None}
    assert {k: distinct[k] for k in want} == want
    assert all(c.right is not None and c.right.distinct == c.left.distinct for c in got.columns if c.left)


def test_a_key_postgres_keeps_unique_is_trusted_and_only_such_a_key(postgres: Any) -> None:
    """A primary key (or a unique index over part of the diff's key) spares the per-side GROUP BY of
    every key: the same reconciliation, without the grouping. A table other tables inherit from, and a
    partial unique index, are not trusted: their duplicates are still found."""
    n = next(_seq)
    with _logged(postgres) as statements:
        for suffix, ddl in (("pk", "id int PRIMARY KEY, v text"), ("plain", "id int, v text")):
            for side, rows in (("l", [(1, "a"), (2, "b"), (3, "c")]), ("r", [(1, "a"), (2, "B"), (4, "d")])):
                name = f"{side}_{suffix}_{n}"
                postgres.execute(f"CREATE TABLE {name} ({ddl})")
                with postgres.conn.cursor() as cur:
                    cur.executemany(f"INSERT INTO {name} VALUES (%s, %s)", rows)
        statements.clear()
        trusted = reconcile(postgres, t.table(f"l_pk_{n}"), t.table(f"r_pk_{n}"), key=["id", "v"])
        assert not [s for s in statements if "GROUP BY" in s.upper() and "pg_index" not in s]
        plain = reconcile(postgres, t.table(f"l_plain_{n}"), t.table(f"r_plain_{n}"), key=["id", "v"])
        assert comparable(trusted) == comparable(plain)
        assert (trusted.added, trusted.removed, trusted.changed) == (2, 2, 0)

        # inheritance: the parent's primary key does not cover its child's rows, which a query reads too
        postgres.execute(f"CREATE TABLE parent_{n} (id int PRIMARY KEY, v text)")
        postgres.execute(f"CREATE TABLE child_{n} () INHERITS (parent_{n})")
        postgres.execute(f"INSERT INTO parent_{n} VALUES (1, 'a'); INSERT INTO child_{n} VALUES (1, 'z')")
        # a partial unique index holds only where its WHERE does
        postgres.execute(f"CREATE TABLE partial_{n} (id int, v text)")
        postgres.execute(f"CREATE UNIQUE INDEX ON partial_{n} (id) WHERE id > 100")
        postgres.execute(f"INSERT INTO partial_{n} VALUES (1, 'a'), (1, 'z'), (101, 'x')")
        for name in (f"parent_{n}", f"partial_{n}"):
            got = reconcile(postgres, t.table(name), t.table(f"l_plain_{n}"), key=["id"])
            assert got.left_keys is not None and got.left_keys.duplicate_keys == 1, name


def _sessions(engine: Any, settle: int | None = None) -> int:
    """Other sessions on this database (the forked connections of a diff, while they live); with `settle`,
    waits up to 5 s for them to come down to that many (a backend exits just after its client left)."""
    for _ in range(50):
        n = int(
            engine.query(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )[0]["n"]
        )
        if settle is None or n <= settle:
            return n
        time.sleep(0.1)
    return n


def test_postgres_profiles_run_beside_the_join_and_leave_no_session_behind(
    postgres: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The two sides' profiles run on connections of their own while the join runs on the diff's; they
    are closed afterwards, and cancelled and closed when the diff fails under them. A temporary table,
    which only the diff's session sees, is profiled on that session."""
    from app.canary import inplace
    from app.engines import EngineError
    from app.engines.postgres import PostgresEngine

    n = next(_seq)
    rows = [(i, *([None] * (len(COLUMNS) - 1))) for i in range(3)]
    left, right = load_postgres(postgres, f"l_{n}", rows), load_postgres(postgres, f"r_{n}", rows[1:])
    forks: list[Any] = []
    fork = PostgresEngine.fork

    def counted(self: Any) -> Any:
        forks.append(fork(self))
        return forks[-1]

    monkeypatch.setattr(PostgresEngine, "fork", counted)
    before = _sessions(postgres)
    got = reconcile(postgres, left, right, key=["id"])
    assert (got.removed, got.rows_left, got.rows_right) == (1, 3, 2)
    assert len(forks) == 2 and all(f.conn.closed for f in forks)
    assert _sessions(postgres, settle=before) == before
    forks.clear()
    keyless = reconcile(postgres, left, right)  # multisets: the profiles run beside their counting too
    assert (keyless.removed, keyless.added) == (1, 0)
    assert len(forks) == 2 and all(f.conn.closed for f in forks)
    assert _sessions(postgres, settle=before) == before

    def broken(self: Any, name: str, select: str) -> str:
        raise EngineError("postgres", "the join failed")

    forks.clear()
    with monkeypatch.context() as m:
        m.setattr(inplace.On, "temp", broken)
        with pytest.raises(EngineError, match="the join failed"):
            reconcile(postgres, left, right, key=["id"])
    assert len(forks) == 2 and all(f.conn.closed for f in forks)
    assert _sessions(postgres, settle=before) == before

    forks.clear()
    postgres.execute(f"CREATE TEMPORARY TABLE tmp_{n} AS SELECT * FROM l_{n}")
    got = reconcile(postgres, t.table(f"tmp_{n}"), right, key=["id"])
    assert got.removed == 1 and not forks


def test_a_forked_postgres_connection_keeps_the_sessions_settings(postgres: Any) -> None:
    """The profiles' connections carry what the diff's session set: the canary's statement_timeout
    (a hostile table must not outlive the canary's time limit there), its TimeZone and search_path."""
    postgres.execute("SET statement_timeout = '1500ms'")
    postgres.execute("SET TIME ZONE 'Asia/Tokyo'")
    postgres.execute("SET search_path TO pg_catalog, public")
    other = postgres.fork()
    try:
        for name in ("statement_timeout", "TimeZone", "search_path"):
            assert other.query(f"SHOW {name}") == postgres.query(f"SHOW {name}"), name
        assert other.query("SHOW statement_timeout")[0]["statement_timeout"] == "1500ms"
    finally:
        other.close()
        postgres.execute("RESET ALL")
