from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from app.slo.budget import Sample, alerts, budget, burn_rate
from app.slo.status import Status
from tests.slo.conftest import NOW

TARGET = 0.99


def _minutes(bad_minutes_ago: set[int], span: int = 360) -> list[Sample]:
    """One evaluation per minute for `span` minutes, bad at the given minutes-ago."""
    return [
        Sample(NOW - dt.timedelta(minutes=m), Status.BREACH if m in bad_minutes_ago else Status.OK)
        for m in range(span)
    ]


def test_one_bad_minute_does_not_page() -> None:
    samples = _minutes({0})
    assert burn_rate(samples, NOW, 300, TARGET) > 14.4  # the short window alone would page
    assert alerts(samples, NOW, TARGET) == ()


def test_sustained_breach_pages() -> None:
    samples = _minutes(set(range(10)))
    fired = alerts(samples, NOW, TARGET)
    assert [a.severity for a in fired] == ["page"]
    assert fired[0].long_burn > 14.4 and fired[0].short_burn > 14.4


def test_a_fixed_incident_stops_paging_once_the_short_window_is_clean() -> None:
    samples = _minutes(set(range(6, 40)))  # bad from 40 to 6 minutes ago, good since
    assert burn_rate(samples, NOW, 3600, TARGET) > 14.4
    assert "page" not in [a.severity for a in alerts(samples, NOW, TARGET)]


def test_slow_burn_opens_a_ticket_not_a_page() -> None:
    # 1 in 12 bad for six hours: burn ~8.3, above the 6h/30m ticket factor, below the page factor
    samples = _minutes({m for m in range(360) if m % 12 == 0})
    assert [a.severity for a in alerts(samples, NOW, TARGET)] == ["ticket"]


def test_unknown_evaluations_count_neither_good_nor_bad() -> None:
    samples = [Sample(NOW - dt.timedelta(minutes=m), Status.UNKNOWN) for m in range(60)]
    assert burn_rate(samples, NOW, 3600, TARGET) is None
    assert budget(samples, NOW, 86400, TARGET).remaining is None


def test_budget_is_spent_by_bad_events() -> None:
    b = budget(_minutes(set(range(3)), span=100), NOW, 86400, TARGET)
    assert (b.events, b.bad) == (100, 3)
    assert (
        b.remaining is not None and abs(b.remaining - -2.0) < 1e-9
    )  # 3 bad where 1 was allowed: overspent twice over


@given(st.sets(st.integers(min_value=0, max_value=359), max_size=360))
def test_burn_rate_is_bad_share_over_budget_share(bad: set[int]) -> None:
    samples = _minutes(bad)
    rate = burn_rate(samples, NOW, 6 * 3600, TARGET)
    assert rate is not None
    assert abs(rate - (len(bad) / 360) / (1 - TARGET)) < 1e-9


def test_a_first_evaluation_that_breaches_is_held_back_to_a_ticket() -> None:
    samples = [Sample(NOW, Status.BREACH)]  # no history at all: both windows burn at 100x
    fired = alerts(samples, NOW, TARGET)
    assert "page" not in [a.severity for a in fired]
    assert fired and fired[0].held is not None and "only 1 evaluation(s) in the last 1h" in fired[0].held


def test_a_breach_pages_once_the_long_window_has_enough_coverage() -> None:
    ten_bad = _minutes(set(range(10)), span=10)  # a scheduler that started ten minutes ago
    assert "page" not in [a.severity for a in alerts(ten_bad, NOW, TARGET)]
    forty_bad = _minutes(set(range(40)), span=40)  # 40 bad minutes span 65% of the hour
    assert [a.severity for a in alerts(forty_bad, NOW, TARGET)][0] == "page"
