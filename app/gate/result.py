"""What a run of the gates produces: per-gate verdicts over findings, plus the evidence sections
(blast radius, canary data diff) that the report templates show. Every front renders this value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from app.findings import Finding, gate_verdict
from app.types import Severity, Verdict

REPORT_SCHEMA_VERSION = 1


class JsonSection(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class ModelVerdictLike(JsonSection, Protocol):
    @property
    def model(self) -> str: ...

    @property
    def verdict(self) -> str: ...


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate (`contracts` or `canary`): its findings and verdict."""

    name: str
    findings: tuple[Finding, ...] = ()
    skipped_reason: str | None = None

    @property
    def verdict(self) -> Verdict:
        if self.skipped_reason is not None and not self.findings:
            return Verdict.SKIPPED
        return gate_verdict(self.findings)

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.blocking)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity and f.accepted is None)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict.value,
            "skipped_reason": self.skipped_reason,
            "counts": {
                "blocking": len(self.blocking),
                "error": self.count(Severity.ERROR),
                "warning": self.count(Severity.WARNING),
                "notice": self.count(Severity.NOTICE),
                "accepted": sum(1 for f in self.findings if f.accepted is not None),
            },
            "findings": [f.to_json() for f in self.findings],
        }


@dataclass(frozen=True, slots=True)
class RunReport:
    """The whole result of `check` (or of one gate run alone)."""

    project: str
    base: str
    head: str
    gates: tuple[GateResult, ...]
    blast_radius: JsonSection | None = None
    canary: JsonSection | None = None
    notes: tuple[str, ...] = ()  # things the user should know (fallbacks, skipped parts)
    extra: dict[str, Any] = field(default_factory=dict)
    # one verdict per directly changed model (app.sql.verdicts.ModelVerdict), in DAG order
    models: tuple[ModelVerdictLike, ...] = ()

    @property
    def verdict(self) -> Verdict:
        return Verdict.worst(*(g.verdict for g in self.gates))

    def gate(self, name: str) -> GateResult | None:
        return next((g for g in self.gates if g.name == name), None)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for g in self.gates for f in g.findings)

    @property
    def breaking_count(self) -> int:
        """Findings whose impact on consumers is breaking, accepted ones included."""
        return sum(1 for f in self.findings if f.impact is not None and f.impact.value == "breaking")

    @property
    def accepted_breaking_count(self) -> int:
        return sum(
            1 for f in self.findings if f.impact is not None and f.impact.value == "breaking" and f.accepted
        )

    @property
    def blocking_count(self) -> int:
        return sum(1 for f in self.findings if f.blocking)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "project": self.project,
            "base": self.base,
            "head": self.head,
            "verdict": self.verdict.value,
            "breaking_count": self.breaking_count,
            "accepted_breaking_count": self.accepted_breaking_count,
            "blocking_count": self.blocking_count,
            "gates": [g.to_json() for g in self.gates],
            "models": [m.to_json() for m in self.models],
            "blast_radius": self.blast_radius.to_json() if self.blast_radius else None,
            "canary": self.canary.to_json() if self.canary else None,
            "notes": list(self.notes),
            **self.extra,
        }
