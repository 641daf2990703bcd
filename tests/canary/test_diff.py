"""Reconciliation against ground truth: generated tables with known inserts, deletes and updates."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.canary import diff
from app.canary.diff import reconcile
from app.canary.runner import Sandbox
from app.canary.schema import Tolerance
from tests.canary.conftest import make_table

COLUMNS = [("id", "INTEGER"), ("s", "VARCHAR"), ("x", "DOUBLE"), ("ts", "TIMESTAMP"), ("n", "INTEGER")]
T0 = dt.datetime(2024, 1, 1)

values = {
    "s": st.one_of(st.none(), st.sampled_from(["a", "b", "c", "long text value", ""])),
    "x": st.one_of(st.none(), st.sampled_from([0.0, 1.5, -2.25, 1e6])),
    "ts": st.one_of(st.none(), st.integers(0, 5).map(lambda h: T0 + dt.timedelta(hours=h))),
    "n": st.one_of(st.none(), st.integers(-3, 3)),
}
row_st = st.fixed_dictionaries(values)


@st.composite
def edits(draw: st.DrawFn) -> tuple[dict[int, dict], dict[int, dict]]:
    base = draw(st.dictionaries(st.integers(0, 60), row_st, max_size=40))
    head = {}
    for k, row in base.items():
        action = draw(st.sampled_from(["keep", "keep", "delete", "update"]))
        if action == "keep":
            head[k] = dict(row)
        elif action == "update":
            new = dict(row)
            for c in draw(st.lists(st.sampled_from(list(values)), min_size=1, max_size=3, unique=True)):
                new[c] = draw(values[c])
            head[k] = new
    for k, row in draw(st.dictionaries(st.integers(61, 90), row_st, max_size=10)).items():
        head[k] = row
    return base, head


def _rows(table: dict[int, dict]) -> list[list]:
    return [[k, r["s"], r["x"], r["ts"], r["n"]] for k, r in table.items()]


@pytest.fixture(params=["exact-first", "join-first"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on both ways to uniqueness: the exact key check first, and the join proving it."""
    if request.param == "join-first":
        monkeypatch.setattr(diff, "FAST_PATH_ROWS", 0)
    return str(request.param)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=edits())
def test_keyed_counts_match_ground_truth(db: Sandbox, path: str, case: tuple[dict, dict]) -> None:
    base, head = case
    left = make_table(db, "base_t", COLUMNS, _rows(base))
    right = make_table(db, "head_t", COLUMNS, _rows(head))
    r = reconcile(db, left, right, key=["id"], examples=3)

    common = set(base) & set(head)
    # NULL vs NULL is equal, NULL vs a value is a change.
    changed_by_col = {c: sum(1 for k in common if base[k][c] != head[k][c]) for c in values}
    changed_rows = sum(1 for k in common if base[k] != head[k])
    assert r.added == len(set(head) - set(base))
    assert r.removed == len(set(base) - set(head))
    assert r.changed == changed_rows
    assert r.unchanged == len(common) - changed_rows
    assert {c.name: c.changed for c in r.columns} == changed_by_col
    assert (r.rows_left, r.rows_right) == (len(base), len(head))
    assert r.identical == (base == head)
    for c in r.columns:
        assert c.left is not None and c.right is not None
        assert c.left.nulls == sum(1 for v in base.values() if v[c.name] is None)
        assert c.right.nulls == sum(1 for v in head.values() if v[c.name] is None)
        assert c.left.distinct == len({v[c.name] for v in base.values() if v[c.name] is not None})
    kinds = [e.kind for e in r.examples]
    assert kinds.count("changed") == min(3, changed_rows)
    for e in r.examples:
        if e.kind == "changed":
            assert e.left is not None and e.right is not None
            assert set(e.changed) == {c for c in values if base[e.key["id"]][c] != head[e.key["id"]][c]}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", None]), st.integers(0, 2)), max_size=20),
    st.lists(st.tuples(st.sampled_from(["a", "b", None]), st.integers(0, 2)), max_size=20),
)
def test_keyless_is_a_multiset_diff(db: Sandbox, left_rows: list, right_rows: list) -> None:
    cols = [("s", "VARCHAR"), ("n", "INTEGER")]
    left = make_table(db, "l", cols, left_rows)
    right = make_table(db, "r", cols, right_rows)
    r = reconcile(db, left, right, key=[])
    from collections import Counter

    lc, rc = Counter(left_rows), Counter(right_rows)
    assert r.removed == sum((lc - rc).values())
    assert r.added == sum((rc - lc).values())
    assert r.changed is None
    assert r.identical == (lc == rc)


