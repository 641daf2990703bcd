"""Keyed diff edge values: non-finite floats under the default tolerance."""

from __future__ import annotations

import pytest

from app.canary.diff import reconcile
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
