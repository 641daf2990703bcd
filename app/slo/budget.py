"""Error budgets and multi-window, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs"). [pure]

Each stored evaluation of an SLI is one event, good or bad (unknown ones are left out of both counts).
The burn rate over a window is the bad share divided by the budget share (1 - target): 1 spends the
budget exactly over the SLO period, 14.4 spends 2% of a 30-day budget in one hour. An alert fires only
when a long window AND its short window both burn above the factor: the long one proves it matters,
the short one proves it is still happening, so one bad minute does not page and a fixed incident
stops paging quickly.

A page also needs evidence: the long window must hold at least MIN_EVENTS measured evaluations spanning
at least MIN_COVERAGE of it. With less (a first evaluation, a new SLI, a scheduler that just started)
a firing page rule is held back to a ticket that says why, so one bad minute does not page even with
no history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from app.slo.status import Status

MIN_EVENTS = 3  # measured evaluations the long window of a page needs
MIN_COVERAGE = 0.5  # share of the long window those evaluations must span


@dataclass(frozen=True, slots=True)
class Sample:
    at: dt.datetime
    status: Status


@dataclass(frozen=True, slots=True)
class BurnRule:
    """Fire `severity` when both windows (seconds) burn faster than `factor`."""

    severity: str  # page | ticket
    long: float
    short: float
    factor: float

    @property
    def label(self) -> str:
        return f"{_span(self.long)}/{_span(self.short)} > {self.factor:g}"


# the workbook's recommendation, shortened to the two rules most teams start with
DEFAULT_RULES: tuple[BurnRule, ...] = (
    BurnRule("page", 3600, 300, 14.4),
    BurnRule("ticket", 6 * 3600, 1800, 6.0),
)


@dataclass(frozen=True, slots=True)
class Budget:
    """The error budget of one SLI over its SLO period, at `now`."""

    target: float
    window: float
    events: int
    bad: int

    @property
    def allowed(self) -> float:
        return self.events * (1 - self.target)

    @property
    def sparse(self) -> bool:
        """Too few evaluations for the remaining share to mean much yet."""
        return self.events < MIN_EVENTS

    @property
    def remaining(self) -> float | None:
        """Share of the budget left (negative when overspent); None without events."""
        if self.events == 0:
            return None
        return 1 - self.bad / self.allowed if self.allowed > 0 else (1.0 if self.bad == 0 else float("-inf"))


@dataclass(frozen=True, slots=True)
class Alert:
    severity: str
    rule: BurnRule
    long_burn: float
    short_burn: float
    held: str | None = None  # why a page rule that fired is only a ticket: too little history


def _measured(samples: Sequence[Sample], now: dt.datetime, seconds: float) -> list[Sample]:
    start = now - dt.timedelta(seconds=seconds)
    return [s for s in samples if start < s.at <= now and s.status is not Status.UNKNOWN]


def _window(samples: Sequence[Sample], now: dt.datetime, seconds: float) -> tuple[int, int]:
    measured = _measured(samples, now, seconds)
    return len(measured), sum(s.status is Status.BREACH for s in measured)


def coverage(samples: Sequence[Sample], now: dt.datetime, seconds: float) -> str | None:
    """Why the window holds too little evidence to page (None when it holds enough).

    >>> t = dt.datetime(2026, 1, 1)
    >>> coverage([Sample(t, Status.BREACH)], t, 3600)
    'only 1 evaluation(s) in the last 1h, spanning 0% of it (a page needs 3 spanning 50%)'
    """
    measured = _measured(samples, now, seconds)
    span = (now - min(s.at for s in measured)).total_seconds() if measured else 0.0
    if len(measured) >= MIN_EVENTS and span >= MIN_COVERAGE * seconds:
        return None
    return (
        f"only {len(measured)} evaluation(s) in the last {_span(seconds)}, spanning {span / seconds:.0%} of it"
        f" (a page needs {MIN_EVENTS} spanning {MIN_COVERAGE:.0%})"
    )


def burn_rate(samples: Sequence[Sample], now: dt.datetime, seconds: float, target: float) -> float | None:
    """Bad share over the last `seconds` divided by the budget share; None when nothing was measured."""
    events, bad = _window(samples, now, seconds)
    if events == 0:
        return None
    return (bad / events) / (1 - target)


def budget(samples: Sequence[Sample], now: dt.datetime, window: float, target: float) -> Budget:
    events, bad = _window(samples, now, window)
    return Budget(target=target, window=window, events=events, bad=bad)


def alerts(
    samples: Sequence[Sample], now: dt.datetime, target: float, rules: Sequence[BurnRule] = DEFAULT_RULES
) -> tuple[Alert, ...]:
    """Every rule whose long and short windows both burn above its factor, most severe first; a page
    whose long window lacks coverage (see `coverage`) is held back to a ticket."""
    fired: list[Alert] = []
    for rule in rules:
        long_burn = burn_rate(samples, now, rule.long, target)
        short_burn = burn_rate(samples, now, rule.short, target)
        if (
            long_burn is not None
            and short_burn is not None
            and long_burn > rule.factor
            and short_burn > rule.factor
        ):
            held = coverage(samples, now, rule.long) if rule.severity == "page" else None
            fired.append(Alert("ticket" if held else rule.severity, rule, long_burn, short_burn, held))
    fired.sort(key=lambda a: (a.severity != "page", -a.rule.factor))
    return tuple(fired)


def _span(seconds: float) -> str:
    for name, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{name}"
    return f"{int(seconds)}s"
