"""Per-model fingerprints of a promotion canary, and their reconciliation across environments. [pure]

The same artifact runs in each environment on that environment's data. The data differ (a sample of
prod is not staging's data), so the comparison looks at what the same code must keep stable: the output
schema, null rates per column, quality-rule outcomes and non-emptiness. Row counts are compared only at
equal sampling, against `row_count_change_pct`, and only warn: volumes differ between environments.
Thresholds are the canary gate's (`canary.thresholds` of the target environment's effective config).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlglot import exp

from app.findings import Finding
from app.project.config import CanaryThresholds
from app.types import Location, Severity

GATE = "promotion"
_NUMERIC = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "REAL",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)


def fingerprint_query(table: exp.Table, columns: Sequence[tuple[str, str]]) -> str:
    """One scan: row count, and per column nulls, distinct count, min and max (mean for numbers)."""
    selects: list[exp.Expr] = [exp.alias_(exp.Count(this=exp.Star()), "__rows", quoted=True)]
    for i, (name, type_) in enumerate(columns):
        col = exp.column(name, quoted=True)
        selects += [
            exp.alias_(exp.Count(this=exp.Star()) - exp.Count(this=col.copy()), f"n{i}", quoted=True),
            exp.alias_(exp.Count(this=exp.Distinct(expressions=[col.copy()])), f"d{i}", quoted=True),
            # min/max compared in the column's own order, stored as text so any type fits in JSON
            exp.alias_(exp.cast(exp.Min(this=col.copy()), "VARCHAR"), f"lo{i}", quoted=True),
            exp.alias_(exp.cast(exp.Max(this=col.copy()), "VARCHAR"), f"hi{i}", quoted=True),
            exp.alias_(
                exp.Avg(this=exp.cast(col.copy(), "DOUBLE")) if _numeric(type_) else exp.null(),
                f"m{i}",
                quoted=True,
            ),
        ]
    return exp.select(*selects).from_(table.copy()).sql("duckdb")


def fingerprint_from_row(
    row: Sequence[Any], columns: Sequence[tuple[str, str]], fraction: float
) -> dict[str, Any]:
    """Shape the single result row of `fingerprint_query` into the stored fingerprint."""
    out: dict[str, Any] = {"rows": int(row[0]), "sample_fraction": fraction, "columns": {}}
    for i, (name, type_) in enumerate(columns):
        base = 1 + 5 * i
        nulls, distinct, lo, hi, mean = row[base : base + 5]
        out["columns"][name] = {
            "type": type_,
            "nulls": int(nulls),
            "distinct": int(distinct),
            "min": lo,
            "max": hi,
            "mean": None if mean is None else float(mean),
        }
    return out


def reconcile(
    model: str,
    path: str | None,
    before: Mapping[str, Any] | None,
    now: Mapping[str, Any],
    thresholds: CanaryThresholds,
    before_env: str | None,
) -> list[Finding]:
    """Findings for one model's fingerprint in the target environment against the environment before."""
    loc = Location(path, 1) if path else None
    found: list[Finding] = []

    def add(rule: str, severity: Severity, message: str, **data: Any) -> None:
        found.append(Finding(GATE, rule, severity, message, dataset=model, location=loc, data=data))

    for q in now.get("quality", []):
        if q.get("passed") is False:  # None: the rule could not be evaluated, which is not a failure
            sev = (
                Severity.ERROR
                if q.get("severity") == "error" and thresholds.quality_error_fails
                else Severity.WARNING
            )
            add(
                "quality-rule-failed",
                sev,
                f"quality rule {q.get('rule')!r} fails here: {q.get('detail', '')}".rstrip(": "),
            )
    if before is None:
        return found
    where = f"than in {before_env}" if before_env else "than before"
    was, is_ = before.get("columns", {}), now.get("columns", {})
    if {c: v.get("type") for c, v in was.items()} != {c: v.get("type") for c, v in is_.items()}:
        add(
            "schema-differs",
            Severity.ERROR,
            f"the same artifact produced different columns {where}: {_schema(was)} -> {_schema(is_)}",
            before=_schema(was),
            now=_schema(is_),
        )
    rows_before, rows_now = int(before.get("rows", 0)), int(now.get("rows", 0))
    if rows_before > 0 and rows_now == 0:
        add("empty-output", Severity.ERROR, f"no rows here, {rows_before} rows {where.replace('than ', '')}")
        return found
    for name in sorted(set(was) & set(is_)):
        rate_before = _rate(was[name].get("nulls", 0), rows_before)
        rate_now = _rate(is_[name].get("nulls", 0), rows_now)
        if abs(rate_now - rate_before) * 100 > thresholds.changed_rows_pct:
            add(
                "null-rate-shift",
                Severity.ERROR,
                f"column {name!r} is {rate_now:.1%} null here, {rate_before:.1%} {where.replace('than ', '')}"
                f" (threshold {thresholds.changed_rows_pct:g} points)",
                column=name,
                before=rate_before,
                now=rate_now,
            )
    # volumes are comparable only at the same sampling; an aggregate's row count does not scale with it
    if before.get("sample_fraction") == now.get("sample_fraction") and rows_before > 0:
        change = (rows_now - rows_before) / rows_before * 100
        if abs(change) > thresholds.row_count_change_pct:
            add(
                "row-count-shift",
                Severity.WARNING,
                f"{rows_now:,} rows vs {rows_before:,} {where.replace('than ', '')}"
                f" ({change:+.1f}%, threshold {thresholds.row_count_change_pct:g}%)",
                before=rows_before,
                now=rows_now,
            )
    return found


def _numeric(type_: str) -> bool:
    return type_.upper().split("(")[0].strip() in _NUMERIC


def _rate(nulls: Any, rows: int) -> float:
    return float(nulls) / rows if rows else 0.0


def _schema(columns: Mapping[str, Any]) -> str:
    return ", ".join(f"{c} {v.get('type')}" for c, v in columns.items()) or "(none)"
