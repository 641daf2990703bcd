"""A run window `FROM..TO` and how a model sees it. Models reference the window as sqlglot named
placeholders, `:window_start` and `:window_end` (half-open: start <= t < end, like dbt's microbatch
`event_time_start/end` and Airflow's data intervals); they parse in every dialect sqlglot reads, so
lineage, drift and the canary see a plain expression, and they are bound here to typed literals
(`CAST('2026-11-01' AS DATE)`) of the window column's type. [pure]"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlglot import exp, parse_one

from app.errors import UsageError

START, END = "window_start", "window_end"
# what a full rebuild binds: every row of any real table lies in it
_FLOOR, _CEIL = dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31)


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end): dates, or timestamps (naive, as the warehouse stores them)."""

    start: dt.datetime
    end: dt.datetime
    dates: bool  # both bounds were given as dates

    @property
    def text(self) -> str:
        return f"{_show(self.start, self.dates)}..{_show(self.end, self.dates)}"

    @property
    def key(self) -> str:
        """The window as the ledger's idempotency key: one text per pair of bounds, however they were
        spelled (`2026-06-01T00:00:00Z` is `2026-06-01`). Whole days are written as dates, so the key of
        a window given as dates is its `text`."""
        days = all(b.time() == dt.time() for b in (self.start, self.end))
        return f"{_show(self.start, days)}..{_show(self.end, days)}"

    @property
    def bounds(self) -> tuple[str, str]:
        """Sortable ISO bounds (for the ledger's overlap test)."""
        return self.start.isoformat(), self.end.isoformat()

    def overlaps(self, other: Window) -> bool:
        return self.start < other.end and other.start < self.end


def _show(value: dt.datetime, dates: bool) -> str:
    return value.date().isoformat() if dates else value.isoformat(sep=" ")


def _bound(text: str, what: str, raw: str) -> tuple[dt.datetime, bool]:
    text = text.strip()
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time()), True
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--window {raw}: {what} {text!r} is not a date or a timestamp",
            hint="write the window as FROM..TO with ISO dates or timestamps: 2026-11-01..2026-12-01",
        ) from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value, False


def parse_window(raw: str) -> Window:
    """`FROM..TO` -> Window; UsageError (exit 2) for anything else, or when FROM is not before TO."""
    start_text, sep, end_text = raw.partition("..")
    if not sep or not start_text.strip() or not end_text.strip():
        raise UsageError(
            f"--window {raw!r} is not FROM..TO",
            hint="for example --window 2026-11-01..2026-12-01 (TO is exclusive: that is November)",
        )
    start, d1 = _bound(start_text, "FROM", raw)
    end, d2 = _bound(end_text, "TO", raw)
    if start >= end:
        raise UsageError(
            f"--window {raw}: FROM is {'after' if start > end else 'the same as'} TO, the window is empty",
            hint="TO is exclusive: one day is --window 2026-11-25..2026-11-26",
        )
    return Window(start, end, d1 and d2)


def references(sql: str, dialect: str = "duckdb") -> set[str]:
    """The window placeholders `sql` uses."""
    return {p.name for p in parse_one(sql, read=dialect).find_all(exp.Placeholder)} & {START, END}


def literal(value: dt.datetime, column_type: str) -> exp.Expr:
    """`value` as a literal of the window column's type."""
    if column_type.upper() == "DATE":
        return exp.cast(exp.Literal.string(value.date().isoformat()), exp.DataType.build("DATE"))
    return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.build("TIMESTAMP"))


def check_grain(window: Window, column: str, column_type: str) -> None:
    """A DATE column cannot be cut inside a day."""
    if column_type.upper() == "DATE" and any(b.time() != dt.time() for b in (window.start, window.end)):
        raise UsageError(
            f"--window {window.text}: the window column {column} is a DATE, the bounds are not whole days",
            hint="give the window as dates: FROM..TO with YYYY-MM-DD",
        )


def bind(sql: str, window: Window | None, column_type: str) -> str:
    """DuckDB `sql` with the window placeholders replaced by literals (None: the unbounded window of a
    full rebuild)."""
    start, end = (window.start, window.end) if window else (_FLOOR, _CEIL)
    tree = parse_one(sql, read="duckdb")
    tree = exp.replace_placeholders(
        tree, **{START: literal(start, column_type), END: literal(end, column_type)}
    )
    return tree.sql(dialect="duckdb", pretty=True)


def predicate(column: str, window: Window, column_type: str) -> str:
    """`column` inside the window, in DuckDB SQL."""
    c = exp.column(column, quoted=True)
    lo, hi = literal(window.start, column_type), literal(window.end, column_type)
    return exp.and_(c >= lo, c < hi).sql(dialect="duckdb")


def unbounded(sql: str) -> str:
    """A full rebuild (or the canary) of a windowed model reads every window."""
    return bind(sql, None, "TIMESTAMP") if "$window_" in sql else sql
