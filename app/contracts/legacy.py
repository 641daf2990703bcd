"""ODCS 3.0.x shapes, rewritten to the 3.1 shape before validation: quality rules spelled `rule:`
(`nullCheck`, `validValues` with a top-level list, `duplicateCount`, ...) become `metric:` rules.

Runs after the file was validated by its own version's schema (a 3.0.x file may spell rules `rule:`,
a 3.1 file may not), so the normalizer reads one shape; it leaves what it does not know alone.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

# ODCS 3.0.x spelled library rules as `rule:`; 3.1 renamed them to `metric:`
_LEGACY_RULES = {
    "nullCheck": "nullValues", "nullValues": "nullValues", "notNull": "nullValues",
    "missingValues": "missingValues", "validValues": "invalidValues", "invalidValues": "invalidValues",
    "duplicateCount": "duplicateValues", "duplicateValues": "duplicateValues",
    "uniqueCheck": "duplicateValues",
    "rowCount": "rowCount",
}  # fmt: skip


def upgrade_legacy(data: dict[str, Any]) -> dict[str, Any]:
    """Rewrite ODCS 3.0.x quality rules (`rule: nullCheck`, top-level `validValues`) to the 3.1 shape."""
    if not any(True for _ in _legacy_rules(data)):
        return data  # the common case: nothing to rewrite, no copy
    out = copy.deepcopy(data)
    for rule in list(_legacy_rules(out)):
        name = rule.pop("rule")
        rule["metric"] = _LEGACY_RULES.get(name, name) if isinstance(name, str) else name
        if "validValues" in rule:
            args = rule.setdefault("arguments", {})
            if isinstance(args, dict):
                args["validValues"] = rule.pop("validValues")
                rule.setdefault("mustBe", 0)
    return out


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _walk_properties(props: Any) -> Iterator[dict[str, Any]]:
    for p in _list(props):
        if isinstance(p, dict):
            yield p
            yield from _walk_properties(p.get("properties"))


def _legacy_rules(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every quality rule in 3.0 spelling (`rule:` without `metric:`), on datasets and columns."""
    for obj in _list(data.get("schema")):
        if isinstance(obj, dict):
            for holder in [obj, *_walk_properties(obj.get("properties"))]:
                for rule in _list(holder.get("quality")):
                    if isinstance(rule, dict) and "rule" in rule and "metric" not in rule:
                        yield rule
