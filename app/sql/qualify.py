"""Qualify and type one model's query: every table renamed to its model or source name, every column
bound to its table, stars expanded from upstream schemas, and types annotated (sqlglot's qualify and
annotate_types). Unresolvable columns are errors at their line, or recorded problems when not strict."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import OptimizeError, SchemaError, SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.qualify_columns import validate_qualify_columns
from sqlglot.schema import MappingSchema

from app.errors import SqlError
from app.project.model import ModelFile
from app.sql.analysis import SourceAnalysis
from app.sql.datatypes import fits
from app.sql.infer import infer_columns, star_passes
from app.sql.outputs import set_operation_selects
from app.sql.parse import cte_references, select_keyword_line
from app.sql.star_columns import UnreadableColumns, expand_columns
from app.types import Location

_POSITION = re.compile(r"Line: (\d+), Col: (\d+)")
T = exp.DataType.Type


class ColumnsUnknown(SqlError):
    """A model selects `*` from a table whose columns nobody declared: its output is unknown until they
    are (not an error in the model; its readers are analysed with the columns they name)."""


def qualify_model(
    model: ModelFile,
    tree: exp.Query,
    targets: Mapping[tuple[str, ...], str],
    schema: Mapping[str, Mapping[str, exp.DataType]],
    sources: Mapping[str, SourceAnalysis],
    dialect: str,
    strict: bool = True,
) -> tuple[exp.Query, tuple[SqlError, ...], dict[str, tuple[str, ...]]]:
    """Qualify and type `tree` IN PLACE; returns it with the problems found (raised when `strict`) and,
    for each table whose columns are unknown, the columns the query reads of it (app.sql.infer)."""
    # by scope: `with orders as (... from orders)` reads the table inside (scopes only when there is a WITH)
    ctes = cte_references(tree, dialect) if tree.find(exp.With) else set()
    for table in tree.find_all(exp.Table):
        ident = table.this
        if not isinstance(ident, exp.Identifier) or id(table) in ctes:
            continue
        parts = tuple(p.name for p in (table.args.get("catalog"), table.args.get("db"), ident) if p)
        target = targets.get(parts)
        if target is None:
            continue  # a CTE name
        if not table.alias:
            table.set("alias", exp.TableAlias(this=ident.copy()))
        table.set("catalog", None)
        table.set("db", None)
        # quoted, so dotted source names and their case survive qualification
        table.set("this", exp.Identifier(this=target, quoted=True))
    read = sorted(set(targets.values()))
    unknown = [t for t in read if t in sources and not sources[t].known]
    # undeclared tables have the columns their readers name: no false "could not be resolved"
    undeclared = [t for t in read if t not in schema]
    found = infer_columns(tree, schema, undeclared, dialect) if undeclared else None
    inferred = found.columns if found else {}
    if inferred:
        # `select * from src where status = 1` names one column of src: the output is not that column
        starred = star_passes(tree, set(inferred))
        if starred:
            raise _columns_unknown(model, tree, starred)
        schema = {**schema, **inferred}
    mapping = MappingSchema(dict(schema), dialect=dialect, normalize=False)
    problems: tuple[SqlError, ...] = ()
    starred_columns = any(s.find(exp.Columns) for s in tree.find_all(exp.Select) for s in s.expressions)
    if starred_columns:
        try:
            tree = expand_columns(model, tree, mapping, dialect)
        except UnreadableColumns as err:
            raise ColumnsUnknown(err.message, err.location, err.hint) from None
    original = None if strict else tree.copy()
    try:
        if found is not None and found.qualified is not None and not starred_columns:
            tree = found.qualified  # qualified against this very schema while inferring
        else:
            # identifiers are normalized by qualify; quoting every one of them is only for printing
            qualify(
                tree, dialect=dialect, schema=mapping, quote_identifiers=False, validate_qualify_columns=False
            )
    except (OptimizeError, SchemaError) as err:
        if original is None:
            raise resolution_error(model, err, unknown, read) from None
        # a qualified reference to a column its upstream dropped (`o.status`): record it, then type
        # the rest as if the column were there with an unknown type
        lenient, mapping, problems = _qualify_leniently(
            model, original, err, dict(schema), read, unknown, dialect
        )
        if lenient is None:
            raise resolution_error(model, err, unknown, read) from None
        tree = lenient
    try:
        validate_qualify_columns(tree, sql=model.sql)
    except OptimizeError as err:  # a column no table has, or one that several have
        if strict:
            raise resolution_error(model, err, unknown, read) from None
        problems = (*problems, resolution_error(model, err, unknown, read))
    for proj in tree.selects:
        if isinstance(proj, exp.Star) or (isinstance(proj, exp.Column) and proj.is_star):
            raise _columns_unknown(model, tree, unknown)
    try:
        annotate_types(tree, schema=mapping, dialect=_typing_dialect(dialect))
    except SqlglotError:  # pragma: no cover - typing is best effort; unknown types are allowed
        pass
    return tree, problems, {t: tuple(cols) for t, cols in inferred.items()}


_UNKNOWN_COLUMN = re.compile(r"Unknown column: ([^\s]+)")


def _columns_unknown(model: ModelFile, tree: exp.Query, tables: list[str]) -> ColumnsUnknown:
    what = ", ".join(repr(t) for t in tables) or "a table"
    return ColumnsUnknown(
        f"model {model.name!r} selects * from {what} whose columns are unknown",
        Location(model.path, select_keyword_line(model.sql, tree)),
        "declare the source's columns in datacanary.yml (`sources.<name>.columns`) or list the columns",
    )


def _qualify_leniently(
    model: ModelFile,
    original: exp.Query,
    err: SqlglotError,
    schema: dict[str, Mapping[str, exp.DataType]],
    read: list[str],
    unknown: list[str],
    dialect: str,
) -> tuple[exp.Query | None, MappingSchema, tuple[SqlError, ...]]:
    """Qualify a copy of the query, adding each unknown column (typed UNKNOWN) to the tables it reads
    until qualification succeeds; every column added is a problem at the line that mentions it."""
    problems: list[SqlError] = []
    for _ in range(50):  # one round per missing column; a model has far fewer
        match = _UNKNOWN_COLUMN.search(str(err))
        if match is None or not read:
            return None, MappingSchema(dict(schema), dialect=dialect, normalize=False), tuple(problems)
        column = match.group(1).strip("\"'`.,")
        problem = resolution_error(model, err, unknown, read)
        line = _first_mention(model.sql, column)
        if problem.location is not None and problem.location.line == 1 and line:
            problem = SqlError(problem.message, Location(model.path, line), problem.hint)
        problems.append(problem)
        for table in read:
            if table in schema and column not in schema[table]:
                schema[table] = {**schema[table], column: exp.DataType.build("unknown")}
        mapping = MappingSchema(dict(schema), dialect=dialect, normalize=False)
        tree = original.copy()
        try:
            qualify(
                tree, dialect=dialect, schema=mapping, quote_identifiers=False, validate_qualify_columns=False
            )
        except (OptimizeError, SchemaError) as again:
            err = again
            continue
        return tree, mapping, tuple(problems)
    return None, MappingSchema(dict(schema), dialect=dialect, normalize=False), tuple(problems)


def _first_mention(sql: str, column: str) -> int | None:
    """The 1-based line of the first word-bounded mention of `column` (outside `--` comments)."""
    pattern = re.compile(rf"(?<![\w.]){re.escape(column)}(?!\w)|\.{re.escape(column)}(?!\w)", re.IGNORECASE)
    for number, line in enumerate(sql.splitlines(), start=1):
        if pattern.search(line.split("--", 1)[0]):
            return number
    return None


@functools.lru_cache(maxsize=16)
def _typing_dialect(dialect: str) -> Dialect:
    """The dialect for annotate_types, without typing every subquery as a STRUCT as well (DuckDB,
    BigQuery): only `ARRAY(SELECT ...)` values need that, and it is a fifth of the typing time."""
    instance = type(Dialect.get_or_raise(dialect))()
    instance.QUERY_RESULTS_ARE_STRUCTS = False
    return instance


def resolution_error(model: ModelFile, err: SqlglotError, unknown: list[str], read: list[str]) -> SqlError:
    """A qualify failure as a SqlError at the model's file and the line sqlglot names."""
    text = str(err).split("\n", 1)[0]
    match = _POSITION.search(text)
    loc = Location(model.path, int(match.group(1)), None) if match else Location(model.path, 1)
    text = _POSITION.sub("", text).strip().rstrip(".")
    where = " or ".join(read) if read else "the tables it reads"
    hint = f"check the column exists in {where} (and is spelled the same)"
    if unknown:
        hint += f"; declare the columns of {', '.join(repr(u) for u in unknown)} in datacanary.yml"
    return SqlError(f"model {model.name!r}: {text}", loc, hint)


def output_types(query: exp.Query) -> list[tuple[str, exp.DataType | None]]:
    """Output names with their types; for set operations the widest type across branches."""
    branches = set_operation_selects(query)
    out: list[tuple[str, exp.DataType | None]] = []
    for i, name in enumerate(query.named_selects):
        merged: exp.DataType | None = None
        for select in branches:
            if i >= len(select.selects):
                continue
            dt = select.selects[i].type
            if dt is not None and dt.this is T.NULL:
                continue  # NULL takes the other branches' type
            if dt is None or dt.this is T.UNKNOWN:
                merged = None
                break
            if merged is None or fits(merged, dt):
                merged = dt
            elif not fits(dt, merged):
                merged = None
                break
        out.append((name, merged))
    return out
