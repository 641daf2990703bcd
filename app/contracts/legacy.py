"""ODCS 3.0.x shapes, rewritten to the 3.1 shape before validation: quality rules spelled `rule:`
(`nullCheck`, `validValues` with a top-level list, `duplicateCount`, ...) become `metric:` rules."""

from __future__ import annotations

import copy
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
    if not _legacy_rules(data):
        return data  # the common case: nothing to rewrite, no copy
    out = copy.deepcopy(data)
    for obj in out.get("schema") or []:
        if not isinstance(obj, dict):
            continue
        holders = [obj, *_walk_properties(obj.get("properties"))]
        for holder in holders:
            for rule in holder.get("quality") or []:
                if isinstance(rule, dict) and "rule" in rule and "metric" not in rule:
                    name = rule.pop("rule")
                    rule["metric"] = _LEGACY_RULES.get(name, name)
                    if "validValues" in rule:
                        rule.setdefault("arguments", {})["validValues"] = rule.pop("validValues")
                        rule.setdefault("mustBe", 0)
    return out


def _walk_properties(props: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for p in props or []:
        if isinstance(p, dict):
            found.append(p)
            found.extend(_walk_properties(p.get("properties")))
    return found


def _legacy_rules(data: dict[str, Any]) -> bool:
    for obj in data.get("schema") or []:
        if isinstance(obj, dict):
            for holder in [obj, *_walk_properties(obj.get("properties"))]:
                rules = holder.get("quality") or []
                if any(isinstance(r, dict) and "rule" in r and "metric" not in r for r in rules):
                    return True
    return False
