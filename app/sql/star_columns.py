"""DuckDB's COLUMNS(...) in a select list, expanded as the engine does before qualification. [pure]

sqlglot's qualify leaves `COLUMNS('^a')`, `COLUMNS(*)` and `min(COLUMNS(*))` as one projection named
`_col_0` with no lineage. The engine makes one column per matching column of the FROM clause, keeping its
name: `min(COLUMNS(*))` over (a, b) is `min(a) AS a, min(b) AS b`. Each such projection is rewritten so,
with the columns sqlglot's own `*` expansion gives at that place.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.errors import OptimizeError, SchemaError
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from app.errors import SqlError
from app.project.model import ModelFile
from app.sql.parse import location_of

_MARK = "__datacanary_columns_{}_{}"


class UnreadableColumns(SqlError):
    """A COLUMNS(...) whose columns cannot be told without running it (a lambda, an alias pattern);
    app.sql.qualify reports it as the model's columns being unknown."""


def expand_columns(model: ModelFile, tree: exp.Query, schema: MappingSchema, dialect: str) -> exp.Query:
    """`tree` with every COLUMNS(...) projection expanded, innermost select first."""
    for _ in range(64):  # one select per round; a model has far fewer
        selects = [s for s in tree.find_all(exp.Select) if any(p.find(exp.Columns) for p in s.expressions)]
        if not selects:
            return tree
        # the innermost: its sources hold no COLUMNS(...) still to expand
        target = max(selects, key=_depth)
        _expand(model, tree, target, schema, dialect)
    return tree  # pragma: no cover - bounded above


def _depth(node: exp.Expr) -> int:
    depth = 0
    while node.parent is not None:
        node, depth = node.parent, depth + 1
    return depth


def _expand(
    model: ModelFile, tree: exp.Query, target: exp.Select, schema: MappingSchema, dialect: str
) -> None:
    # sqlglot's `*` at the place of each COLUMNS(...) tells the columns it can see, between two markers
    index = next(i for i, s in enumerate(tree.find_all(exp.Select)) if s is target)
    trial = tree.copy()
    select = next(s for i, s in enumerate(trial.find_all(exp.Select)) if i == index)
    spots = [i for i, p in enumerate(target.expressions) if p.find(exp.Columns)]
    projections: list[exp.Expr] = []
    for i, projection in enumerate(select.expressions):
        found = projection.find(exp.Columns)
        if found is None:
            projections.append(projection)
            continue
        star = found.this.copy() if isinstance(found.this, exp.Star) else exp.Star()
        projections += [exp.alias_(exp.Literal.number(1), _MARK.format(i, "a")), star]
        projections.append(exp.alias_(exp.Literal.number(1), _MARK.format(i, "z")))
    select.set("expressions", projections)
    try:
        qualify(
            trial, dialect=dialect, schema=schema, quote_identifiers=False, validate_qualify_columns=False
        )
    except (OptimizeError, SchemaError) as err:
        raise _unreadable(model, target, f"its columns could not be listed ({err})") from None
    names = [p.alias_or_name for p in select.expressions]
    expanded: list[exp.Expr] = []
    for i, projection in enumerate(target.expressions):
        if i not in spots:
            expanded.append(projection)
            continue
        start, end = names.index(_MARK.format(i, "a")), names.index(_MARK.format(i, "z"))
        seen = [p.unalias() for p in select.expressions[start + 1 : end]]
        if any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and p.is_star) for p in seen):
            why, hint = "nobody declared the columns of a table it reads", "declare the table's columns"
            raise _unreadable(model, projection, why, f"{hint} in datacanary.yml or list the columns")
        expanded += _instances(model, projection, [c for c in seen if isinstance(c, exp.Column)])
    target.set("expressions", expanded)


def _instances(model: ModelFile, projection: exp.Expr, seen: list[exp.Column]) -> list[exp.Expr]:
    """`projection` once per column of `seen` its COLUMNS(...) selects, named as the engine names it."""
    found = projection.find(exp.Columns)
    assert found is not None  # the caller found it
    selector = found.this
    if isinstance(selector, exp.Star):
        matches = seen
    elif isinstance(selector, exp.Literal) and selector.is_string:
        pattern = re.compile(selector.name)  # RE2 in the engine: the same for the patterns people write
        matches = [c for c in seen if pattern.search(c.name)]
    elif isinstance(selector, exp.Array) and all(
        isinstance(e, exp.Literal) and e.is_string for e in selector.expressions
    ):
        wanted = {e.name for e in selector.expressions}
        matches = [c for c in seen if c.name in wanted]
    else:
        raise _unreadable(model, projection, f"{selector.sql('duckdb')} cannot be evaluated here")
    alias = projection.alias if isinstance(projection, exp.Alias) else ""
    if alias and (len(matches) != 1 or "\\" in alias or "{" in alias):
        raise _unreadable(model, projection, f"the alias {alias!r} names several columns")
    out: list[exp.Expr] = []
    for column in matches:
        instance = projection.unalias().copy()
        inner = instance.find(exp.Columns)
        replacement = exp.column(column.name, table=column.table, quoted=True)
        if inner is instance:
            instance = replacement
        elif inner is not None:
            inner.replace(replacement)
        out.append(exp.alias_(instance, exp.to_identifier(alias or column.name, quoted=True)))
    return out


def _unreadable(model: ModelFile, node: exp.Expr, why: str, hint: str = "") -> UnreadableColumns:
    found = node.find(exp.Columns) or node
    return UnreadableColumns(
        f"model {model.name!r} selects {found.sql('duckdb')}, whose columns are unknown: {why}",
        location_of(model.path, model.sql, found),
        hint or "select the columns by name, with a regular expression (COLUMNS('^a')), a list or *",
    )
