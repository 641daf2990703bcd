"""The segment search against a plain full comparison: for any edits, the same diff (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.canary.diff import reconcile
from app.canary.runner import Sandbox
from app.canary.segments import cross_diff
from app.engines.duckdb import DuckDBEngine

ROWS = st.dictionaries(st.integers(-50, 400), st.one_of(st.none(), st.integers(0, 3)), max_size=120)


def _engine(rows: dict[int, int | None], text_key: bool) -> DuckDBEngine:
    e = DuckDBEngine()
    key = "VARCHAR" if text_key else "INTEGER"
    e.execute(f"CREATE TABLE t (k {key}, v INTEGER)")
    if rows:
        e.execute(
            "INSERT INTO t VALUES "
            + ", ".join(f"({k}, {'NULL' if v is None else v})" for k, v in rows.items())
        )
    return e


@settings(max_examples=30, deadline=None)
@given(
    left=ROWS,
    right=ROWS,
    text_key=st.booleans(),
    factor=st.integers(2, 5),
    threshold=st.integers(1, 6),
)
def test_segment_search_finds_what_a_full_comparison_finds(
    left: dict[int, int | None], right: dict[int, int | None], text_key: bool, factor: int, threshold: int
) -> None:
    a, b = _engine(left, text_key), _engine(right, text_key)
    found = cross_diff(a, "t", b, "t", ["k"], factor=factor, threshold=threshold)
    db = Sandbox()
    for name, rows in (("l", left), ("r", right)):
        db.execute(f"CREATE TABLE {name} (k {'VARCHAR' if text_key else 'INTEGER'}, v INTEGER)")
        if rows:
            db.execute(
                f"INSERT INTO {name} VALUES "
                + ", ".join(f"({k}, {'NULL' if v is None else v})" for k, v in rows.items())
            )
    full = reconcile(db, "l", "r", key=["k"], profiles=False)
    assert (found.added, found.removed, found.changed, found.unchanged) == (
        full.added,
        full.removed,
        full.changed,
        full.unchanged,
    )
    assert found.identical == full.identical
    assert found.transfer is not None
    # only rows of differing segments move: never more than both tables hold
    assert found.transfer.rows[0] <= len(left) and found.transfer.rows[1] <= len(right)
    if left == right:
        assert found.transfer.rows == (0, 0)
