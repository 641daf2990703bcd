"""What a canary run produces: per selected model its base and head builds, the reconciliation and the
quality results; the sample's coverage; and the gate's findings. Rendered by templates/canary/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.canary.models import ModelRun
from app.canary.quality import QualityResult
from app.canary.reconcile import Reconciliation
from app.canary.sampling import JoinSurvival, SourceCoverage
from app.findings import Finding, gate_verdict


@dataclass(frozen=True, slots=True)
class ModelCanary:
    """One selected model: base vs head on the same sample."""

    name: str
    path: str
    contracted: bool
    key: tuple[str, ...]
    base: ModelRun | None  # None: the model is new in head
    head: ModelRun
    reconciliation: Reconciliation | None = None
    quality: tuple[QualityResult, ...] = ()
    notes: tuple[str, ...] = ()
    # (column, why) left out of the comparison: values that differ on every run (app.sql.volatile)
    excluded: tuple[tuple[str, str], ...] = ()

    @property
    def status(self) -> str:
        """compared | new | not-checked (it reads something broken: `not_checked` says what) | failed
        (head did not build) | base-failed (only the base did not build)."""
        if self.head.status == "skipped":
            return "not-checked"
        if not self.head.ok:
            return "failed"
        if self.base is None:
            return "new"
        if not self.base.ok:
            return "base-failed"
        return "compared" if self.reconciliation is not None else "failed"

    @property
    def not_checked(self) -> str | None:
        """Why the canary could not check this model: the broken model or source it reads (file:line)."""
        if self.status != "not-checked":
            return None
        blocker = self.head.blocked_by
        return blocker.reason if blocker is not None else self.head.message or "it reads a broken model"

    @property
    def quality_failed(self) -> tuple[QualityResult, ...]:
        return tuple(r for r in self.quality if r.passed is False)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "status": self.status,
            "not_checked": self.not_checked,
            "blocked_by": self.head.blocked_by.to_json() if self.head.blocked_by else None,
            "contracted": self.contracted,
            "key": list(self.key),
            "base": self.base.to_json() if self.base else None,
            "head": self.head.to_json(),
            "reconciliation": self.reconciliation.to_json() if self.reconciliation else None,
            "quality": [r.to_json() for r in self.quality],
            "notes": list(self.notes),
            "excluded": [{"column": c, "why": why} for c, why in self.excluded],
        }


@dataclass(frozen=True, slots=True)
class CanaryResult:
    """The whole canary run; `findings` are the canary gate's (gate="canary")."""

    seed: int
    models: tuple[ModelCanary, ...]
    upstream: tuple[ModelRun, ...]  # unchanged models built once, in `shared`
    sources: tuple[SourceCoverage, ...]
    joins: tuple[JoinSurvival, ...]
    findings: tuple[Finding, ...]
    limits: dict[str, Any]
    seconds: float = 0.0
    notes: tuple[str, ...] = ()  # how the limits were chosen, when not as the project asked
    # sample data not loaded: refused by the sandbox, or unloadable (a row that does not fit its type)
    refused_sources: tuple[ModelRun, ...] = ()

    @property
    def verdict(self) -> str:
        return gate_verdict(self.findings).value

    @property
    def refused(self) -> tuple[ModelRun, ...]:
        runs = [
            *self.refused_sources,
            *self.upstream,
            *(m.head for m in self.models),
            *(m.base for m in self.models if m.base),
        ]
        return tuple(r for r in runs if r.status == "refused")

    def model(self, name: str) -> ModelCanary | None:
        return next((m for m in self.models if m.name == name), None)

    def render(self, fmt: str, compact: bool = False) -> str:
        """The canary section of the `check` report: `text` or `markdown` (compact: no example rows or
        distributions, for the PR comment). Findings are left to the report, which lists every gate's."""
        from app.report.env import render

        template = "canary/section.md.j2" if fmt == "markdown" else "canary/section.txt.j2"
        return render(template, canary=self, compact=compact)

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "seed": self.seed,
            "seconds": round(self.seconds, 3),
            "limits": self.limits,
            "notes": list(self.notes),
            "refused_sources": [r.to_json() for r in self.refused_sources],
            "sources": [s.to_json() for s in self.sources],
            "joins": [j.to_json() for j in self.joins],
            "upstream": [r.to_json() for r in self.upstream],
            "models": [m.to_json() for m in self.models],
            "findings": [f.to_json() for f in self.findings],
        }
