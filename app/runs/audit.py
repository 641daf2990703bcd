"""The audit of a freshly written table against its contract: declared columns present, required
columns without nulls, unique and primary-key columns without duplicates, and the contract's quality
rules (ODCS library metrics and `sql` rules). Each check is one sqlglot-built query returning one
number, compared in Python with the rule's operator. [pure]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

from app.contracts.model import Column, Dataset, QualityRule
from app.slo.sli import DIALECT, table
from app.types import Location


@dataclass(frozen=True, slots=True)
class Check:
    """One audit check: `sql` yields a number that must satisfy `operator value`."""

    name: str
    severity: str  # error | warning | info (ODCS severity)
    sql: str
    operator: str
    value: Any
    location: Location | None = None

    def passes(self, measured: float | None) -> bool:
        return satisfies(self.operator, self.value, measured)


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    measured: float | None
    passed: bool
    error: str | None = None


def satisfies(operator: str, value: Any, measured: float | None) -> bool:
    """ODCS comparison operators; an unmeasurable value never passes."""
    if measured is None or (isinstance(measured, float) and math.isnan(measured)):
        return False
    if operator in ("mustBeBetween", "mustNotBeBetween"):
        lo, hi = float(value[0]), float(value[1])
        inside = lo <= measured <= hi
        return inside if operator == "mustBeBetween" else not inside
    v = float(value)
    return {
        "mustBe": measured == v,
        "mustNotBe": measured != v,
        "mustBeGreaterThan": measured > v,
        "mustBeGreaterOrEqualTo": measured >= v,
        "mustBeLessThan": measured < v,
        "mustBeLessOrEqualTo": measured <= v,
    }[operator]


def _col(c: Column) -> exp.Column:
    return exp.column(c.output_name, quoted=True)


def _count(rel: exp.Table, where: exp.Expression | None = None) -> str:
    q = exp.select(exp.Count(this=exp.Star())).from_(rel.copy())
    return (q.where(where) if where is not None else q).sql(dialect=DIALECT)


def _duplicates(rel: exp.Table, cols: Sequence[exp.Expression]) -> str:
    """Rows beyond the first of each non-null key: 0 when the key is unique."""
    not_null = exp.and_(*(exp.Not(this=exp.Is(this=c.copy(), expression=exp.Null())) for c in cols))
    total = exp.select(exp.Count(this=exp.Star())).from_(rel.copy()).where(not_null)
    distinct = exp.select(exp.Count(this=exp.Distinct(expressions=[exp.Tuple(expressions=[c.copy() for c in cols])]
                                                      if len(cols) > 1 else [cols[0].copy()])))
    distinct = distinct.from_(rel.copy()).where(not_null.copy())
    return exp.select(exp.Sub(this=exp.paren(total), expression=exp.paren(distinct))).sql(dialect=DIALECT)


def _metric(rule: QualityRule, rel: exp.Table, column: Column | None) -> str | None:
    """SQL measuring one ODCS library metric (rows or percent per `unit`); None when unsupported."""
    target = _col(column) if column is not None else None
    metric = rule.metric
    if metric == "rowCount":
        return _count(rel)
    if target is None:
        if metric == "duplicateValues" and rule.argument("properties"):
            cols = [exp.column(str(p), quoted=True) for p in rule.argument("properties")]
            return _duplicates(rel, cols)
        return None
    if metric == "nullValues":
        bad = exp.Is(this=target, expression=exp.Null())
    elif metric == "missingValues":
        missing = rule.argument("missingValues", [None, ""]) or [None]
        values = [exp.convert(v) for v in missing if v is not None]
        bad = exp.Is(this=target.copy(), expression=exp.Null())
        if values:
            bad = exp.or_(bad, exp.In(this=target.copy(), expressions=values))
    elif metric == "invalidValues":
        valid = rule.argument("validValues")
        pattern = rule.argument("pattern")
        if valid:
            bad = exp.Not(this=exp.In(this=target.copy(), expressions=[exp.convert(v) for v in valid]))
        elif pattern:
            bad = exp.Not(this=exp.RegexpFullMatch(this=exp.cast(target.copy(), "VARCHAR"),
                                                   expression=exp.convert(str(pattern))))
        else:
            return None
        bad = exp.and_(exp.Not(this=exp.Is(this=target.copy(), expression=exp.Null())), bad)
    elif metric == "duplicateValues":
        return _duplicates(rel, [target])
    else:
        return None
    if rule.unit == "percent":
        pct = exp.select(exp.func("COALESCE", exp.Mul(this=exp.paren(exp.func(
            "AVG", exp.Case(ifs=[exp.If(this=bad, true=exp.Literal.number(1.0))], default=exp.Literal.number(0.0)))),
            expression=exp.Literal.number(100)), exp.Literal.number(0))).from_(rel.copy())
        return pct.sql(dialect=DIALECT)
    return _count(rel, bad)


def _sql_rule(rule: QualityRule, rel: exp.Table, dataset: Dataset) -> str | None:
    """An ODCS `sql` rule; `{object}` / `${object}` and the dataset's own name point at the audited table."""
    if not rule.query:
        return None
    text = rule.query.replace("${object}", "{object}").replace("{object}", dataset.output_name)
    tree = sqlglot.parse_one(text, read=DIALECT)
    for t in tree.find_all(exp.Table):
        if t.name in (dataset.name, dataset.output_name) and not t.db:
            t.replace(rel.copy())
    return tree.sql(dialect=DIALECT)


def checks(dataset: Dataset, relation: str) -> tuple[Check, ...]:
    """Every audit check of `dataset`, measured against `relation` (e.g. `analytics.orders__v4`)."""
    rel = table(relation)
    out: list[Check] = []
    for c in dataset.columns:
        if c.required or c.primary_key:
            out.append(Check(f"{c.output_name} is required (no nulls)", "error",
                             _count(rel, exp.Is(this=_col(c), expression=exp.Null())), "mustBe", 0, c.location))
        if c.unique and not (c.primary_key and len(dataset.primary_key) > 1):
            out.append(Check(f"{c.output_name} is unique", "error", _duplicates(rel, [_col(c)]), "mustBe", 0,
                             c.location))
    if len(dataset.primary_key) > 1:
        cols = [exp.column(k, quoted=True) for k in dataset.primary_key]
        out.append(Check(f"primary key ({', '.join(dataset.primary_key)}) is unique", "error",
                         _duplicates(rel, cols), "mustBe", 0, dataset.location))
    rules = [(q, None) for q in dataset.quality] + [(q, c) for c in dataset.columns for q in c.quality]
    for rule, column in rules:
        sql = _sql_rule(rule, rel, dataset) if rule.type == "sql" else (
            _metric(rule, rel, column) if rule.type == "library" else None)
        if sql is None or rule.operator is None:
            continue  # text and custom rules are for people; unsupported metrics are skipped, not guessed
        where = f"{column.output_name}: " if column is not None else ""
        out.append(Check(f"{where}{rule.key}", rule.severity, sql, rule.operator, rule.value, rule.location))
    return tuple(out)


def columns_missing(dataset: Dataset, present: Sequence[str]) -> tuple[str, ...]:
    """Declared columns the written table does not have."""
    have = {p.lower() for p in present}
    return tuple(c.output_name for c in dataset.columns if c.output_name.lower() not in have)