def _truth(rows: list[dict], column: str) -> dict:
    seen = [r[column] for r in rows if r[column] is not None]
    out = {"count": len(seen), "nulls": len(rows) - len(seen), "distinct": len(set(seen))}
    if column != "s":  # numbers and timestamps have an order; text is not profiled so
        out |= {"min": min(seen, default=None), "max": max(seen, default=None)}
    return out


@given(
    st.lists(row_st, max_size=25),
    st.lists(row_st, max_size=25),
    st.sampled_from(["INTEGER", "BIGINT"]),  # BIGINT: one column typed otherwise on the head side
)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_column_profiles_of_both_sides_are_each_sides_own(
    db: Sandbox, base: list[dict], head: list[dict], head_n_type: str
) -> None:
    """Counts, NULLs, exact distinct values, min and max of every column, of each side, keyless (one scan of
    both sides when they are typed alike, one a side when not), also when a side has no rows."""
    cols = [c for c in COLUMNS if c[0] != "id"]
    left = make_table(db, "l", cols, [[r["s"], r["x"], r["ts"], r["n"]] for r in base])
    head_cols = [(c, head_n_type if c == "n" else t) for c, t in cols]
    right = make_table(db, "r", head_cols, [[r["s"], r["x"], r["ts"], r["n"]] for r in head])
    r = reconcile(db, left, right, key=[])
    assert (r.rows_left, r.rows_right) == (len(base), len(head))
    for c in r.columns:
        for stats, rows in ((c.left, base), (c.right, head)):
            assert stats is not None
            want = _truth(rows, c.name)
            assert {k: getattr(stats, k) for k in want} == want, (c.name, rows)
            if c.name == "n":  # SQL's sum: NULL over no values
                values = [x["n"] for x in rows if x["n"] is not None]
                assert stats.sum == (sum(values) if values else None)


def test_duplicate_keys_are_reported_not_joined(db: Sandbox) -> None:
    cols = [("id", "INTEGER"), ("v", "VARCHAR")]
    left = make_table(db, "l", cols, [(1, "a"), (2, "b"), (3, "c")])
    right = make_table(db, "r", cols, [(1, "a"), (2, "b"), (2, "b2"), (3, "c"), (3, "c")])
    r = reconcile(db, left, right, key=["id"])
    assert r.right_keys is not None and r.left_keys is not None
    assert (r.right_keys.duplicate_keys, r.right_keys.duplicate_rows) == (2, 4)
    assert r.left_keys.duplicate_keys == 0
    # the join did not fan out: only key 1 was compared by key
    assert (r.changed, r.unchanged, r.added, r.removed) == (0, 1, 0, 0)
    assert r.duplicates_unmatched == 2  # left {b, c} vs right {b, b2, c, c}: b2 and the second c
    assert not r.identical


def test_same_duplicates_on_both_sides_are_identical(db: Sandbox) -> None:
    cols = [("id", "INTEGER"), ("v", "VARCHAR")]
    rows = [(1, "a"), (1, "a"), (2, "b")]
    r = reconcile(db, make_table(db, "l", cols, rows), make_table(db, "r", cols, rows), key=["id"])
    assert r.duplicate_keys == 2 and r.identical


def test_null_keys_are_counted_and_left_out(db: Sandbox) -> None:
    cols = [("id", "INTEGER"), ("v", "VARCHAR")]
    r = reconcile(
        db,
        make_table(db, "l", cols, [(None, "a"), (1, "b")]),
        make_table(db, "r", cols, [(1, "b")]),
        key=["id"],
    )
    assert r.left_keys is not None and r.left_keys.null_keys == 1
    assert (r.removed, r.unchanged) == (0, 1)
    assert not r.identical


