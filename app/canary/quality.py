"""A contract's quality rules as SQL over the head output, and their verdicts. [pure]

Implied rules come from the schema (required => no NULLs, unique, primaryKey => unique and not NULL,
allowed values, logicalTypeOptions ranges, lengths and patterns); explicit ODCS `quality` rules add
library metrics (nullValues, missingValues, invalidValues, duplicateValues, rowCount) with their
operators and units, and `sql` rules whose query returns one number (compiled by the caller, since
a rule's query is untrusted text like a model). All library checks of a dataset run in ONE scan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from sqlglot import exp

from app.canary import exprs as q
from app.contracts.model import Column, Dataset, QualityRule
from app.types import Location

_NULL = exp.Null()


@dataclass(frozen=True, slots=True)
class QualityCheck:
    """One check: `expr` is an aggregate over the table (NULL for sql rules, whose query the caller runs)."""

    name: str
    column: str | None
    metric: str
    operator: str
    value: Any
    unit: str  # rows | percent
    severity: str
    location: Location | None
    expr: exp.Expr | None = None
    query: str | None = None
    description: str | None = None
    implied: bool = False  # from the schema (required, unique, ...) rather than a `quality` rule


class _RuleFields(TypedDict):
    """The QualityCheck fields every kind of rule fills the same way (passed on with **)."""

    name: str
    column: str | None
    operator: str
    value: Any
    unit: str
    severity: str
    location: Location | None
    description: str | None


@dataclass(frozen=True, slots=True)
class QualityResult:
    check: QualityCheck
    observed: float | None
    passed: bool | None  # None: could not be evaluated (see error)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        c = self.check
        return {
            "name": c.name,
            "column": c.column,
            "metric": c.metric,
            "operator": c.operator,
            "value": c.value,
            "unit": c.unit,
            "severity": c.severity,
            "observed": self.observed,
            "passed": self.passed,
            "error": self.error,
            "file": c.location.path if c.location else None,
            "line": c.location.line if c.location else None,
        }


def _is_null(c: exp.Expr) -> exp.Expr:
    return exp.Is(this=c.copy(), expression=_NULL.copy())


def _count_if(cond: exp.Expr) -> exp.Expr:
    return q.filtered(q.count_star(), cond)


def _duplicates(cols: list[str]) -> exp.Expr:
    """Non-NULL rows minus distinct values: how many rows repeat a value already seen."""
    if len(cols) == 1:
        c = q.col(cols[0])
        return exp.Sub(
            this=exp.Count(this=c), expression=exp.Count(this=exp.Distinct(expressions=[c.copy()]))
        )
    k = q.key_struct(cols)
    return exp.Sub(this=q.count_star(), expression=exp.Count(this=exp.Distinct(expressions=[k])))


def _invalid(c: exp.Expr, valid: tuple[Any, ...]) -> exp.Expr:
    # NULL is never an invalid value; a null listed as valid must not reach IN, where it makes
    # `NOT x IN (..., NULL)` NULL for every other value and so counts nothing invalid
    values = [q.lit(v) for v in valid if v is not None]
    outside = exp.Not(this=c.copy().isin(*values)) if values else exp.true()
    return _count_if(exp.and_(exp.Not(this=_is_null(c)), outside))


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _option_checks(col: Column) -> list[tuple[str, exp.Expr]]:
    c = q.col(col.output_name)
    text = q.cast(c.copy(), "VARCHAR")
    out = []
    bounds = (
        ("minimum", "exclusiveMinimum", exp.LT, exp.LTE),
        ("maximum", "exclusiveMaximum", exp.GT, exp.GTE),
    )
    for plain, exclusive, bad, bad_exclusive in bounds:
        bound, excluded = col.option(plain), col.option(exclusive)
        if _number(bound):
            # ODCS 3.0's boolean form: `exclusiveMaximum: true` makes `maximum` itself exclusive
            name, test = (f"{plain} (exclusive)", bad_exclusive) if excluded is True else (plain, bad)
            out.append((name, _count_if(test(this=c.copy(), expression=q.lit(bound)))))
        if _number(excluded):  # 3.1's form: the exclusive bound itself
            out.append((exclusive, _count_if(bad_exclusive(this=c.copy(), expression=q.lit(excluded)))))
    if isinstance(col.option("minLength"), int):
        out.append(
            (
                "minLength",
                _count_if(
                    exp.LT(this=exp.Length(this=text.copy()), expression=q.lit(col.option("minLength")))
                ),
            )
        )
    if isinstance(col.option("maxLength"), int):
        out.append(
            (
                "maxLength",
                _count_if(
                    exp.GT(this=exp.Length(this=text.copy()), expression=q.lit(col.option("maxLength")))
                ),
            )
        )
    if isinstance(col.option("pattern"), str):
        match = exp.RegexpLike(this=text.copy(), expression=q.lit("^(?:" + col.option("pattern") + ")$"))
        out.append(("pattern", _count_if(exp.and_(exp.Not(this=_is_null(c)), exp.Not(this=match)))))
    return out


def checks_for(dataset: Dataset) -> tuple[QualityCheck, ...]:
    """Every check the contract implies or declares for `dataset`."""
    out: list[QualityCheck] = []

    def implied(name: str, column: str | None, metric: str, expr: exp.Expr, loc: Location | None) -> None:
        out.append(QualityCheck(name, column, metric, "mustBe", 0, "rows", "error", loc, expr, implied=True))

    pk = list(dataset.primary_key)
    for col in dataset.table_columns:  # a nested field is no column of its own to query
        c, n = q.col(col.output_name), col.output_name
        if col.required or col.primary_key:
            implied(f"{n} required", n, "nullValues", _count_if(_is_null(c)), col.location)
        if col.unique and not (col.primary_key and len(pk) == 1):
            implied(f"{n} unique", n, "duplicateValues", _duplicates([n]), col.location)
        if col.allowed_values:
            implied(f"{n} allowed values", n, "invalidValues", _invalid(c, col.allowed_values), col.location)
        for opt, expr in _option_checks(col):
            implied(f"{n} {opt}", n, "invalidValues", expr, col.location)
        for rule in col.quality:
            out.append(_rule(rule, n))
    if pk:
        implied(
            f"primary key ({', '.join(pk)}) unique",
            ", ".join(pk),
            "duplicateValues",
            _duplicates(pk),
            dataset.location,
        )
    for rule in dataset.quality:
        out.append(_rule(rule, None))
    # An explicit rule on the same metric and column says it better (its own operator, severity, line).
    explicit = {(o.metric, o.column) for o in out if not o.implied}
    return tuple(
        o for o in out if o.metric != "skip" and not (o.implied and (o.metric, o.column) in explicit)
    )


def _rule(rule: QualityRule, column: str | None) -> QualityCheck:
    operator = rule.operator or ("mustBeGreaterThan" if rule.metric == "rowCount" else "mustBe")
    value = rule.value if rule.operator else 0
    unit = rule.unit or "rows"
    base = _RuleFields(
        name=rule.key if column is None else f"{column} {rule.key}",
        column=column,
        operator=operator,
        value=value,
        unit=unit,
        severity=rule.severity,
        location=rule.location,
        description=rule.description,
    )
    if rule.type == "sql" and rule.query:
        return QualityCheck(metric="sql", query=rule.query, **base)
    c = q.col(column) if column else None
    expr: exp.Expr | None = None
    if rule.metric == "rowCount":
        expr = q.count_star()
    elif rule.metric == "nullValues" and c is not None:
        expr = _count_if(_is_null(c))
    elif rule.metric == "missingValues" and c is not None:
        missing = [v for v in (rule.argument("missingValues") or [""]) if v is not None]
        cond = _is_null(c)
        if missing:
            cond = exp.or_(cond, q.cast(c.copy(), "VARCHAR").isin(*[q.lit(str(v)) for v in missing]))
        expr = _count_if(cond)
    elif rule.metric == "invalidValues" and c is not None:
        valid, pattern = rule.argument("validValues"), rule.argument("pattern")
        if valid:
            expr = _invalid(c, tuple(valid))
        elif isinstance(pattern, str):
            match = exp.RegexpLike(this=q.cast(c.copy(), "VARCHAR"), expression=q.lit(pattern))
            expr = _count_if(exp.and_(exp.Not(this=_is_null(c)), exp.Not(this=match)))
    elif rule.metric == "duplicateValues":
        cols = [column] if column else [str(p) for p in rule.argument("properties") or []]
        expr = _duplicates(cols) if cols else None
        if column is None and cols:
            base.update({"column": ", ".join(cols), "name": f"{rule.key} ({', '.join(cols)})"})
    if expr is None:
        return QualityCheck(metric="skip", **base)
    return QualityCheck(metric=rule.metric or "", expr=expr, **base)


def scan_sql(rel: exp.Table, checks: tuple[QualityCheck, ...], dialect: str = q.DIALECT) -> str:
    """One scan computing `rows` and `q<i>` for every library check (sql checks are run separately), in
    `dialect` (DuckDB, PostgreSQL, Spark: where the audited table lives)."""
    out = [exp.alias_(q.count_star(), "rows", quoted=True)]
    out += [
        exp.alias_(c.expr.copy(), f"q{i}", quoted=True) for i, c in enumerate(checks) if c.expr is not None
    ]
    tree: exp.Expr = exp.select(*out).from_(rel.copy())
    if dialect == "postgres":  # a composite key's struct: PostgreSQL has no STRUCT, its ROW compares alike
        tree = tree.transform(_row_for_struct)
    return tree.sql(dialect=dialect)


def _row_for_struct(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Struct):
        values = [e.expression if isinstance(e, exp.PropertyEQ) else e for e in node.expressions]
        return exp.Anonymous(this="ROW", expressions=[v.copy() for v in values])
    return node


def measure(
    run: Callable[[str], Mapping[str, Any]],
    rel: exp.Table,
    checks: Sequence[QualityCheck],
    errors: tuple[type[Exception], ...],
    dialect: str = q.DIALECT,
) -> tuple[int, list[QualityResult]]:
    """The row count and a result per library check of `checks`, measured with `run` (SQL -> first
    row; raises one of `errors`). One scan; when it fails, the count alone (its error propagates: the
    table cannot be read) and then one scan per check, so a rule that cannot run on its column (e.g.
    `validValues: [1, 2]` on a VARCHAR) fails alone, with its error, and the others still count."""
    library = tuple(c for c in checks if c.expr is not None)
    try:
        row = run(scan_sql(rel, library, dialect))
        rows = int(row["rows"])
        return rows, [evaluate(c, row[f"q{i}"], rows) for i, c in enumerate(library)]
    except errors:
        if not library:
            raise
    rows = int(run(scan_sql(rel, (), dialect))["rows"])
    out: list[QualityResult] = []
    for check in library:
        try:
            out.append(evaluate(check, run(scan_sql(rel, (check,), dialect))["q0"], rows))
        except errors as exc:
            why = getattr(exc, "message", None) or str(exc).strip().splitlines()[0]
            out.append(QualityResult(check, None, None, f"the rule cannot run on this data: {why}"))
    return rows, out


def evaluate(check: QualityCheck, observed: float | None, rows: int) -> QualityResult:
    """Compare an observed count with the rule (percent units are relative to the row count)."""
    if observed is None:
        return QualityResult(check, None, None, "no value")
    value = float(observed)
    if check.unit == "percent" and check.metric not in ("rowCount", "sql"):
        value = 0.0 if rows == 0 else 100.0 * value / rows
    return QualityResult(check, value, _compare(check.operator, value, check.value))


def _compare(op: str, x: float, v: Any) -> bool | None:
    try:
        if op in ("mustBeBetween", "mustNotBeBetween"):
            lo, hi = float(v[0]), float(v[1])
            inside = lo <= x <= hi
            return inside if op == "mustBeBetween" else not inside
        t = float(v)
    except (TypeError, ValueError, IndexError):
        return None
    return {
        "mustBe": x == t,
        "mustNotBe": x != t,
        "mustBeGreaterThan": x > t,
        "mustBeGreaterOrEqualTo": x >= t,
        "mustBeLessThan": x < t,
        "mustBeLessOrEqualTo": x <= t,
    }.get(op)
