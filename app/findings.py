"""Findings are values: rule, severity, dataset, column, message, location. Rendered, never re-derived."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from app.types import Impact, Location, Severity, Verdict


@dataclass(frozen=True, slots=True)
class Acceptance:
    """Why a blocking finding was let through: a major version bump, a waiver, or an acknowledgment."""

    by: str  # "major-version" | "waiver" | "acknowledgment"
    reason: str
    expires: str | None = None  # ISO date for waivers
    expired: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a gate found. `gate` is "contracts" or "canary"; `rule` is a stable id like `column-removed`."""

    gate: str
    rule: str
    severity: Severity
    message: str
    dataset: str | None = None
    column: str | None = None
    location: Location | None = None
    impact: Impact | None = None
    old: Any = None
    new: Any = None
    hint: str | None = None
    accepted: Acceptance | None = None
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.ERROR and self.accepted is None

    def to_json(self) -> dict[str, Any]:
        loc = self.location
        return {
            "gate": self.gate,
            "rule": self.rule,
            "severity": self.severity.value,
            "impact": self.impact.value if self.impact else None,
            "blocking": self.blocking,
            "dataset": self.dataset,
            "column": self.column,
            "message": self.message,
            "file": loc.path if loc else None,
            "line": loc.line if loc else None,
            "old": _plain(self.old),
            "new": _plain(self.new),
            "hint": self.hint,
            "accepted": None
            if self.accepted is None
            else {
                "by": self.accepted.by,
                "reason": self.accepted.reason,
                "expires": self.accepted.expires,
                "expired": self.accepted.expired,
            },
            "data": _plain(dict(self.data)),
        }


def _plain(value: Any) -> Any:
    """Make a value JSON-friendly (tuples to lists, mappings to dicts, others to str as a last resort)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    return str(value)


def gate_verdict(findings: Iterable[Finding]) -> Verdict:
    """FAIL if any finding blocks, WARN if any unaccepted warning or error was let through, else PASS."""
    verdict = Verdict.PASS
    for f in findings:
        if f.blocking:
            return Verdict.FAIL
        if f.severity is Severity.WARNING or (
            f.severity is Severity.ERROR and f.accepted and f.accepted.expired
        ):
            verdict = Verdict.WARN
    return verdict
