"""Turn a model's SQL (or a contract's `sql` quality rule) into DuckDB SQL that reads the canary's own
tables: parse in the project dialect, refuse what the sandbox forbids, point every table reference at
its schema (`source`, `shared`, `base`, `head`) with sqlglot, and transpile to DuckDB. [pure]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, TokenError, UnsupportedError

from app.canary import exprs as q
from app.canary.guard import refuse, screen
from app.sql.parse import as_query, cte_references, describe_parse_error, node_line
from app.types import Location

Resolver = Callable[[tuple[str, ...]], tuple[str, str] | None]  # table parts -> (schema, table)


class CompileProblem(Exception):
    """Why SQL cannot run in the canary: `refused` (sandbox), `parse` or `transpile` (dialect)."""

    def __init__(self, kind: str, message: str, location: Location) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.location = location


@dataclass(frozen=True, slots=True)
class Compiled:
    sql: str  # SQL over the canary schemas, in `dialect`
    reads: tuple[tuple[str, str], ...]  # (schema, table) it reads
    dialect: str = "duckdb"  # a warehouse engine's when compiled for it (app.canary.warehouse)


def compile_query(
    text: str, *, path: str, dialect: str, resolve: Resolver, what: str = "the model"
) -> Compiled:
    """Parse, check, rewrite and transpile one query; raises CompileProblem with file and line."""
    screened = screen(text, dialect, what=what)  # by its first word too: some of these do not even parse
    if screened is not None:
        raise CompileProblem("refused", screened.reason, screened.location(path))
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except (ParseError, TokenError) as err:
        errors = getattr(err, "errors", None) or [{}]
        line, col = errors[0].get("line"), errors[0].get("col")
        desc = describe_parse_error(str(errors[0].get("description") or err), text, line, col)
        raise CompileProblem(
            "parse", f"{what} is not valid {dialect} SQL: {desc}", Location(path, line, col)
        ) from None
    if len(statements) != 1:
        raise CompileProblem("parse", f"{what} is empty", Location(path, 1))
    statement = as_query(statements[0], dialect)  # DuckDB's PIVOT statement, as the query it is
    refusal = refuse(statement, what=what)
    if refusal is not None:
        raise CompileProblem("refused", refusal.reason, refusal.location(path))
    assert isinstance(statement, exp.Query)
    ctes = cte_references(statement, dialect)  # only a CTE visible where the name stands shadows it
    reads: list[tuple[str, str]] = []
    for table in list(statement.find_all(exp.Table)):
        ident = table.this
        if isinstance(ident, exp.Func):
            continue  # a value-generating table function `refuse` allowed
        if id(table) in ctes:
            continue
        parts = tuple(p.name for p in (table.args.get("catalog"), table.args.get("db"), ident) if p)
        # anything else is rewritten to a model or source, or refused: nothing reaches DuckDB as written
        named = isinstance(ident, exp.Identifier)
        target = resolve(parts) if named else None
        if target is None:
            raise CompileProblem(
                "refused",
                f"{what} reads {'.'.join(parts) if named else exp.table_name(table)!r}, which is neither a model "
                "nor a declared source",
                Location(path, node_line(table) or 1),
            )
        reads.append(target)
        alias = table.args.get("alias") or exp.TableAlias(this=q.ident(parts[-1]))
        table.replace(exp.Table(this=q.ident(target[1]), db=q.ident(target[0]), alias=alias.copy()))
    try:
        out = statement.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except (UnsupportedError, SqlglotError) as err:
        raise CompileProblem(
            "transpile",
            f"{what} cannot be transpiled from {dialect} to DuckDB: {err}",
            Location(path, node_line(statement) or 1),
        ) from None
    return Compiled(out, tuple(reads))


def name_resolver(targets: dict[str, tuple[str, str]]) -> Resolver:
    """Resolve table parts by their dotted name, then their last part, then case-insensitively (unquoted
    names fold), the way `app.sql.analyze` resolves model and source references."""
    folded = {k.casefold(): v for k, v in targets.items()}

    def resolve(parts: tuple[str, ...]) -> tuple[str, str] | None:
        for candidate in (".".join(parts), parts[-1]):
            if candidate in targets:
                return targets[candidate]
            if candidate.casefold() in folded:
                return folded[candidate.casefold()]
        return None

    return resolve
