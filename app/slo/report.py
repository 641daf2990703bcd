"""An evaluation with each SLI's error budget, burn rates and firing alerts, ready to render. [pure]"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.slo.budget import DEFAULT_RULES, Alert, Budget, BurnRule, Sample, alerts, budget, burn_rate
from app.slo.status import Evaluation, SliResult, Status


@dataclass(frozen=True, slots=True)
class Row:
    result: SliResult
    budget: Budget
    burn: tuple[tuple[str, float | None], ...]  # (window label, burn rate)
    alerts: tuple[Alert, ...]

    @property
    def pages(self) -> bool:
        return any(a.severity == "page" for a in self.alerts)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.result.to_json(),
            "target": self.result.objective.target,
            "budget": {
                "window_seconds": self.budget.window,
                "events": self.budget.events,
                "bad": self.budget.bad,
                "remaining": self.budget.remaining,
                "sparse": self.budget.sparse,
            },
            "burn_rates": dict(self.burn),
            "alerts": [
                {
                    "severity": a.severity,
                    "rule": a.rule.label,
                    "long_burn": a.long_burn,
                    "short_burn": a.short_burn,
                    "held": a.held,
                }
                for a in self.alerts
            ],
        }


@dataclass(frozen=True, slots=True)
class SloReport:
    evaluation: Evaluation
    rows: tuple[Row, ...]

    @property
    def breaches(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.result.status is Status.BREACH)

    @property
    def paging(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.pages)

    def to_json(self) -> dict[str, Any]:
        out = self.evaluation.to_json()
        out["results"] = [r.to_json() for r in self.rows]
        out["paging"] = [r.result.objective.key for r in self.paging]
        return out


def build(
    evaluation: Evaluation, history: Mapping[str, Sequence[Sample]], rules: Sequence[BurnRule] = DEFAULT_RULES
) -> SloReport:
    """Budgets and burn rates of every SLI from its stored `history` (which includes this evaluation)."""
    now = evaluation.at
    windows = sorted({w for r in rules for w in (r.short, r.long)})
    rows = []
    for result in evaluation.results:
        o = result.objective
        samples = history.get(o.key, ())
        rows.append(
            Row(
                result=result,
                budget=budget(samples, now, o.budget_window, o.target),
                burn=tuple((_label(w), burn_rate(samples, now, w, o.target)) for w in windows),
                alerts=alerts(samples, now, o.target, rules),
            )
        )
    return SloReport(evaluation, tuple(rows))


def _label(seconds: float) -> str:
    return f"{int(seconds // 3600)}h" if seconds >= 3600 else f"{int(seconds // 60)}m"


def since(
    now: dt.datetime, objectives_windows: Sequence[float], rules: Sequence[BurnRule] = DEFAULT_RULES
) -> dt.datetime:
    """How far back the history must go for budgets and burn rates."""
    longest = max([*objectives_windows, *(r.long for r in rules)], default=86400.0)
    return now - dt.timedelta(seconds=longest)
