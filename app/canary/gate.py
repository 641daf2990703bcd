"""The canary gate: a CanaryResult and the thresholds of `datacanary.yml` -> findings. [pure]

Rules (stable ids): canary-sandbox-refused, canary-model-failed, canary-timeout, canary-memory,
canary-transpile, canary-skipped,
canary-changed-rows, canary-row-count, canary-duplicate-keys, canary-quality, canary-unexpected-change,
canary-schema-change (and, from config_check.py, canary-source-missing, canary-source-invalid and
canary-unknown-name).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

from app.canary.models import ModelRun
from app.canary.result import CanaryResult, ModelCanary
from app.findings import Finding
from app.project.config import ProjectConfig
from app.project.model import Project
from app.types import Location, Severity

_RUN_RULES: dict[str, tuple[str, Severity, str | None]] = {
    "refused": (
        "canary-sandbox-refused",
        Severity.ERROR,
        "a model may only be one SELECT over models and declared sources; if this is not an attack, "
        "remove the statement, function or path",
    ),
    "failed": (
        "canary-model-failed",
        Severity.ERROR,
        "run the model on the sample data locally: `datacanary canary --base main --head HEAD`",
    ),
    "timeout": (
        "canary-timeout",
        Severity.ERROR,
        "make the model cheaper on the sample, or raise canary.limits.timeout_seconds (it applies once merged)",
    ),
    "memory": (
        "canary-memory",
        Severity.ERROR,
        "make the model cheaper on the sample (a join that fans out?), or raise canary.limits.memory_limit",
    ),
    "transpile": (
        "canary-transpile",
        Severity.WARNING,
        "rewrite the construct, or set `dialect:` to the dialect the model is written in",
    ),
    "parse": ("canary-transpile", Severity.WARNING, "fix the SQL so it parses in the project dialect"),
    "skipped": ("canary-skipped", Severity.NOTICE, None),
}


def canary_findings(
    result: CanaryResult,
    config: ProjectConfig,
    project: Project | None = None,
    *,
    timeout_severity: Severity = Severity.ERROR,
) -> list[Finding]:
    """Every finding of the canary gate, in model order. `timeout_severity` is the operator's (a model
    that hangs blocks by default; app.canary.limits), never the pull request's."""
    out: list[Finding] = []
    for run in result.refused_sources:
        out += _run_findings(run, "source", timeout_severity)
    for run in result.upstream:
        out += _run_findings(run, "shared", timeout_severity)
    for m in result.models:
        if m.base is not None and not m.base.ok and m.base.status != "skipped":
            out += _run_findings(m.base, "base", timeout_severity)
        out += _run_findings(m.head, "head", timeout_severity)
        out += list(_model_findings(m, config))
    return out


def refusal_finding(run: ModelRun) -> Finding:
    """The finding of a model the sandbox refused (also when the canary itself does not run)."""
    return _run_findings(run, "head")[0]


def _run_findings(run: ModelRun, side: str, timeout_severity: Severity = Severity.ERROR) -> list[Finding]:
    # invalid SQL is the contracts gate's finding (sql-invalid), a sample file that does not load
    # config_check's (canary-source-invalid): one finding for the broken thing, none more here
    if run.ok or run.status in ("invalid", "unloadable"):
        return []
    rule, severity, hint = _RUN_RULES.get(run.status, _RUN_RULES["failed"])
    if run.status == "timeout":
        severity = timeout_severity
    if side == "base" and severity is Severity.ERROR:
        severity = Severity.WARNING  # the base revision's failure is not this change's fault
    what = {"shared": "upstream model", "base": "base version of", "head": "model", "source": "source"}[side]
    message = run.message or run.status
    data: dict[str, str] = {"side": side, "status": run.status}
    if run.status == "skipped" and run.blocked_by is not None:
        # named by the broken thing at the root, with its file:line, not by the skipped model between
        message = f"not checked: {run.blocked_by.reason}"
        data["blocked_by"] = run.blocked_by.name
    if (
        run.status == "refused"
    ):  # every refusal reason is a verb phrase: "sandbox refused model x: it reads ..."
        message = "it " + re.sub(r"^(?:the )?(?:model|source) '[^']*' ", "", message).strip().removeprefix(
            "it "
        )
        what = f"sandbox refused {what}"
    return [
        Finding(
            gate="canary",
            rule=rule,
            severity=severity,
            message=f"{what} {run.name}: {message}",
            dataset=run.name,
            location=run.location or Location(run.path, 1),
            hint=hint,
            data=MappingProxyType(data),
        )
    ]


def _finding(m: ModelCanary, rule: str, severity: Severity, message: str, **kw: Any) -> Finding:
    return Finding(
        gate="canary",
        rule=rule,
        severity=severity,
        message=message,
        dataset=m.name,
        location=m.head.location or Location(m.path, 1),
        **kw,
    )


