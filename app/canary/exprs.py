"""sqlglot expression helpers for the canary's SQL built as trees: source loading and sampling, model
builds, quality rules (every identifier quoted, generated for DuckDB). [pure]

The reconciliation's own queries are text (`sqltext`, `queries`), see `sqltext` for why.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

DIALECT = "duckdb"


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def table(name: str, schema: str | None = None) -> exp.Table:
    """A quoted table reference `"schema"."name"`."""
    return exp.Table(this=ident(name), db=ident(schema) if schema else None)


def col(name: str, tbl: str | None = None) -> exp.Column:
    return exp.column(name, tbl, quoted=True)


def fn(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def lit(value: int | float | str) -> exp.Expr:
    return exp.convert(value)


def filtered(agg: exp.Expr, cond: exp.Expr) -> exp.Expr:
    return exp.Filter(this=agg, expression=exp.Where(this=cond))


def count_star() -> exp.Expr:
    return exp.Count(this=exp.Star())


def struct(fields: Sequence[tuple[str, exp.Expr]]) -> exp.Expr:
    return exp.Struct(expressions=[exp.PropertyEQ(this=ident(n), expression=e) for n, e in fields])


def cast(e: exp.Expr, to: str) -> exp.Expr:
    return exp.Cast(this=e, to=exp.DataType.build(to, dialect=DIALECT))


def sql(e: exp.Expr) -> str:
    return e.sql(dialect=DIALECT)


def key_struct(key: Sequence[str], tbl: str | None = None) -> exp.Expr:
    return struct([(k, col(k, tbl)) for k in key])
