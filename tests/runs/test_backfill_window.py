"""The window a backfill binds into a model's SQL (app.runs.window)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import UsageError
from app.runs.window import bind, parse_window, unbounded

SQL = "SELECT * FROM t WHERE d >= $window_start AND d < $window_end"


@given(st.dates(dt.date(1, 1, 2), dt.date(9999, 12, 30)), st.integers(1, 400))
def test_a_date_window_reads_back_from_its_own_text(start: dt.date, days: int) -> None:
    end = start + dt.timedelta(days=min(days, (dt.date(9999, 12, 31) - start).days))
    w = parse_window(f"{start}..{end}")
    assert parse_window(w.text) == w and w.dates


def test_bound_sql_selects_exactly_the_half_open_window_in_duckdb() -> None:
    conn = duckdb.connect()
    conn.execute("CREATE TABLE t AS SELECT DATE '2026-11-01' + CAST(range AS INTEGER) AS d FROM range(30)")
    w = parse_window("2026-11-10..2026-11-13")
    got = conn.execute(bind(SQL, w, "DATE")).fetchall()
    assert [r[0].isoformat() for r in got] == ["2026-11-10", "2026-11-11", "2026-11-12"]
    assert len(conn.execute(unbounded(SQL)).fetchall()) == 30  # a full rebuild reads every window
    ts = parse_window("2026-11-10T12:00:00..2026-11-11")
    assert conn.execute(f"SELECT COUNT(*) FROM ({bind(SQL, ts, 'TIMESTAMP')})").fetchone() == (0,)


def test_timezone_bounds_are_read_as_utc_and_mixed_kinds_are_timestamps() -> None:
    w = parse_window("2026-11-10T01:00:00+01:00..2026-11-11")
    assert w.start == dt.datetime(2026, 11, 10) and not w.dates


@pytest.mark.parametrize("raw", ["2026-11-11..2026-11-11", "2026-11-12..2026-11-11", "..2026-11-11", "a..b"])
def test_empty_or_unreadable_windows_are_usage_errors(raw: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_window(raw)
    assert err.value.hint
