"""Keyed diff edge values: non-finite floats under the default tolerance, keys whose type changed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.canary import sqltext as q
from app.canary.diff import reconcile
from app.canary.keytype import common_key_type
from app.canary.runner import Sandbox
from app.canary.schema import Tolerance
from tests.canary.conftest import make_table

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize("tol", [None, Tolerance(absolute=0.5), Tolerance(relative=0.01, decimals=2)])
def test_nan_and_infinity_differ_from_anything_but_themselves(db: Sandbox, tol: Tolerance | None) -> None:
    pairs = [
        (NAN, NAN),
        (INF, INF),
        (-INF, -INF),
        (NAN, 1.0),
        (INF, 1.0),
        (-INF, INF),
        (1.0, NAN),
        (NAN, INF),
    ]
    cols = [("id", "INTEGER"), ("v", "DOUBLE")]
    left = make_table(db, "l", cols, [(i, a) for i, (a, _) in enumerate(pairs)])
    right = make_table(db, "r", cols, [(i, b) for i, (_, b) in enumerate(pairs)])
    r = reconcile(db, left, right, key=["id"], tolerances=None if tol is None else {"v": tol})
    assert (r.changed, r.unchanged) == (5, 3)


@pytest.mark.parametrize(
    "left_type, right_type, value",
    [
        ("INTEGER", "DOUBLE", "1"),
        ("DECIMAL(10,2)", "DECIMAL(10,3)", "1.5"),
        ("BIGINT", "DECIMAL(18,2)", "7"),
        ("UBIGINT", "INTEGER", "3"),
        ("TIMESTAMP", "TIMESTAMPTZ", "2024-01-01 00:00:00"),
        ("DATE", "TIMESTAMP", "2024-01-01"),
        ("INTEGER", "VARCHAR", "1"),
    ],
)
def test_a_retyped_key_still_matches_its_rows(
    db: Sandbox, left_type: str, right_type: str, value: str
) -> None:
    db.conn.execute("SET TimeZone = 'UTC'")
    db.conn.execute(f"CREATE TABLE l AS SELECT CAST('{value}' AS {left_type}) AS id, 1 AS v")
    db.conn.execute(f"CREATE TABLE r AS SELECT CAST('{value}' AS {right_type}) AS id, 1 AS v")
    r = reconcile(db, q.table("l"), q.table("r"), key=["id"])
    assert (r.added, r.removed, r.unchanged) == (0, 0, 1)


def test_keys_that_only_text_can_hold_are_still_joined_exactly() -> None:
    assert common_key_type("UHUGEINT", "BIGINT") == "VARCHAR"  # no numeric type holds both exactly
    assert common_key_type("HUGEINT", "DECIMAL(38,2)") == "DOUBLE"  # no DECIMAL is wide enough
    assert common_key_type("DECIMAL(10,2)", "DECIMAL(10,3)") == "DECIMAL(11,3)"
    assert common_key_type("INTEGER", "INTEGER") is None


def _cased(db: Sandbox, name: str, collate: str, rows: int) -> str:
    """`rows` rows whose text differs between `l` and `r` only in case: ids 0, 3, 6... are spelled `K..`
    on the left and `k..` on the right (a key whose case changed), and every fifth status is `Paid` on
    the right where the left has `paid`; with `collate`, the text columns are declared under it."""
    coll = f" COLLATE {collate}" if collate else ""
    db.conn.execute(f'CREATE OR REPLACE TABLE "{name}" (id VARCHAR{coll}, status VARCHAR{coll}, n INTEGER)')
    right = name.startswith("r")
    key = "CASE WHEN i % 3 = 0 THEN 'k' ELSE 'K' END" if right else "'K'"
    status = "CASE WHEN i % 5 = 0 THEN 'Paid' ELSE 'paid' END" if right else "'paid'"
    db.conn.execute(f'INSERT INTO "{name}" SELECT {key} || i, {status}, i % 7 FROM range({rows}) t(i)')
    return q.table(name)


@pytest.mark.parametrize("rows", [30, 200_001], ids=["checked-keys", "one-pass"])
@pytest.mark.parametrize(
    "left_collate, right_collate", [("NOCASE", "NOCASE"), ("NOCASE", ""), ("", "NOCASE.NOACCENT")]
)
def test_text_under_a_collation_is_compared_by_its_bytes(
    db: Sandbox, rows: int, left_collate: str, right_collate: str
) -> None:
    """DuckDB's NOCASE takes 'paid' = 'Paid' in a join, a GROUP BY, hash() and count(DISTINCT) (not in
    its HyperLogLog). The diff of collated tables is the diff of the same text without a collation: a
    value whose case changed is changed, a key whose case changed is removed and added, both spellings
    are counted, and the diff leaves no view behind."""
    want = reconcile(db, _cased(db, "l_plain", "", rows), _cased(db, "r_plain", "", rows), key=["id"])
    left, right = _cased(db, "l", left_collate, rows), _cased(db, "r", right_collate, rows)
    got = reconcile(db, left, right, key=["id"])
    assert got.to_json() | {"left": "", "right": ""} == want.to_json() | {"left": "", "right": ""}
    renamed = len(range(0, rows, 3))
    recased = len([i for i in range(rows) if i % 5 == 0 and i % 3 != 0])
    assert (got.removed, got.added, got.changed) == (renamed, renamed, recased)
    status = next(c for c in got.columns if c.name == "status")
    assert status.changed == recased and status.right is not None and status.right.distinct == 2
    keyless, plain = reconcile(db, left, right), reconcile(db, q.table("l_plain"), q.table("r_plain"))
    assert keyless.to_json() | {"left": "", "right": ""} == plain.to_json() | {"left": "", "right": ""}
    assert db.query("SELECT count(*) AS n FROM duckdb_views() WHERE view_name LIKE '__dc_bytes%'") == [
        {"n": 0}
    ]


def test_a_diff_inside_a_transaction_leaves_it_usable(db: Sandbox) -> None:
    """A backfill reconciles inside its transaction: reading the collated text by its bytes must not
    fail a query there (DuckDB aborts the whole transaction on one), and the diff's view is gone."""
    left, right = _cased(db, "l", "NOCASE", 30), _cased(db, "r", "", 30)
    db.execute("BEGIN TRANSACTION")
    got = reconcile(db, left, right, key=["id"])
    db.execute("CREATE TABLE after_the_diff AS SELECT 1 AS x")
    db.execute("COMMIT")
    assert (got.removed, got.added) == (10, 10)
    assert db.query("SELECT count(*) AS n FROM after_the_diff") == [{"n": 1}]
    assert db.query("SELECT count(*) AS n FROM duckdb_views() WHERE view_name LIKE '__dc_bytes%'") == [
        {"n": 0}
    ]