def test_float_noise_within_tolerance_is_not_a_change(db: Sandbox) -> None:
    cols = [("id", "INTEGER"), ("amount", "DOUBLE"), ("price", "DECIMAL(10,4)")]
    left = make_table(db, "l", cols, [(1, 10.0, "1.0000"), (2, 20.0, "2.0000"), (3, None, "3.0000")])
    right = make_table(db, "r", cols, [(1, 10.004, "1.0040"), (2, 20.5, "2.0001"), (3, 0.0, "3.0000")])
    tol = {"amount": Tolerance(absolute=0.01), "price": Tolerance(decimals=2)}
    r = reconcile(db, left, right, key=["id"], tolerances=tol)
    by = {c.name: c for c in r.columns}
    assert by["amount"].changed == 2  # 20 -> 20.5 is beyond 0.01; NULL -> 0.0 is a change
    assert by["price"].changed == 0
    assert by["amount"].tolerance == "abs 0.01"


def test_relative_tolerance_and_default_float_noise(db: Sandbox) -> None:
    cols = [("id", "INTEGER"), ("a", "DOUBLE"), ("b", "DOUBLE")]
    left = make_table(db, "l", cols, [(1, 100.0, 0.1 + 0.2), (2, 100.0, 1.0)])
    right = make_table(db, "r", cols, [(1, 100.5, 0.3), (2, 102.0, 1.0)])
    r = reconcile(db, left, right, key=["id"], tolerances={"a": Tolerance(relative=0.01)})
    by = {c.name: c.changed for c in r.columns}
    assert by == {"a": 1, "b": 0}  # 0.1 + 0.2 vs 0.3 is float noise under the default relative tolerance


def test_timestamp_truncated_to_a_day_is_a_change(db: Sandbox) -> None:
    left = make_table(
        db,
        "l",
        [("id", "INTEGER"), ("at", "TIMESTAMP")],
        [(1, dt.datetime(2024, 5, 1, 13, 5)), (2, dt.datetime(2024, 5, 2))],
    )
    right = make_table(
        db, "r", [("id", "INTEGER"), ("at", "DATE")], [(1, dt.date(2024, 5, 1)), (2, dt.date(2024, 5, 2))]
    )
    r = reconcile(db, left, right, key=["id"])
    assert [(s.column, s.change) for s in r.schema] == [("at", "retyped")]
    assert r.columns[0].compared_as == "native"
    assert r.changed == 1


def test_type_change_across_families_compares_as_text(db: Sandbox) -> None:
    left = make_table(db, "l", [("id", "INTEGER"), ("code", "INTEGER")], [(1, 7), (2, 8)])
    right = make_table(db, "r", [("id", "INTEGER"), ("code", "VARCHAR")], [(1, "7"), (2, "08")])
    r = reconcile(db, left, right, key=["id"])
    assert r.columns[0].compared_as == "text"
    assert r.changed == 1


def test_schema_diff_reports_added_removed_retyped(db: Sandbox) -> None:
    left = make_table(db, "l", [("id", "INTEGER"), ("gone", "INTEGER"), ("n", "INTEGER")], [(1, 1, 1)])
    right = make_table(db, "r", [("id", "INTEGER"), ("n", "BIGINT"), ("new", "VARCHAR")], [(1, 1, "x")])
    r = reconcile(db, left, right, key=["id"])
    assert {(s.column, s.change) for s in r.schema} == {
        ("gone", "removed"),
        ("n", "retyped"),
        ("new", "added"),
    }
    assert r.changed == 0 and not r.identical


def test_distribution_shift_of_low_cardinality_column(db: Sandbox) -> None:
    cols = [("id", "INTEGER"), ("status", "VARCHAR")]
    left = make_table(db, "l", cols, [(i, "paid" if i % 2 else "new") for i in range(10)])
    right = make_table(db, "r", cols, [(i, "paid") for i in range(10)])
    r = reconcile(db, left, right, key=["id"], low_cardinality=5)
    (d,) = r.distributions
    assert d.column == "status" and abs(d.shift - 0.5) < 1e-9
    assert {row["value"]: (row["left"], row["right"]) for row in d.rows()} == {"paid": (5, 10), "new": (5, 0)}


