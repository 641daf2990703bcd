"""The outcome of one SLI measurement and of one evaluation of many. [pure]"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from app.findings import _plain
from app.slo.durations import humanize
from app.slo.objectives import Objective


class Status(StrEnum):
    OK = "ok"
    BREACH = "breach"
    UNKNOWN = "unknown"  # could not be measured: never counted as good, never pages


@dataclass(frozen=True, slots=True)
class SliResult:
    """One SLI's value against its objective, with what a person needs to act on it."""

    objective: Objective
    value: float | None
    status: Status
    detail: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    reason: str | None = None  # why unknown, or what breached in words

    @property
    def shown_value(self) -> str:
        return _show(self.value, self.objective.unit)

    @property
    def shown_objective(self) -> str:
        return f"{self.objective.comparator} {_show(self.objective.threshold, self.objective.unit)}"

    def to_json(self) -> dict[str, Any]:
        o = self.objective
        return {
            "key": o.key,
            "dataset": o.dataset,
            "sli": o.sli,
            "name": o.name,
            "value": self.value,
            "comparator": o.comparator,
            "threshold": o.threshold,
            "unit": o.unit,
            "status": self.status.value,
            "reason": self.reason,
            "detail": _plain(dict(self.detail)),
            "source": o.source,
            "line": o.location.line if o.location else None,
            "datasets": list(o.datasets),
            "owners": list(o.owners),
        }


def _show(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "seconds":
        return humanize(value)
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    if unit == "bytes":
        return f"{value / 1e6:,.1f} MB" if value >= 1e6 else f"{int(value):,} B"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


def judge(
    obj: Objective, value: float | None, detail: Mapping[str, Any] | None = None, reason: str | None = None
) -> SliResult:
    """The status of `value` against `obj`: None is unknown (with `reason`), else ok or breach."""
    frozen = MappingProxyType(dict(detail or {}))
    if value is None:
        return SliResult(obj, None, Status.UNKNOWN, frozen, reason or "no data to measure")
    status = Status.OK if obj.good(value) else Status.BREACH
    return SliResult(obj, float(value), status, frozen, reason)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Every SLI of one environment measured at `at` (the injected clock)."""

    env: str
    at: dt.datetime
    results: tuple[SliResult, ...]

    @property
    def breaches(self) -> tuple[SliResult, ...]:
        return tuple(r for r in self.results if r.status is Status.BREACH)

    @property
    def status(self) -> Status:
        if self.breaches:
            return Status.BREACH
        if any(r.status is Status.UNKNOWN for r in self.results):
            return Status.UNKNOWN
        return Status.OK

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "at": self.at.isoformat(),
            "status": self.status.value,
            "counts": {s.value: sum(1 for r in self.results if r.status is s) for s in Status},
            "results": [r.to_json() for r in self.results],
        }
