"""Columns of tables nobody declared, taken from what a query reads of them. [pure]

A dbt source without `columns:` in its yml and without a catalog.json, or a model whose columns are
unknown, still has the columns its readers name: `select id, first_name from raw_customers` reads
`raw_customers.id` and `raw_customers.first_name`, and through `with source as (select * from
raw_customers)` too. sqlglot qualifies such a query only partly (a correlated subquery or a join over
two undeclared tables stops it), and each unresolved column would be an error. `infer_columns` gives
each undeclared table the columns the query reads of it, so qualification succeeds and lineage holds;
the caller says so in the report. Columns that could belong to several undeclared tables stay out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from sqlglot import exp
from sqlglot.errors import OptimizeError, SchemaError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope, traverse_scope
from sqlglot.schema import MappingSchema

UNKNOWN = exp.DataType.build("UNKNOWN")
_ROUNDS = 8  # each round adds every column found; nested star CTEs need one round per level
# engines that let a select list and its WHERE use an alias defined earlier in the same select; in the
# others (PostgreSQL, BigQuery, Trino, ...) such a name can only be a column of the table
LATERAL_ALIAS_DIALECTS = frozenset(
    {"snowflake", "duckdb", "redshift", "databricks", "spark", "clickhouse", "teradata", "sqlite"}
)
_NAMED = re.compile(r"(?:Cannot resolve|Unknown column:?) '?([^'\s]+)'?")


class Inferred(NamedTuple):
    """`columns`: undeclared table -> the columns the query reads of it; `qualified`: a copy of the
    query already qualified against the schema with those columns (None when no round ended clean),
    so the caller need not qualify it once more."""

    columns: dict[str, dict[str, exp.DataType]]
    qualified: exp.Query | None


def infer_columns(
    tree: exp.Query,
    schema: Mapping[str, Mapping[str, exp.DataType]],
    unknown: list[str],
    dialect: str,
) -> Inferred:
    """For each table of `unknown` (names the query's tables were renamed to, absent from `schema`),
    the columns the query reads of it, typed UNKNOWN; tables it reads nothing of are left out."""
    found: dict[str, dict[str, exp.DataType]] = {u: {} for u in unknown}
    owners = [u for u in unknown if u in _read_tables(tree)]
    # `upper(payload) as l, lower(l) as x`: where the engine resolves a lateral alias, `l` is the alias
    lateral = dialect.split(",")[0].strip().lower() in LATERAL_ALIAS_DIALECTS
    aliases = {n.lower() for s in tree.find_all(exp.Select) for n in s.named_selects} if lateral else set()
    expand_alias_refs = True
    for _ in range(_ROUNDS if unknown else 0):
        known = {**schema, **{u: cols for u, cols in found.items() if cols}}
        trial = tree.copy()
        added = False
        try:
            qualify(
                trial,
                dialect=dialect,
                schema=MappingSchema(dict(known), dialect=dialect, normalize=False),
                quote_identifiers=False,
                validate_qualify_columns=False,
                expand_alias_refs=expand_alias_refs,
            )
        except (OptimizeError, SchemaError) as err:
            # a correlated subquery over an undeclared table, or a column a partly known table lacks
            match = _NAMED.search(str(err))
            if match is not None and expand_alias_refs and match.group(1).lower() in aliases:
                # `upper(payload) as l, lower(l) as x` (a lateral alias) over a table of unknown
                # columns: sqlglot cannot tell the alias from a column, the query's author meant the alias
                expand_alias_refs = False
                continue
            if match is None or len(owners) != 1 or match.group(1) in found[owners[0]]:
                break
            found[owners[0]][match.group(1)] = UNKNOWN
            continue
        for scope in traverse_scope(trial):
            if not isinstance(scope.expression, exp.Select):
                continue
            for column in _unresolved(scope):
                if lateral and _is_alias_reference(scope.expression, column):
                    continue
                owners = sorted(_undeclared_behind(scope, column, set(unknown)))
                if len(owners) == 1 and column.name not in found[owners[0]]:
                    found[owners[0]][column.name] = UNKNOWN
                    added = True
        if not added:  # qualified against exactly what is returned (lateral aliases left unexpanded)
            return Inferred(
                {u: cols for u, cols in found.items() if cols}, trial if expand_alias_refs else None
            )
    return Inferred({u: cols for u, cols in found.items() if cols}, None)


def _is_alias_reference(select: exp.Select, column: exp.Column) -> bool:
    """`l` in `select upper(payload) as l, lower(l) as x ... where l > ''`: the select's own alias,
    defined before the projection that uses it (or used in a clause); not a column of the table."""
    if column.table:
        return False
    selects = select.selects
    node: exp.Expr = column
    while node.parent is not None and node.parent is not select:
        node = node.parent
    used_in = next((i for i, p in enumerate(selects) if p is node), None)  # None: in a clause
    defined = [i for i, p in enumerate(selects) if isinstance(p, exp.Alias) and p.alias == column.name]
    if used_in is None:
        return bool(defined)
    return any(i < used_in for i in defined)


def _read_tables(tree: exp.Query) -> set[str]:
    return {t.name for t in tree.find_all(exp.Table)}


def _unresolved(scope: Scope) -> list[exp.Column]:
    """Columns qualify left without a table, or pointing at a table of the scope's that lacks them."""
    out = list(scope.unqualified_columns)
    if scope.external_columns and not scope.is_correlated_subquery:
        out += scope.external_columns
    for column in scope.columns:
        source = scope.sources.get(column.table) if column.table else None
        if isinstance(source, exp.Table) and column not in out:
            out.append(column)  # qualified: `t.x` on an undeclared table (filtered by the caller)
    return out


def _undeclared_behind(scope: Scope, column: exp.Column, unknown: set[str]) -> set[str]:
    """The undeclared tables `column` may come from: read directly by `scope`, or through CTEs and
    derived tables that select `*` from them."""
    sources = [scope.sources[column.table]] if column.table and column.table in scope.sources else None
    if sources is None:
        sources = [s for _, s in scope.selected_sources.values()]
    out: set[str] = set()
    for source in sources:
        out |= _through(source, unknown, column.name, depth=0)
    return out


def _through(source: exp.Table | Scope, unknown: set[str], name: str, depth: int) -> set[str]:
    if isinstance(source, exp.Table):
        return {source.name} if source.name in unknown else set()
    query = source.expression
    if depth > 16 or not isinstance(query, exp.Select):
        return set()
    if name in query.named_selects:
        return set()  # the CTE names it itself: not the undeclared table's column
    if not any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and p.is_star) for p in query.selects):
        return set()
    out: set[str] = set()
    for _, inner in source.selected_sources.values():
        out |= _through(inner, unknown, name, depth + 1)
    return out


def star_passes(query: exp.Query, tables: set[str]) -> list[str]:
    """The tables of `tables` whose every column a `*` (or `t.*`) passes to the query's output, through
    CTEs, derived tables and union branches; sorted."""
    root = build_scope(query)
    return sorted(_star_sources(root, tables, 0)) if root is not None else []


def _star_sources(scope: Scope, tables: set[str], depth: int) -> set[str]:
    if depth > 16:
        return set()
    if scope.set_operation_scopes:
        return {t for branch in scope.set_operation_scopes for t in _star_sources(branch, tables, depth + 1)}
    query = scope.expression
    if not isinstance(query, exp.Select):
        return set()
    out: set[str] = set()
    for projection in query.selects:
        if isinstance(projection, exp.Star) or projection.find(exp.Columns):  # DuckDB's COLUMNS(*)
            sources = [s for _, s in scope.selected_sources.values()]
        elif isinstance(projection, exp.Column) and projection.is_star:
            sources = [scope.sources[projection.table]] if projection.table in scope.sources else []
        else:
            continue
        for source in sources:
            if isinstance(source, Scope):
                out |= _star_sources(source, tables, depth + 1)
            elif isinstance(source, exp.Table) and source.name in tables:
                out.add(source.name)
    return out
