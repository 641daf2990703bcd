"""Compare two versions of one quality rule: does the new rule accept more (loosened) or less (tightened)?

A rule accepts a measured value when it satisfies the operator; loosening widens that accepted set.
`nullValues mustBe 0` -> `nullValues mustBeLessThan 10` accepts 0..9 where it accepted only 0: loosened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from app.contracts.model import QualityRule

Outcome = Literal["same", "loosened", "tightened", "changed"]
_SEVERITY_RANK = {"info": 0, "warning": 1, "warn": 1, "error": 2}
# arguments that are handled elsewhere: allowed values are diffed value by value (enum-value-*)
_IGNORED_ARGUMENTS = {"validValues"}


@dataclass(frozen=True, slots=True)
class _Interval:
    lo: float
    lo_closed: bool
    hi: float
    hi_closed: bool

    def contains(self, other: _Interval) -> bool:
        lo_ok = self.lo < other.lo or (self.lo == other.lo and (self.lo_closed or not other.lo_closed))
        hi_ok = self.hi > other.hi or (self.hi == other.hi and (self.hi_closed or not other.hi_closed))
        return lo_ok and hi_ok


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def accepted(operator: str | None, value: Any) -> _Interval | None:
    """The interval of measured values a rule accepts; None for the excluding operators or non-numbers."""
    inf = math.inf
    if operator in ("mustBeBetween",) and isinstance(value, (list, tuple)) and len(value) == 2:
        lo, hi = _number(value[0]), _number(value[1])
        return None if lo is None or hi is None else _Interval(lo, True, hi, True)
    v = _number(value)
    if v is None:
        return None
    return {
        "mustBe": _Interval(v, True, v, True),
        "mustBeLessThan": _Interval(-inf, False, v, False),
        "mustBeLessOrEqualTo": _Interval(-inf, False, v, True),
        "mustBeGreaterThan": _Interval(v, False, inf, False),
        "mustBeGreaterOrEqualTo": _Interval(v, True, inf, False),
    }.get(operator or "")


def _arguments(rule: QualityRule) -> tuple[tuple[str, Any], ...]:
    return tuple(a for a in rule.arguments if a[0] not in _IGNORED_ARGUMENTS)


def compare_rules(old: QualityRule, new: QualityRule) -> tuple[Outcome, str]:
    """Classify `old` -> `new` (same key) and say why in a few words."""
    if (old.type, old.metric, old.unit, old.query, _arguments(old)) != (
        new.type,
        new.metric,
        new.unit,
        new.query,
        _arguments(new),
    ):
        return "changed", _what_changed(old, new)
    outcome, why = _compare_threshold(old, new)
    sev_old, sev_new = _SEVERITY_RANK.get(old.severity, 2), _SEVERITY_RANK.get(new.severity, 2)
    if sev_new != sev_old:
        sev: Outcome = "loosened" if sev_new < sev_old else "tightened"
        sev_why = f"severity {old.severity} -> {new.severity}"
        if outcome == "same" or outcome == sev:
            return sev, ", ".join(w for w in (why, sev_why) if w)
        return "changed", f"{why}, {sev_why}"
    return outcome, why


def _describe(rule: QualityRule) -> str:
    return f"{rule.operator} {rule.value}" if rule.operator else "no threshold"


def _compare_threshold(old: QualityRule, new: QualityRule) -> tuple[Outcome, str]:
    if (old.operator, old.value) == (new.operator, new.value):
        return "same", ""
    why = f"{_describe(old)} -> {_describe(new)}"
    if old.operator == new.operator == "mustNotBeBetween":
        a, b = accepted("mustBeBetween", old.value), accepted("mustBeBetween", new.value)
        if a and b and a.contains(b):  # a smaller excluded band accepts more
            return "loosened", why
        if a and b and b.contains(a):
            return "tightened", why
        return "changed", why
    a, b = accepted(old.operator, old.value), accepted(new.operator, new.value)
    if a is None or b is None:
        return "changed", why
    if b.contains(a):
        return "loosened", why
    if a.contains(b):
        return "tightened", why
    return "changed", why


def _what_changed(old: QualityRule, new: QualityRule) -> str:
    parts = []
    if old.metric != new.metric:
        parts.append(f"metric {old.metric} -> {new.metric}")
    if old.type != new.type:
        parts.append(f"type {old.type} -> {new.type}")
    if old.unit != new.unit:
        parts.append(f"unit {old.unit} -> {new.unit}")
    if old.query != new.query:
        parts.append("query changed")
    if _arguments(old) != _arguments(new):
        parts.append("arguments changed")
    return ", ".join(parts)
