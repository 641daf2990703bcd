"""Compare two versions of one quality rule: does the new rule accept more (loosened) or less (tightened)?

A rule accepts a measured value when it satisfies the operator; loosening widens that accepted set.
`nullValues mustBe 0` -> `nullValues mustBeLessThan 10` accepts 0..9 where it accepted only 0: loosened.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from app.contracts.matching import pair_in_stages
from app.contracts.model import QualityRule

Outcome = Literal["same", "loosened", "tightened", "changed"]
_SEVERITY_RANK = {"info": 0, "warning": 1, "warn": 1, "error": 2}
# compared as a set of values (`_value_changes`), or, where they are the column's allowed values, value by
# value as enum-value-* changes
_VALUES = "validValues"


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
    return tuple(a for a in rule.arguments if a[0] != _VALUES)


def value_key(value: Any) -> tuple[str, Any]:
    """A value's identity for set comparison: Python's `True == 1` and `False == 0` must not match."""
    if isinstance(value, bool):
        return "bool", value
    if isinstance(value, (int, float)):
        return "number", value
    try:
        hash(value)
    except TypeError:
        return type(value).__name__, repr(value)
    return type(value).__name__, value


def _value_changes(old: QualityRule, new: QualityRule) -> tuple[Outcome, str]:
    """An invalidValues rule's validValues: a value added accepts more (loosened), one removed fewer."""
    a, b = old.argument(_VALUES), new.argument(_VALUES)
    if not isinstance(a, tuple) or not isinstance(b, tuple):
        return ("same", "") if a == b else ("changed", f"{_VALUES} changed")
    keys_a, keys_b = {value_key(v) for v in a}, {value_key(v) for v in b}
    added = [v for v in b if value_key(v) not in keys_a]
    removed = [v for v in a if value_key(v) not in keys_b]
    why = ", ".join(
        [*(f"valid value {v!r} added" for v in added), *(f"valid value {v!r} removed" for v in removed)]
    )
    if added and removed:
        return "changed", why
    return ("loosened" if added else "tightened" if removed else "same"), why


def pair_rules(
    old: Sequence[QualityRule], new: Sequence[QualityRule]
) -> tuple[list[tuple[QualityRule, QualityRule]], list[QualityRule], list[QualityRule]]:
    """Rules matched across revisions: by id or name, else by what they check (`rowCount`, a SQL text).
    Unnamed rules that check the same thing (`rowCount > 1000` and `rowCount < 1e7`) are told apart
    by their content first, an unchanged rule with itself, and only then in their order, so that
    reordering them changes nothing and removing one removes that one. Returns (pairs, removed, added)."""
    stages: tuple[Callable[[QualityRule, QualityRule], bool], ...] = (
        lambda a, b: a.key == b.key and compare_rules(a, b)[0] == "same",
        lambda a, b: _base_key(a) == _base_key(b) and compare_rules(a, b)[0] == "same",
        lambda a, b: a.key == b.key,
        lambda a, b: _base_key(a) == _base_key(b),
    )
    return pair_in_stages(old, new, stages)


def _base_key(rule: QualityRule) -> str:
    """The key without the `#n` that tells apart unnamed rules checking the same thing; an unnamed SQL
    rule's key by its query's tokens (a re-flowed or commented query is the same rule)."""
    head, sep, n = rule.key.rpartition("#")
    key = head if sep and n.isdigit() else rule.key
    return "sql:" + query_key(rule.query) if key.startswith("sql:") and rule.query else key


def same_query(old: str | None, new: str | None) -> bool:
    """Whether two SQL texts are the same query (`query_key`)."""
    if old == new or old is None or new is None:
        return old == new
    return query_key(old) == query_key(new)


def query_key(query: str) -> str:
    """A SQL text as its tokens: the same whatever the whitespace, line breaks (a YAML `|` block against
    `>-`) and comments, while text inside quotes still has to match exactly."""
    from sqlglot.errors import SqlglotError
    from sqlglot.tokens import Tokenizer

    try:
        tokens = Tokenizer().tokenize(query)
    except SqlglotError:
        return " ".join(query.split())
    return " ".join(f"{t.token_type.name}:{t.text}" for t in tokens)


def compare_rules(old: QualityRule, new: QualityRule, *, values: bool = False) -> tuple[Outcome, str]:
    """Classify `old` -> `new` (same key) and say why in a few words. `values`: compare the rules'
    validValues too (leave it off where they are the column's allowed values, diffed value by value)."""
    if (old.type, old.metric, old.unit, _arguments(old)) != (
        new.type,
        new.metric,
        new.unit,
        _arguments(new),
    ) or not same_query(old.query, new.query):
        return "changed", _what_changed(old, new)
    found = [_compare_threshold(old, new), _value_changes(old, new) if values else ("same", "")]
    sev_old, sev_new = _SEVERITY_RANK.get(old.severity, 2), _SEVERITY_RANK.get(new.severity, 2)
    if sev_new != sev_old:
        found.append(
            ("loosened" if sev_new < sev_old else "tightened", f"severity {old.severity} -> {new.severity}")
        )
    changed = [(outcome, why) for outcome, why in found if outcome != "same"]
    outcomes = {outcome for outcome, _ in changed}
    outcome: Outcome = "same" if not outcomes else outcomes.pop() if len(outcomes) == 1 else "changed"
    return outcome, ", ".join(why for _, why in changed)


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
    if not same_query(old.query, new.query):
        parts.append("query changed")
    if _arguments(old) != _arguments(new):
        parts.append("arguments changed")
    return ", ".join(parts)