_cased_text = st.text(alphabet="aAbBéÉ", max_size=2)


@settings(max_examples=20)
@given(
    left=st.lists(st.tuples(_cased_text, st.one_of(st.none(), _cased_text), st.integers(0, 2)), max_size=8),
    right=st.lists(st.tuples(_cased_text, st.one_of(st.none(), _cased_text), st.integers(0, 2)), max_size=8),
    collations=st.tuples(*[st.sampled_from(["", "NOCASE", "NOACCENT", "NOCASE.NOACCENT"])] * 2),
    key=st.sampled_from([["id"], [], ["id", "n"]]),
)
def test_any_collation_diffs_as_the_same_text_without_one(
    left: list[tuple[str, str | None, int]],
    right: list[tuple[str, str | None, int]],
    collations: tuple[str, str],
    key: list[str],
) -> None:
    """Whatever the rows (duplicated and NULL keys, keys and values differing only in case or accent)
    and whichever collations the two sides declare, the diff is that of the same text declared without
    one: collations never decide what counts as the same value."""
    db = Sandbox(threads=1)
    try:
        tables = []
        for name, rows, coll in (
            ("l", left, collations[0]),
            ("r", right, collations[1]),
            ("lp", left, ""),
            ("rp", right, ""),
        ):
            c = f" COLLATE {coll}" if coll else ""
            tables.append(
                make_table(db, name, [("id", f"VARCHAR{c}"), ("v", f"VARCHAR{c}"), ("n", "INTEGER")], rows)
            )
        got = reconcile(db, tables[0], tables[1], key=key, low_cardinality=4)
        want = reconcile(db, tables[2], tables[3], key=key, low_cardinality=4)
        assert got.to_json() | {"left": "", "right": ""} == want.to_json() | {"left": "", "right": ""}
    finally:
        db.close()
