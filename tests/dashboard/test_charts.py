"""The geometry of the dashboard's data-health drawings, from stored-profile histories."""

from __future__ import annotations

import datetime as dt

from hypothesis import assume, given
from hypothesis import strategies as st

from app.dashboard.charts import HEIGHT, PAD_Y, _ticks, sparkline, volume_chart

START = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _history(rows: list[int], last_status: str = "ok") -> list[dict[str, object]]:
    return [
        {
            "at": (START + dt.timedelta(hours=i)).isoformat(),
            "rows": n,
            "statuses": {"health.volume": last_status if i == len(rows) - 1 else "ok"},
            "columns": None,
        }
        for i, n in enumerate(rows)
    ]


def test_a_drop_below_the_expected_band_is_drawn_below_it() -> None:
    chart = volume_chart(_history([1000, 1010, 990, 1005, 400], "breach"), [950.0, 1050.0])
    assert chart is not None and chart.band is not None
    top, bottom = chart.band
    *steady, drop = chart.dots
    assert all(top <= y <= bottom for _, y, _, _ in steady)  # SVG y grows downwards
    assert drop[1] > bottom and drop[2] == "breach" and "400 rows (breach)" in drop[3]
    assert [x for x, _, _, _ in chart.dots] == sorted(x for x, _, _, _ in chart.dots)


def test_no_band_while_learning_and_nothing_without_history() -> None:
    chart = volume_chart(_history([5, 5]), None)
    assert chart is not None and chart.band is None and len(chart.dots) == 2
    assert volume_chart([], [1.0, 2.0]) is None


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=40))
def test_every_dot_lies_inside_the_chart(rows: list[int]) -> None:
    chart = volume_chart(_history(rows), None)
    assert chart is not None
    assert all(PAD_Y <= y <= HEIGHT - PAD_Y for _, y, _, _ in chart.dots)


@given(st.floats(min_value=-1e9, max_value=1e9), st.floats(min_value=1e-6, max_value=1e9))
def test_ticks_cover_the_range_in_a_few_round_steps(bottom: float, span: float) -> None:
    assume(span >= 1e-6 * max(1.0, abs(bottom)))  # an axis spans more than float rounding
    ticks = _ticks(bottom + span, bottom)
    assert 1 <= len(ticks) <= 7
    assert all(bottom - 1e-6 * span <= t <= bottom + span * (1 + 1e-6) for t in ticks)


def test_a_sparkline_skips_gaps_and_keeps_the_last_value() -> None:
    spark = sparkline([0.1, None, 0.3, 0.2])
    assert spark is not None and spark.last == 0.2 and (spark.low, spark.high) == (0.1, 0.3)
    assert len(spark.line.split()) == 3
    flat = sparkline([7.0])
    assert flat is not None and len(flat.line.split()) == 2  # one value: a flat line across
    assert sparkline([None, float("nan")]) is None
