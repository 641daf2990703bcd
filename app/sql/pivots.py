"""DuckDB's PIVOT statement inside a query, as the SELECT ... PIVOT (...) clause sqlglot can scope. [pure]

`(PIVOT t ON k IN (...) USING sum(v) GROUP BY g) p` or `with p as (PIVOT ...)`: sqlglot's scopes cannot
walk the statement form (qualify fails with an AssertionError, a CTE of it reads as an unknown table), so
it becomes `(SELECT g, "k1", "k2" FROM t PIVOT (sum(v) FOR k IN (...) GROUP BY g)) p`, which DuckDB runs
the same. When an ON column has no IN list the pivoted columns are the data's values: the query keeps
the names its readers use of them, each read from every column the pivot reads, and a `*` over it is
ColumnsUnknown.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope, build_scope

from app.errors import SqlError
from app.project.model import ModelFile
from app.sql.parse import PIVOT_STATEMENT, location_of
from app.sql.qualify import ColumnsUnknown

# set on the pivot clause when its columns come from the values in the data (no IN list)
DYNAMIC = "datacanary_dynamic_pivot"


def standard_pivots(model: ModelFile, tree: exp.Query, dialect: str) -> None:
    """Rewrite every PIVOT statement nested in `tree` IN PLACE into the PIVOT clause of a SELECT."""
    dynamic: list[tuple[exp.Select, exp.Pivot]] = []
    for statement in [p for p in tree.find_all(exp.Pivot) if _is_statement(p)]:
        if statement.args.get("unpivot"):
            statement.replace(_unpivot_as_select(model, statement))
            continue
        select, pivot = _as_select(statement, dialect)
        statement.replace(select)
        if pivot.meta.get(DYNAMIC):
            dynamic.append((select, pivot))
    for pivot in [p for p in tree.find_all(exp.Pivot) if p.args.get("group") and p.arg_key == "pivots"]:
        _list_grouped_star(pivot)
    if dynamic:
        _name_dynamic_columns(model, tree, dynamic)


def _list_grouped_star(pivot: exp.Pivot) -> None:
    """`SELECT * FROM t PIVOT (... GROUP BY g)` lists g and the pivoted columns: sqlglot's `*` over it
    keeps every other column of t and drops g, so the output would read as the wrong columns."""
    select = pivot.parent.parent.parent if pivot.parent is not None and pivot.parent.parent else None
    if not isinstance(select, exp.Select) or select.args.get("joins") or pivot.meta.get(DYNAMIC):
        return
    if [type(p) for p in select.expressions] != [exp.Star] or select.expressions[0].args.get("except"):
        return
    group = pivot.args["group"].expressions
    if all(isinstance(g, exp.Column) for g in group):
        columns = pivot.args.get("columns") or ()
        select.set("expressions", [*(g.copy() for g in group), *(exp.column(c.copy()) for c in columns)])


def _is_statement(pivot: exp.Pivot) -> bool:
    # the clause form hangs off a table (`pivots`); the statement form has its own source in `this`
    return pivot.arg_key != "pivots" and pivot.this is not None


def _as_select(statement: exp.Pivot, dialect: str) -> tuple[exp.Select, exp.Pivot]:
    source: exp.Expr = statement.this
    on: list[exp.Expr] = list(statement.expressions)
    using: list[exp.Expr] = list(statement.args.get("using") or ())
    group = statement.args.get("group")
    columns = _pivot_columns(on, using, dialect)
    pivot = exp.Pivot(
        expressions=using,
        fields=[f if isinstance(f, exp.In) else exp.In(this=f, expressions=[]) for f in on],
        unpivot=False,
        group=group,
        columns=columns or [],
    )
    if columns is None:
        pivot.meta[DYNAMIC] = True
    table = _pivoted(source, pivot)
    if group is None:
        # every column it neither pivots on nor aggregates passes through, as with SELECT * over it
        projections: list[exp.Expr] = [exp.Star()]
    else:
        # explicit: sqlglot's `*` over a pivot with GROUP BY drops the grouped columns, not the others
        projections = [g.copy() for g in group.expressions] + [exp.column(c.copy()) for c in columns or ()]
    return exp.select(*projections).from_(table), pivot


def _unpivot_as_select(model: ModelFile, statement: exp.Pivot) -> exp.Select:
    """`UNPIVOT t ON a, b INTO NAME n VALUE v` as `SELECT * FROM t UNPIVOT (v FOR n IN (a, b))`: the
    other columns of t, then n, then v (DuckDB's default names are `name` and `value`)."""
    into = statement.args.get("into")
    name = into.this if isinstance(into, exp.UnpivotColumns) else exp.to_identifier("name")
    values = list(into.expressions) if isinstance(into, exp.UnpivotColumns) else [exp.to_identifier("value")]
    unpivoted: list[exp.Expr] = []
    for on in statement.expressions:
        inner = on.this if isinstance(on, exp.Alias) else on
        if not isinstance(inner, (exp.Column, exp.Tuple)) or any(
            not isinstance(c, exp.Column) or c.is_star for c in inner.find_all(exp.Column, exp.Star)
        ):
            raise SqlError(
                f"model {model.name!r} unpivots columns chosen by a pattern ({on.sql('duckdb')}): their "
                "names, hence the NAME and VALUE columns' lineage, are not read here",
                location_of(model.path, model.sql, next(iter(on.find_all(exp.Identifier, exp.Star)), on)),
                "name the columns it unpivots: `UNPIVOT t ON jan, feb, mar INTO NAME month VALUE sales`",
            )
        alias = on.args.get("alias") if isinstance(on, exp.Alias) else None
        unpivoted.append(exp.PivotAlias(this=inner.copy(), alias=alias.copy()) if alias else inner.copy())
    value = [_name(v) for v in values]
    pivot = exp.Pivot(
        expressions=value if len(value) == 1 else [exp.Tuple(expressions=value)],
        fields=[exp.In(this=_name(name), expressions=unpivoted)],
        unpivot=True,
    )
    return exp.select(exp.Star()).from_(_pivoted(statement.this, pivot))


def _pivoted(source: exp.Expr, pivot: exp.Pivot) -> exp.Expr:
    """The statement's source (a table, a subquery, a table function) with `pivot` as its clause."""
    table = source if isinstance(source, (exp.Table, exp.Subquery)) else exp.Table(this=source)
    table.append("pivots", pivot)
    return table


def _name(node: exp.Expr) -> exp.Identifier:
    ident = node.this if isinstance(node, exp.Column) else node
    return ident.copy() if isinstance(ident, exp.Identifier) else exp.to_identifier(node.name)


def _pivot_columns(on: list[exp.Expr], using: list[exp.Expr], dialect: str) -> list[exp.Identifier] | None:
    """The pivoted columns, named as the engine names them; None when the data decides them."""
    if not all(isinstance(f, exp.In) and f.expressions and isinstance(f.this, exp.Column) for f in on):
        return None
    aggregates = ", ".join(u.sql(dialect) for u in using)
    fields = " ".join(f.sql(dialect) for f in on)
    try:  # sqlglot names the columns of the clause form while parsing it, as the engine does
        parsed = sqlglot.parse_one(f"SELECT * FROM t PIVOT ({aggregates} FOR {fields})", read=dialect)
    except SqlglotError:  # pragma: no cover - both parts were parsed from this very dialect
        return None
    found = parsed.find(exp.Pivot)
    return list(found.args.get("columns") or ()) if found is not None else None


def _name_dynamic_columns(
    model: ModelFile, tree: exp.Query, dynamic: list[tuple[exp.Select, exp.Pivot]]
) -> None:
    """Give each pivot whose values the data decides the columns its readers name of it."""
    root = build_scope(tree)
    if root is None:  # pragma: no cover - `tree` is a query
        return
    wanted: dict[int, set[str]] = {id(select): set() for select, _ in dynamic}
    for scope in root.traverse():
        for alias, source in scope.sources.items():
            if not isinstance(source, Scope) or id(source.expression) not in wanted:
                continue
            only = len(scope.selected_sources) == 1
            for projection in scope.expression.selects if isinstance(scope.expression, exp.Select) else ():
                star = isinstance(projection, exp.Star) or (
                    isinstance(projection, exp.Column)
                    and projection.is_star
                    and projection.table in ("", alias)
                )
                if star:
                    raise _unknown(model, source.expression, bool(scope.expression.meta.get(PIVOT_STATEMENT)))
            for col in scope.columns:
                if col.table == alias or (not col.table and only):
                    wanted[id(source.expression)].add(col.name)
    for select, pivot in dynamic:
        grouped = {g.alias_or_name for g in (pivot.args.get("group") or exp.Group()).expressions}
        names = sorted(wanted[id(select)] - grouped)
        pivot.set("columns", [exp.to_identifier(n, quoted=True) for n in names])
        # without GROUP BY the passed-through columns are unknown as well: each name read stands for
        # either, and its lineage for both (app.sql.lineage)
        kept = select.expressions if grouped else []
        select.set("expressions", [*kept, *(exp.column(n, quoted=True) for n in names)])


def _unknown(model: ModelFile, select: exp.Expr, whole: bool) -> SqlError:
    pivot = select.find(exp.Pivot)
    field = pivot.args["fields"][0].this if pivot is not None else select
    what = "is a PIVOT statement" if whole else "selects * from a PIVOT"
    return ColumnsUnknown(
        f"model {model.name!r} {what} whose columns are the values of the data "
        f"({field.sql()} has no IN list)",
        location_of(model.path, model.sql, field.this if isinstance(field, exp.Column) else field),
        "list the values the pivot makes columns of (`ON k IN ('a', 'b')`), or name the columns read of it",
    )