@pytest.mark.parametrize(
    ("left_type", "right_type", "values"),
    [
        ("DECIMAL(10, 2)", "DECIMAL(12, 3)", [1.5, 2, 0, 100]),
        ("DECIMAL(10, 2)", "DOUBLE", [1.5, 2, 0, 100]),
        ("INTEGER", "DOUBLE", [1, 2, 0, 100]),
    ],
)
def test_a_retyped_number_column_keeps_its_distribution(
    db: Sandbox, left_type: str, right_type: str, values: list[float]
) -> None:
    # 1.50 and 1.500 (or 2 and 2.0) are one value: a widened column is not a 100% shift
    rows = [(i, values[i % 4]) for i in range(12)]
    left = make_table(db, "l", [("id", "INTEGER"), ("p", left_type)], rows)
    right = make_table(db, "r", [("id", "INTEGER"), ("p", right_type)], rows)
    r = reconcile(db, left, right, key=["id"], low_cardinality=5)
    (d,) = r.distributions
    assert d.shift == 0
    assert {row["value"]: (row["left"], row["right"]) for row in d.rows()} == {str(v): (3, 3) for v in values}


def test_aggregates_and_deltas(db: Sandbox) -> None:
    cols = [("id", "INTEGER"), ("amount", "INTEGER")]
    r = reconcile(
        db,
        make_table(db, "l", cols, [(1, 10), (2, 20), (3, None)]),
        make_table(db, "r", cols, [(1, 10), (2, 40), (3, 5)]),
        key=["id"],
    )
    c = r.columns[0]
    assert c.left is not None and c.right is not None
    assert (c.left.count, c.left.nulls, c.left.sum, c.left.min, c.left.max) == (2, 1, 30.0, 10, 20)
    assert c.deltas["sum"] == 25.0 and c.deltas["nulls"] == -1
    assert abs(c.match_rate - 1 / 3) < 1e-9


def test_composite_key(db: Sandbox) -> None:
    cols = [("a", "INTEGER"), ("b", "VARCHAR"), ("v", "INTEGER")]
    left = make_table(db, "l", cols, [(1, "x", 1), (1, "y", 2), (2, "x", 3)])
    right = make_table(db, "r", cols, [(1, "x", 1), (1, "y", 5), (2, "y", 3)])
    r = reconcile(db, left, right, key=["a", "b"])
    assert (r.added, r.removed, r.changed) == (1, 1, 1)
    changed = [e for e in r.examples if e.kind == "changed"]
    assert changed[0].key == {"a": 1, "b": "y"} and changed[0].left["v"] == 2 and changed[0].right["v"] == 5


def test_json_carries_every_figure(db: Sandbox) -> None:
    import json

    cols = [("id", "INTEGER"), ("d", "DATE")]
    r = reconcile(
        db,
        make_table(db, "l", cols, [(1, dt.date(2024, 1, 1))]),
        make_table(db, "r", cols, [(2, None)]),
        key=["id"],
    )
    data = json.loads(json.dumps(r.to_json()))
    assert data["added"] == 1 and data["removed"] == 1 and data["examples"][0]["left"]["d"] == "2024-01-01"


