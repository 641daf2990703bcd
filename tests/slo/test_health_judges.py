"""The health judges on literal profiles: baselines, acceptance, constant histories."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pytest import MonkeyPatch

from app.slo.health import ColumnProfile, Profile, baseline, judge_all
from app.slo.objectives import collect
from tests.slo.conftest import make_project

T0 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
YML = """name: x
slos:
  t:
    health:
      volume: {min_history: 3}
      distribution: {accept_after: 3}
"""


def _p(hour: int, rows: int, values: dict[str, int], status: str | None = None) -> Profile:
    col = ColumnProfile("c", "VARCHAR", "categorical", 0, len(values), buckets=values)
    return Profile(
        "t", T0 + dt.timedelta(hours=hour), rows, (col,), {"health.distribution": status} if status else {}
    )


def test_a_constant_row_count_judges_small_moves_by_the_deviation_floor() -> None:
    objs = collect(make_project(YML))
    past = [_p(h, 1000, {"a": 1}) for h in (3, 2, 1)]
    same = judge_all(objs[1:], _p(4, 1005, {"a": 1}), past)
    assert same[0].status.value == "ok"  # 0.5% of the median: under the 1% floor
    (drop,) = judge_all(objs[1:], _p(4, 900, {"a": 1}), past)
    assert drop.status.value == "breach" and drop.value == 10.0  # 100 rows / (1% of 1000)


def test_a_shift_is_compared_with_the_last_good_profile_until_accepted() -> None:
    old, new = {"a": 50, "b": 50}, {"A": 50, "b": 50}
    good = _p(1, 100, old, "ok")
    assert (
        baseline([_p(3, 100, new, "breach"), _p(2, 100, new, "breach"), good], "health.distribution", 3)
        is good
    )
    streak = [_p(h, 100, new, "breach") for h in (4, 3, 2)]
    accepted = baseline([*streak, good], "health.distribution", 3)
    assert accepted is streak[0]  # three breaches in a row: the new distribution is the new normal
    dist = collect(make_project(YML))[0]
    (result,) = judge_all([dist], _p(5, 100, new), [*streak, good])
    assert result.status.value == "ok"


def test_the_store_keeps_the_newest_rows_and_fewer_column_profiles(
    tmp_path: Path, monkeypatch: MonkeyPatch
) -> None:
    from app.slo import health_store
    from app.state import StateDB

    monkeypatch.setattr(health_store, "KEEP_ROWS", 4)
    monkeypatch.setattr(health_store, "KEEP_COLUMNS", 2)
    db = StateDB(tmp_path / "state.sqlite")
    store = health_store.HealthStore(db)
    for hour in range(6):
        store.save("prod", _p(hour, 100 + hour, {"a": 1}), {"health.volume": "ok"})
    store.save("dev", _p(0, 1, {"a": 1}), {})  # another environment is not pruned by prod's saves
    points = health_store.history(db, "prod", "t", limit=10)
    assert [p["rows"] for p in points] == [102, 103, 104, 105]
    assert [p["columns"] is not None for p in points] == [False, False, True, True]
    assert [p["rows"] for p in health_store.history(db, "dev", "t")] == [1]
