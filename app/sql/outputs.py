"""Where a model's output columns are written: the line of each select expression, by output name."""

from __future__ import annotations

from sqlglot import exp

from app.project.model import ModelFile
from app.sql.parse import location_of
from app.sql.schema import normalize_name
from app.types import Location


def set_operation_selects(query: exp.Expr) -> list[exp.Select]:
    """The SELECT branches of a UNION/INTERSECT/EXCEPT chain, left to right (a SELECT alone: itself)."""
    query = query.unnest() if isinstance(query, exp.Subquery) else query
    if isinstance(query, exp.SetOperation):
        return set_operation_selects(query.this) + set_operation_selects(query.expression)
    return [query] if isinstance(query, exp.Select) else []


def output_name(projection: exp.Expr, dialect: str) -> str | None:
    """The output column name a projection produces, normalized as the dialect stores it."""
    ident: exp.Expr | None = None
    if isinstance(projection, exp.Alias):
        ident = projection.args.get("alias")
    elif isinstance(projection, exp.Column) and not projection.is_star:
        ident = projection.this
    if not isinstance(ident, exp.Identifier):
        return None
    return ident.name if ident.quoted else normalize_name(ident.name, dialect)


def first_token(node: exp.Expr) -> exp.Expr:
    """The node holding the earliest source position inside `node` (or `node` itself)."""
    inner = node.this if isinstance(node, exp.Alias) else node
    if isinstance(inner, exp.Column) and isinstance(inner.this, exp.Identifier) and not inner.table:
        return inner.this  # the common case, without walking
    best, best_start = node, None
    for n in node.walk():
        start = n.meta.get("start") if n.meta else None
        if start is not None and (best_start is None or start < best_start):
            best, best_start = n, start
    return best


def output_locations(
    model: ModelFile, query: exp.Query, dialect: str
) -> tuple[dict[str, Location], Location | None]:
    """Output name -> where its select expression starts, plus where the first `*` is (columns that
    a star expands to are reported there)."""
    selects = set_operation_selects(query)
    out: dict[str, Location] = {}
    star: Location | None = None
    for proj in selects[0].expressions if selects else ():
        loc = location_of(model.path, model.sql, first_token(proj))
        if isinstance(proj, exp.Star) or (isinstance(proj, exp.Column) and proj.is_star):
            star = star or loc
            continue
        name = output_name(proj, dialect)
        if name is not None:
            out.setdefault(name, loc)
    return out, star