def test_a_key_duplicated_only_on_one_side_is_found(db: Sandbox) -> None:
    # the join cannot fan out on a key the other side lacks: the duplicate must still be reported
    cols = [("id", "INTEGER"), ("v", "VARCHAR")]
    r = reconcile(
        db,
        make_table(db, "l", cols, [(1, "a"), (5, "x"), (5, "x")]),
        make_table(db, "r", cols, [(1, "a")]),
        key=["id"],
    )
    assert r.left_keys is not None and (r.left_keys.duplicate_keys, r.left_keys.duplicate_rows) == (1, 2)
    assert (r.removed, r.unchanged, r.duplicates_unmatched) == (0, 1, 2) and not r.identical


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    left_rows=st.lists(st.tuples(st.integers(0, 8), st.sampled_from(["a", "b"])), max_size=14),
    right_rows=st.lists(st.tuples(st.integers(0, 8), st.sampled_from(["a", "b"])), max_size=14),
)
def test_duplicated_keys_are_always_found(db: Sandbox, path: str, left_rows: list, right_rows: list) -> None:
    # the fast path proves keys unique from the join's own counts; any duplicate must send it the slow way
    from collections import Counter

    cols = [("id", "INTEGER"), ("v", "VARCHAR")]
    r = reconcile(db, make_table(db, "l", cols, left_rows), make_table(db, "r", cols, right_rows), key=["id"])
    lc, rc = Counter(k for k, _ in left_rows), Counter(k for k, _ in right_rows)
    assert r.left_keys.duplicate_keys == sum(1 for n in lc.values() if n > 1)
    assert r.right_keys.duplicate_keys == sum(1 for n in rc.values() if n > 1)
    dup = {k for k, n in (lc + rc).items() if lc[k] > 1 or rc[k] > 1}
    lu = {k: v for k, v in left_rows if k not in dup}
    ru = {k: v for k, v in right_rows if k not in dup}
    assert r.removed == len(set(lu) - set(ru)) and r.added == len(set(ru) - set(lu))
    assert r.changed == sum(1 for k in set(lu) & set(ru) if lu[k] != ru[k])
    ld, rd = Counter(x for x in left_rows if x[0] in dup), Counter(x for x in right_rows if x[0] in dup)
    assert r.duplicates_unmatched == sum((ld - rd).values()) + sum((rd - ld).values())
    assert r.identical == (Counter(left_rows) == Counter(right_rows))


def test_tables_without_a_common_column_differ_in_every_row(db: Sandbox) -> None:
    r = reconcile(
        db,
        make_table(db, "l", [("a", "INTEGER")], [(1,), (2,)]),
        make_table(db, "r", [("b", "INTEGER")], [(1,)]),
    )
    assert (r.removed, r.added, r.identical) == (2, 1, False)
    assert "no column in common" in " ".join(r.notes)


def test_changed_share_never_exceeds_all_rows(db: Sandbox) -> None:
    cols = [("id", "INTEGER"), ("s", "VARCHAR")]
    left = make_table(db, "l", cols, [[i, "a"] for i in range(10)])
    every_row_changed = make_table(db, "r", cols, [[i, "b"] for i in range(10)])
    half_changed = make_table(db, "h", cols, [[i, "a" if i < 5 else "b"] for i in range(10)])
    new_keys = make_table(db, "n", cols, [[i + 100, "a"] for i in range(10)])
    # keyless: a changed row is one row only in base plus one only in head: 20 of 20 rows, not 200%
    assert reconcile(db, left, every_row_changed, key=[]).changed_share == 1.0
    assert reconcile(db, left, half_changed, key=[]).changed_share == pytest.approx(0.5)
    # keyed: 10 keys removed and 10 added are all 20 keys of either side
    assert reconcile(db, left, new_keys, key=["id"]).changed_share == 1.0
    assert reconcile(db, left, half_changed, key=["id"]).changed_share == pytest.approx(0.5)


def test_a_text_key_holding_a_nul_character_is_diffed_and_shown(db: Sandbox, path: str) -> None:
    nul = "a\x00b"
    left = make_table(db, "l", [("k", "VARCHAR"), ("v", "INTEGER")], [(nul, 1), ("c", 2)])
    right = make_table(db, "r", [("k", "VARCHAR"), ("v", "INTEGER")], [(nul, 2), ("c", 2)])
    r = reconcile(db, left, right, key=["k"])
    assert (r.changed, r.added, r.removed) == (1, 0, 0)
    (example,) = r.examples
    assert example.key == {"k": nul} and example.left == {"k": nul, "v": 1} and example.right["v"] == 2


