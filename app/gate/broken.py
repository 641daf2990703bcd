"""Findings for the models a lenient analysis left out (app.sql.analysis.BrokenModel). [pure]

One bad model never takes the gate down: each becomes a finding at its own file and line, and every
other model still gets its verdict and canary. Three kinds, told apart so a reviewer can tell an attack
from a typo:

    canary-sandbox-refused  (canary gate, error)    the SQL tries what the sandbox forbids (guard.screen)
    sql-invalid             (contracts gate, error) it does not parse or reads an unknown table
    sql-not-analysed        (contracts gate, notice) it reads a model that is itself broken
    sql-columns-unknown     (contracts gate, notice) it selects * from a table whose columns nobody
                            declared (no yml columns, catalog.json or sample data): not the PR's fault

A model that is broken the same way on the base revision (same SQL) only warns: not this change's fault.
"""

from __future__ import annotations

from dataclasses import replace

from app.canary.gate import refusal_finding
from app.canary.guard import redact, screen
from app.canary.models import ModelRun
from app.findings import Finding
from app.project.model import Project
from app.sql.analysis import Analysis, BrokenModel
from app.sql.qualify import ColumnsUnknown
from app.types import Impact, Location, Severity


def refusal(project: Project, name: str) -> tuple[str, Location] | None:
    """The sandbox's reason to refuse model `name` of `project` and where, or None when it is no attack."""

    model = project.models[name]
    found = screen(model.sql, project.config.dialect, what="")
    if found is None:
        return None
    return found.reason.strip(), found.location(model.path)


def changed_broken(base: Project | None, head: Project, head_an: Analysis) -> set[str]:
    """Broken head models that are new or whose SQL changed: the canary takes them in its selection, so
    the models reading them are reported as skipped by name instead of left out."""
    return {
        n
        for n in head_an.broken
        if base is None or n not in base.models or base.models[n].sql != head.models[n].sql
    }


def canary_selection(base: Project, head: Project, base_an: Analysis, head_an: Analysis) -> list[str]:
    """The canary's default models (plain projects; dbt's is state:modified+): those whose output can
    change (changed, added, renamed) and the broken ones the change touched, then their downstream."""
    from app.sql.changes import classify_models, selected_for_canary

    changes = classify_models(base_an, head_an)
    changed = {n for n, c in changes.items() if c.kind in ("changed", "added", "renamed")}
    return list(selected_for_canary(head_an, changed | changed_broken(base, head, head_an)))


def broken_findings(
    head: Project, head_an: Analysis, base: Project | None, base_an: Analysis | None
) -> tuple[list[Finding], list[Finding]]:
    """(canary-gate findings, contracts-gate findings) for every model of `head` left out of `head_an`."""
    canary: list[Finding] = []
    contracts: list[Finding] = []
    for name, broken in sorted(head_an.broken.items()):
        model = head.models[name]
        inherited = (
            base is not None
            and base_an is not None
            and name in base_an.broken
            and name in base.models
            and base.models[name].sql == model.sql
        )
        severity = Severity.WARNING if inherited else Severity.ERROR
        refused = None if broken.upstream else refusal(head, name)
        loc = broken.error.location or model.location
        if refused is not None:
            run = ModelRun(name, "head", model.path, "refused", refused[0], refused[1])
            canary.append(replace(refusal_finding(run), severity=severity))
        elif broken.upstream:
            contracts.append(_finding(broken, "sql-not-analysed", Severity.NOTICE, loc, None))
        elif isinstance(broken.error, ColumnsUnknown):
            contracts.append(_finding(broken, "sql-columns-unknown", Severity.NOTICE, loc, _DECLARE))
        else:
            contracts.append(_finding(broken, "sql-invalid", severity, loc, broken.error.hint))
    return canary, contracts


_DECLARE = (
    "declare the columns (yml `columns:` with data_type, catalog.json from `dbt docs generate`, or "
    "sample data under `sources:` in datacanary.yml) so this model and its readers can be checked"
)


def _finding(broken: BrokenModel, rule: str, severity: Severity, loc: Location, hint: str | None) -> Finding:
    return Finding(
        gate="contracts",
        rule=rule,
        severity=severity,
        message=redact(broken.error.message),
        dataset=broken.name,
        location=loc,
        impact=Impact.BREAKING if severity is Severity.ERROR else None,
        hint=hint or "fix the model so it parses and reads only models and declared sources",
    )
