"""Keyed diff edge values: non-finite floats under the default tolerance, keys whose type changed."""

from __future__ import annotations

import pytest

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