def test_a_key_retyped_from_integer_to_text_keeps_its_duplicates_and_examples(db: Sandbox, path: str) -> None:
    rows = [(1, "x"), (2, "y"), (2, "y"), (3, "z")]
    left = make_table(db, "l", [("id", "INTEGER"), ("s", "VARCHAR")], rows)
    right = make_table(db, "r", [("id", "VARCHAR"), ("s", "VARCHAR")], [("1", "x"), ("2", "y"), ("3", "Z")])
    r = reconcile(db, left, right, key=["id"])
    assert r.left_keys is not None and r.left_keys.duplicate_keys == 1
    assert (r.changed, r.added, r.removed) == (1, 0, 0)
    (example,) = r.examples
    assert example.left == {"id": 3, "s": "z"} and example.right == {"id": "3", "s": "Z"}


def test_a_composite_key_retyped_on_one_part_still_finds_its_example_rows(db: Sandbox, path: str) -> None:
    cols = [("a", "INTEGER"), ("b", "DATE"), ("v", "INTEGER")]
    day = dt.date(2024, 1, 1)
    left = make_table(db, "l", cols, [(1, day, 1), (2, day, 2)])
    right = make_table(
        db, "r", [("a", "BIGINT"), ("b", "TIMESTAMP"), ("v", "INTEGER")], [(1, T0, 1), (2, T0, 5)]
    )
    r = reconcile(db, left, right, key=["a", "b"])
    assert r.changed == 1
    (example,) = r.examples
    assert example.left is not None and example.right is not None and example.right["v"] == 5


def test_an_empty_list_and_a_list_of_null_differ(db: Sandbox, path: str) -> None:
    left = make_table(db, "l", [("id", "INTEGER"), ("xs", "INTEGER[]")], [(1, []), (2, [1])])
    right = make_table(db, "r", [("id", "INTEGER"), ("xs", "INTEGER[]")], [(1, [None]), (2, [1])])
    assert reconcile(db, left, right, key=["id"]).changed == 1


def test_a_column_named_like_the_row_alias_does_not_hide_the_row(db: Sandbox, path: str) -> None:
    cols = [("id", "INTEGER"), ("__row", "VARCHAR")]
    left = make_table(db, "l", cols, [(1, "a")])
    right = make_table(db, "r", cols, [(1, "b")])
    (example,) = reconcile(db, left, right, key=["id"]).examples
    assert example.left == {"id": 1, "__row": "a"} and example.right == {"id": 1, "__row": "b"}


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    left=st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["a", "b"])), max_size=8),
    right=st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["a", "b"])), max_size=8),
)
def test_the_share_of_differing_rows_never_contradicts_the_verdict(
    db: Sandbox, left: list, right: list
) -> None:
    """With duplicated keys too: identical means 0%, different means more than 0% (and at most 100%)."""
    cols = [("id", "INTEGER"), ("v", "VARCHAR")]
    a, b = make_table(db, "l", cols, left), make_table(db, "r", cols, right)
    r = reconcile(db, a, b, key=["id"])
    assert (r.changed_share == 0) == (r.differing_rows == 0)
    if sorted(left) != sorted(right):
        assert not r.identical and r.changed_share > 0
    else:
        assert r.identical and r.changed_share == 0
    assert 0 <= r.changed_share <= 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=edits(), key=st.sampled_from([["id"], []]))
def test_small_table_profiles_agree_with_the_aggregates(
    db: Sandbox, monkeypatch: pytest.MonkeyPatch, case: tuple[dict, dict], key: list[str]
) -> None:
    """Small sides take distinct counts and distributions from value lists; the result is the same as
    DuckDB's DISTINCT and histogram aggregates give (the path every larger table takes)."""
    from app.canary import queries

    base, head = case
    left = make_table(db, "base_t", COLUMNS, _rows(base))
    right = make_table(db, "head_t", COLUMNS, _rows(head))
    small = reconcile(db, left, right, key=key, examples=3, low_cardinality=5)
    with monkeypatch.context() as m:
        m.setattr(queries, "SMALL_ROWS", -1)
        large = reconcile(db, left, right, key=key, examples=3, low_cardinality=5)
    assert small.to_json() == large.to_json()


