"""Parse a model file: exactly one query, in the project's dialect, with errors at file:line:col.

Positions come from sqlglot's node `meta` (identifiers, literals, stars and functions carry
`line`/`col`/`start`); `exp.Column` and `exp.Select` themselves carry none.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.optimizer.scope import traverse_scope

from app.errors import SqlError
from app.project.model import ModelFile
from app.types import Location

_STATEMENT_NAMES = {
    exp.Insert: "INSERT",
    exp.Copy: "COPY",
    exp.Attach: "ATTACH",
    exp.Set: "SET",
    exp.Create: "CREATE",
    exp.Drop: "DROP",
    exp.Delete: "DELETE",
    exp.Update: "UPDATE",
    exp.Merge: "MERGE",
}
_FROM_POS = re.compile(r"from (\d+):(\d+)")
_TOKEN = re.compile(
    r"<Token token_type: TokenType\.(\w+), text: (.*?), line: \d+, col: \d+, start: \d+, end: \d+, comments: \[.*?\]>"
)
_MISSING_ARG = re.compile(r"Required keyword: '(\w+)' missing for <class '[\w.]*?(\w+)'>")
_CLAUSES = {
    "Where": "WHERE",
    "Limit": "LIMIT",
    "Having": "HAVING",
    "Group": "GROUP BY",
    "Order": "ORDER BY",
    "Join": "JOIN",
    "If": "CASE WHEN ... THEN",
    "Case": "CASE",
    "Offset": "OFFSET",
    "Qualify": "QUALIFY",
    **{k: f"the {v} operator" for k, v in {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "DPipe": "||"}.items()},
    **{k: f"the {v} comparison" for k, v in {"EQ": "=", "NEQ": "<>", "GT": ">", "LT": "<"}.items()},
    **{k: f"the {v} comparison" for k, v in {"GTE": ">=", "LTE": "<="}.items()},
    **{k: k.upper() for k in ("And", "Or", "Not", "In", "Like", "ILike", "Between")},
}  # fmt: skip
_MISSING = re.compile(r"Missing (\S+) from")
# set on the `SELECT * FROM (...)` that stands for a model written as one DuckDB PIVOT/UNPIVOT statement
PIVOT_STATEMENT = "datacanary_pivot_statement"


@dataclass(frozen=True, slots=True)
class TableRef:
    """A table a query reads, as written: `parts` is (catalog, db, name) without the empty ones."""

    parts: tuple[str, ...]
    location: Location
    quoted: bool = False  # a quoted name matches case-sensitively

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


def parse_model(model: ModelFile, dialect: str) -> exp.Query:
    """The model's single query (SELECT, UNION, ...); anything else is a SqlError at its line."""
    try:
        statements = [s for s in sqlglot.parse(model.sql, read=dialect) if s is not None]
    except ParseError as err:
        first = err.errors[0] if err.errors else {}
        line, col = first.get("line"), first.get("col")
        desc = describe_parse_error(first.get("description") or str(err), model.sql, line, col)
        raise SqlError(
            f"model {model.name!r} is not valid {dialect} SQL: {desc}",
            Location(model.path, line, col),
            f"fix the SQL near line {line}; models are parsed as `{dialect}` (datacanary.yml `dialect`)",
        ) from None
    except TokenError as err:
        line, col = _token_error_position(model.sql, err)
        raise SqlError(
            f"model {model.name!r} is not valid {dialect} SQL: {err.__cause__ or err}",
            Location(model.path, line, col),
            "look for an unclosed quote or comment at this line",
        ) from None
    if not statements:
        raise SqlError(
            f"model {model.name!r} is empty",
            Location(model.path, 1),
            "a model file holds one SELECT; delete the file or write the query",
        )
    queries: list[exp.Query] = []
    for stmt in map(functools.partial(as_query, dialect=dialect), statements):
        if not isinstance(stmt, exp.Query):
            names = (n for t, n in _STATEMENT_NAMES.items() if isinstance(stmt, t))
            kind = next(names, type(stmt).__name__.upper())
            raise SqlError(
                f"model {model.name!r} contains a {kind} statement; a model is one SELECT",
                Location(model.path, node_line(stmt) or 1),
                "keep only the query that produces the dataset; datacanary builds and writes it itself",
            )
        queries.append(stmt)
    if len(queries) > 1:
        raise SqlError(
            f"model {model.name!r} has {len(queries)} statements; a model is one SELECT",
            Location(model.path, node_line(queries[1]) or 1),
            "split the file: one model per .sql file, named after the dataset it produces",
        )
    return queries[0]


def as_query(statement: exp.Expr, dialect: str) -> exp.Expr:
    """A DuckDB PIVOT or UNPIVOT statement (`PIVOT t ON k USING sum(v)`) as the query DuckDB runs the same,
    `SELECT * FROM (PIVOT t ...)` (its WITH moved out); any other statement as it is."""
    if dialect != "duckdb" or not isinstance(statement, exp.Pivot) or statement.this is None:
        return statement
    with_ = statement.args.get("with_")
    statement.set("with_", None)
    query = exp.select("*").from_(exp.Subquery(this=statement))
    if with_ is not None:
        query.set("with_", with_)
    query.meta[PIVOT_STATEMENT] = True
    return query