def _model_findings(m: ModelCanary, config: ProjectConfig) -> Iterator[Finding]:
    t = config.canary.thresholds
    for qr in m.quality:
        if qr.passed is False:
            c = qr.check
            severe = c.severity == "error" and t.quality_error_fails
            yield Finding(
                gate="canary",
                rule="canary-quality",
                severity=Severity.ERROR if severe else Severity.WARNING,
                message=f"{m.name}: quality rule '{c.name}' fails on the head output: observed "
                f"{_fmt(qr.observed)}{'%' if c.unit == 'percent' else ''}, rule {c.operator} {c.value}",
                dataset=m.name,
                column=c.column,
                location=c.location or Location(m.path, 1),
                old=None,
                new=qr.observed,
                hint="fix the model, or the rule if the new data is right",
            )
    r = m.reconciliation
    if r is None:
        return
    pct = 100 * r.changed_share
    limit = t.changed_rows_pct if m.contracted else t.uncontracted_changed_rows_pct
    intent = config.canary.intent
    # Changes the pull request declares (only intended columns changed, no rows gained or lost) warn
    # instead of failing: the reviewer still sees them, the author is not forced to edit thresholds.
    intended = (
        bool(intent)
        and not r.added
        and not r.removed
        and all(_intended(m.name, c, intent) for c in r.changed_columns)
    )
    if r.differing_rows:
        over = limit is not None and pct > limit
        severity = (
            Severity.ERROR
            if over and not intended
            else (Severity.WARNING if over or not m.contracted else Severity.NOTICE)
        )
        what = f"{r.added:,} added, {r.removed:,} removed" + (
            f", {r.changed:,} changed" if r.changed is not None else ""
        )
        yield _finding(
            m,
            "canary-changed-rows",
            severity,
            f"{m.name}: {pct:.1f}% of rows differ between base and head ({what})"
            + (f", over the {limit:g}% threshold" if over else "")
            + (" (within the declared intent)" if intended else ""),
            hint="if the change is intended, say so in canary.intent or raise canary.thresholds.changed_rows_pct"
            if over and not intended
            else None,
            data=MappingProxyType(
                {
                    "changed_share": r.changed_share,
                    "added": r.added,
                    "removed": r.removed,
                    "changed": r.changed,
                }
            ),
        )
    rcc = r.row_count_change
    if rcc is not None and abs(100 * rcc) > t.row_count_change_pct:
        yield _finding(
            m,
            "canary-row-count",
            Severity.ERROR if m.contracted else Severity.WARNING,
            f"{m.name}: row count {r.rows_left:,} -> {r.rows_right:,} ({_signed_pct(rcc)}), over the "
            f"{t.row_count_change_pct:g}% threshold",
            old=r.rows_left,
            new=r.rows_right,
            hint="a join that fans out or a filter that changed? see the example rows",
        )
    base_dups = r.left_keys.duplicate_keys if r.left_keys else 0
    head_dups = r.right_keys.duplicate_keys if r.right_keys else 0
    if head_dups > base_dups:
        yield _finding(
            m,
            "canary-duplicate-keys",
            Severity.ERROR if m.contracted else Severity.WARNING,
            f"{m.name}: {head_dups:,} key value(s) of ({', '.join(r.key)}) occur more than once in head "
            f"(base: {base_dups:,})",
            column=", ".join(r.key),
            old=base_dups,
            new=head_dups,
            hint="the key is no longer unique: look for a join that duplicates rows",
        )
    if intent:
        for cr in r.columns:
            if cr.changed and not _intended(m.name, cr.name, intent):
                yield _finding(
                    m,
                    "canary-unexpected-change",
                    Severity(t.unexpected_column_change),
                    f"{m.name}.{cr.name} changed in {cr.changed:,} row(s), outside the declared intent",
                    column=cr.name,
                    hint="add it to canary.intent in datacanary.yml if the change is meant",
                )
    for s in r.schema:
        yield _finding(
            m,
            "canary-schema-change",
            Severity.NOTICE if s.change == "added" else Severity.WARNING,
            f"{m.name}.{s.column} {s.change} in the output"
            + (f" ({s.left_type} -> {s.right_type})" if s.change == "retyped" else ""),
            column=s.column,
            old=s.left_type,
            new=s.right_type,
        )


def _intended(model: str, column: str, intent: list[str]) -> bool:
    return any(i in (model, f"{model}.*", f"{model}.{column}", column) for i in intent)


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


def _signed_pct(v: float) -> str:
    return "new rows" if v == float("inf") else f"{100 * v:+.1f}%"