def test_keyless_examples_are_the_unmatched_rows_in_a_stable_order(db: Sandbox) -> None:
    cols = [("s", "VARCHAR"), ("n", "INTEGER")]
    left = make_table(db, "l", cols, [("b", 2), ("a", 1), ("a", 1), ("c", 3), ("z", 0)])
    right = make_table(db, "r", cols, [("a", 1), ("c", 3), ("d", 4), ("b", 9)])
    r = reconcile(db, left, right, key=[], examples=5)
    assert (r.removed, r.added) == (3, 2)  # the second ("a", 1), ("b", 2), ("z", 0) | ("b", 9), ("d", 4)
    removed = [e.left for e in r.examples if e.kind == "removed"]
    added = [e.right for e in r.examples if e.kind == "added"]
    # each distinct unmatched row once, sorted
    assert removed == [{"s": "a", "n": 1}, {"s": "b", "n": 2}, {"s": "z", "n": 0}]
    assert added == [{"s": "b", "n": 9}, {"s": "d", "n": 4}]
    again = reconcile(db, left, right, key=[], examples=5)
    assert again.examples == r.examples


def _approx_floats(value: object) -> object:
    """`value` (a to_json tree) with floats as pytest.approx: sums and means are added in scan order on
    one path and in join order on the other, which may differ in the last bits."""
    if isinstance(value, dict):
        return {k: _approx_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_approx_floats(v) for v in value]
    return pytest.approx(value, rel=1e-12, nan_ok=True) if isinstance(value, float) else value


side_rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(0, 12)),
        st.one_of(st.none(), st.sampled_from(["a", "b", "", "long text"])),
        st.one_of(st.none(), st.sampled_from([0.0, 1.0, 1.0 + 1e-12, -2.5, 1e6, float("nan"), float("inf")])),
        st.one_of(st.none(), st.integers(-2, 2)),
    ),
    max_size=16,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    left_rows=side_rows,
    right_rows=side_rows,
    n_type=st.sampled_from(["INTEGER", "BIGINT", "VARCHAR", "DOUBLE"]),
    tolerance=st.sampled_from(
        [None, Tolerance(absolute=0.5), Tolerance(relative=1e-9), Tolerance(decimals=0)]
    ),
)
def test_the_join_first_path_gives_the_exact_path_s_reconciliation(
    db: Sandbox, left_rows: list, right_rows: list, n_type: str, tolerance: Tolerance | None
) -> None:
    """The fast path (the join proves the keys unique, profiles folded into it) against the exact one
    (keys checked first, profiles by their own scan), on NULL keys and values, duplicated keys, NaN and
    infinities under a tolerance, and a column retyped within and across type families: the same
    Reconciliation, every count, column, example and distribution."""
    left = make_table(
        db, "l", [("id", "INTEGER"), ("s", "VARCHAR"), ("x", "DOUBLE"), ("n", "INTEGER")], left_rows
    )
    right_cols = [("id", "INTEGER"), ("s", "VARCHAR"), ("x", "DOUBLE"), ("n", n_type)]
    right = make_table(
        db,
        "r",
        right_cols,
        [
            (k, s, x, None if n is None else (str(n) if n_type == "VARCHAR" else n))
            for k, s, x, n in right_rows
        ],
    )
    tolerances = {"x": tolerance} if tolerance else None
    exact = reconcile(db, left, right, key=["id"], tolerances=tolerances, examples=3, low_cardinality=3)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(diff, "FAST_PATH_ROWS", 0)
        fast = reconcile(db, left, right, key=["id"], tolerances=tolerances, examples=3, low_cardinality=3)
    assert fast.to_json() == _approx_floats(exact.to_json())