def describe_parse_error(description: str, sql: str, line: int | None, col: int | None) -> str:
    """sqlglot's parse error in the author's words: the offending text instead of sqlglot's token and
    class reprs (`<Token token_type: TokenType.WHERE ...>`, `missing for <class '...Where'>`)."""

    def token(m: re.Match[str]) -> str:
        return "the end of the query" if m.group(1) == "SENTINEL" else repr(m.group(2))

    text = _TOKEN.sub(token, description)
    missing = _MISSING_ARG.search(text)
    if missing:
        name = missing.group(2)
        what = _CLAUSES.get(name, name.upper() if len(name) <= 4 else f"the {name.lower()} expression")
        text = f"{what} is incomplete: something is missing after it"
    near = _text_at(sql, line, col)
    return f"{text} (near {near!r})" if near else text


def _text_at(sql: str, line: int | None, col: int | None) -> str:
    """Up to a few words of `sql` around 1-based (line, col), where sqlglot stopped."""
    if not line:
        return ""
    lines = sql.splitlines()
    if not 0 < line <= len(lines):
        return ""
    here = lines[line - 1]
    if col is None:
        return here.strip()[:40]
    start = max(0, col - 30)
    if start:  # begin at a word, not inside one
        space = here.find(" ", start)
        start = space + 1 if 0 <= space < col - 1 else start
    return here[start : col + 20].strip()


def _token_error_position(sql: str, err: TokenError) -> tuple[int | None, int | None]:
    cause = str(err.__cause__ or "")
    missing = _MISSING.match(cause)
    if missing and missing.group(1) in sql:
        # the tokenizer stops at the end of the text; the unclosed delimiter is the last one opened
        at = sql.rfind(missing.group(1))
        return sql.count("\n", 0, at) + 1, at - sql.rfind("\n", 0, at)
    match = _FROM_POS.search(cause)
    if match:
        return int(match.group(1)), int(match.group(2)) + 1
    if err.start is not None:  # the context snippet is centred on the failure
        offset = min(len(sql), err.start + 50)
        return sql.count("\n", 0, offset) + 1, None
    return None, None


def node_line(node: exp.Expr) -> int | None:
    """The first line of any token inside `node` (None when sqlglot kept no position)."""
    lines = [n.meta["line"] for n in node.walk() if n.meta and "line" in n.meta]
    return min(lines) if lines else None


def node_start(node: exp.Expr) -> int | None:
    starts = [n.meta["start"] for n in node.walk() if n.meta and "start" in n.meta]
    return min(starts) if starts else None


def select_keyword_line(sql: str, query: exp.Query) -> int:
    """The line of the outermost SELECT keyword (where a missing column would go), else 1."""
    select = query if isinstance(query, exp.Select) else next(iter(query.find_all(exp.Select)), None)
    if select is None or not select.expressions:
        return 1
    start = node_start(select.expressions[0])
    if start is None:
        return 1
    at = sql.lower().rfind("select", 0, start)
    return sql.count("\n", 0, at if at >= 0 else start) + 1


def cte_references(query: exp.Expr, dialect: str | None = None) -> set[int]:
    """`id()`s of the table nodes that name a CTE visible from their own scope (sqlglot's scopes: a WITH
    in a subquery shadows nothing outside it). Every other table node reads a real relation; when the
    scopes cannot be built, none is taken for a CTE (callers then resolve or refuse every name).

    With `dialect`, names match as that engine resolves them (sqlglot's identifier normalization):
    `with Foo as (...) select * from foo` reads the CTE in DuckDB, Snowflake or Postgres, while Postgres
    keeps a quoted `"Foo"` apart from `foo`."""
    if query.find(exp.With) is None:
        return set()  # no CTE anywhere
    try:
        scopes = traverse_scope(query)
    except SqlglotError:
        return set()
    norm = _normalizer(dialect)
    written = {cte.alias: cte.args["alias"].this for cte in query.find_all(exp.CTE) if cte.args.get("alias")}
    found: set[int] = set()
    for scope in scopes:
        visible = {norm(written[n]) if n in written else n for n in scope.cte_sources}
        for table in scope.tables:
            named = isinstance(table.this, exp.Identifier)
            if (
                named
                and not table.args.get("db")
                and not table.args.get("catalog")
                and norm(table.this) in visible
            ):
                found.add(id(table))
    return found


def _normalizer(dialect: str | None) -> Callable[[exp.Identifier], str]:
    """An identifier's name as `dialect`'s engine resolves it (as written when no dialect is given)."""
    if dialect is None:
        return lambda ident: ident.name
    engine = Dialect.get_or_raise(dialect)
    return lambda ident: engine.normalize_identifier(ident.copy()).name


def location_of(path: str, sql: str, node: exp.Expr) -> Location:
    """File, line and 1-based start column of `node` (sqlglot's `col` is where the token ends)."""
    meta = node.meta
    if not meta or "line" not in meta:
        return Location(path, node_line(node))
    start = meta.get("start")
    col = start - sql.rfind("\n", 0, start) if start is not None else meta.get("col")
    return Location(path, meta["line"], col)


def table_refs(query: exp.Query, path: str, sql: str, dialect: str | None = None) -> list[TableRef]:
    """Tables the query reads, excluding CTE names and table functions, with their positions."""
    ctes = cte_references(query, dialect)
    out: list[TableRef] = []
    for table in query.find_all(exp.Table):
        ident = table.this
        if not isinstance(ident, exp.Identifier):
            continue  # a table function (unnest, range, ...): not a dependency
        if id(table) in ctes:
            continue
        parts = tuple(p.name for p in (table.args.get("catalog"), table.args.get("db"), ident) if p)
        out.append(TableRef(parts, location_of(path, sql, ident), quoted=bool(ident.quoted)))
    return out