@pytest.mark.parametrize("key", [("id",), ()])
def test_skipped_columns_do_not_count_as_changes_keyed_or_as_multisets(
    db: Sandbox, key: tuple[str, ...]
) -> None:
    cols = [("id", "INTEGER"), ("n", "INTEGER"), ("loaded_at", "TIMESTAMP")]
    left = make_table(db, "l", cols, [(i, i % 3, T0) for i in range(10)])
    right = make_table(
        db, "r", cols, [(i, i % 3 if i else 7, T0 + dt.timedelta(seconds=1)) for i in range(10)]
    )
    full = reconcile(db, left, right, key=key)
    assert (full.changed if key else full.added) == 10
    skipped = reconcile(db, left, right, key=key, skip_columns=["loaded_at"])
    assert (skipped.changed if key else skipped.added) == 1  # only id 0's n differs
    assert "loaded_at" not in {c.name for c in skipped.columns}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    left_flags=st.lists(st.one_of(st.none(), st.booleans()), max_size=30),
    right_flags=st.lists(st.one_of(st.none(), st.booleans()), max_size=30),
)
def test_a_boolean_columns_distribution_counts_its_values(
    db: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    left_flags: list[bool | None],
    right_flags: list[bool | None],
) -> None:
    """Booleans are counted with count_if on large sides (not DuckDB's slower histogram()): the same
    value counts as the small sides' lists and as counting in Python, NULLs left out, empty values
    absent."""
    from app.canary import queries

    cols = [("id", "INTEGER"), ("flag", "BOOLEAN")]
    left = make_table(db, "l", cols, list(enumerate(left_flags)))
    right = make_table(db, "r", cols, list(enumerate(right_flags)))
    small = reconcile(db, left, right, key=["id"], low_cardinality=5)
    with monkeypatch.context() as m:
        m.setattr(queries, "SMALL_ROWS", -1)
        large = reconcile(db, left, right, key=["id"], low_cardinality=5)
    assert small.to_json() == large.to_json()
    if any(f is not None for f in left_flags) and any(f is not None for f in right_flags):
        (d,) = large.distributions
        for side, flags in ((d.left, left_flags), (d.right, right_flags)):
            expected = {v: flags.count(v) for v in (True, False) if flags.count(v)}
            assert dict(side) == expected


def _statements(db: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ran: list[str] = []
    run = db._run

    def logged(sql: str, timeout: float | None = None) -> object:
        ran.append(sql)
        return run(sql, timeout)

    monkeypatch.setattr(db, "_run", logged)
    return ran


@pytest.mark.parametrize("share", [0.05, 0.004])
def test_one_key_on_many_rows_takes_the_exact_path_not_a_multiplying_join(
    db: Sandbox, monkeypatch: pytest.MonkeyPatch, share: float
) -> None:
    # 250,000 rows a side, nearly all keys unique (the estimate of distinct keys says so), one key on
    # `share` of them: joined with itself it would make share**2 * 62.5 billion rows (the 5% case ran for
    # 90 s on 400,000 rows before); the exact key check finds it in well under a second
    n, every = 250_000, round(1 / share)
    for name, bump in (("l", 0), ("r", 1)):
        db.execute(
            f"CREATE TABLE {name} AS SELECT CASE WHEN i % {every} = 0 THEN -1 ELSE i END AS id,"
            f" i + CASE WHEN i % 1000 = 1 THEN {bump} ELSE 0 END AS v FROM range({n}) t(i)"
        )
    ran = _statements(db, monkeypatch)
    r = reconcile(db, '"l"', '"r"', key=["id"])
    assert not [s for s in ran if "__pass_" in s]  # the join-first pass never ran
    assert r.left_keys is not None and r.right_keys is not None
    assert (r.left_keys.duplicate_keys, r.left_keys.duplicate_rows) == (1, n // every)
    assert (r.right_keys.duplicate_keys, r.right_keys.duplicate_rows) == (1, n // every)
    assert r.changed == len([i for i in range(1, n, 1000) if i % every])


def test_unique_keys_of_a_large_table_still_take_the_one_pass_join(
    db: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("l", "r"):
        db.execute(f"CREATE TABLE {name} AS SELECT i AS id, i % 7 AS v FROM range(250000) t(i)")
    ran = _statements(db, monkeypatch)
    r = reconcile(db, '"l"', '"r"', key=["id"])
    assert [s for s in ran if "__pass_" in s] and r.identical
