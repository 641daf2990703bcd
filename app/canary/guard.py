"""The first wall of the sandbox: refuse SQL from a pull request that could reach outside the sampled
data, before it runs, and say what it tried in security terms. [pure] The second wall is the locked-down
DuckDB connection (runner.Sandbox.lock_down and create_select): this check gives a clear refusal with
file and line, the lockdown catches what a static check misses. Each wall alone refuses every attack
class in tests/canary/test_sandbox.py.

Reasons never echo a path or a setting's value that points outside the project (`redact`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from app.sql.parse import as_query
from app.types import Location

# Function families by what they would do, first match wins.
_FUNCTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), why)
    for p, why in (
        (r"^(glob|list_files)$", "lists a directory"),
        (r"^(http_\w+|\w+_http)$", "reaches the network"),
        (
            r"^(getenv|current_setting|which_secret|load_aws_credentials|duckdb_secrets|duckdb_settings|"
            r"pragma_\w+)$",
            "reads the environment or the engine's settings",
        ),
        (r"^(query|query_table|json_execute_serialized_sql|sql_auto_complete)$", "runs SQL given as text"),
        (r"^(install|load|enable_\w+|disable_\w+)$", "loads or toggles engine code"),
        (
            r"^(read_\w+|\w+_scan|parquet_\w+|sniff_csv|iceberg_\w+|delta_\w+|st_read\w*|st_drivers)$",
            "reads a file",
        ),
        (r"^(duckdb_\w+|test_all_types|test_vector_types)$", "reads the engine's internal catalog"),
        # PostgreSQL and Spark, where the canary runs in the warehouse (docs/engines/*.md, "Canary")
        (
            r"^(pg_read_file|pg_read_binary_file|pg_ls_\w+|pg_stat_file|lo_\w+|input_file_\w+)$",
            "reads a file",
        ),
        (r"^(dblink\w*)$", "reaches the network"),
        (r"^(set_config)$", "changes an engine setting"),
        (
            r"^(query_to_xml\w*|table_to_xml\w*|cursor_to_xml\w*|schema_to_xml\w*|database_to_xml\w*)$",
            "runs SQL given as text",
        ),
        (
            r"^(pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|pg_promote|"
            r"pg_advisory\w*|pg_try_advisory\w*|pg_notify|nextval|setval)$",
            "acts on the server",
        ),
        (r"^(reflect|try_reflect|java_method)$", "calls Java code on the engine"),
    )
)
# Table functions that only generate values.
_ALLOWED_TABLE_FUNCTIONS = {"generate_series", "range", "unnest", "values"}
# Catalogs and schemas that belong to the engine, not to the project.
_SYSTEM_NAMES = {"information_schema", "pg_catalog", "system", "temp", "sqlite_master", "sqlite_schema"}

# Statements by what they would do.
_STATEMENTS = {
    "COPY": "writes or reads files (COPY)",
    "EXPORT": "writes files (EXPORT DATABASE)",
    "IMPORT": "reads files (IMPORT DATABASE)",
    "ATTACH": "attaches a database",
    "DETACH": "detaches a database",
    "INSTALL": "installs an extension",
    "LOAD": "loads an extension",
    "SET": "changes an engine setting (SET)",
    "RESET": "changes an engine setting (RESET)",
    "PRAGMA": "changes or reads engine settings (PRAGMA)",
    "CALL": "calls an engine procedure (CALL)",
    "USE": "switches the database (USE)",
    "CHECKPOINT": "runs database maintenance (CHECKPOINT)",
    "VACUUM": "runs database maintenance (VACUUM)",
    "INSERT": "writes data (INSERT)",
    "UPDATE": "writes data (UPDATE)",
    "DELETE": "deletes data (DELETE)",
    "MERGE": "writes data (MERGE)",
    "DROP": "drops a table or view (DROP)",
    "ALTER": "changes the catalog (ALTER)",
    "TRUNCATE": "deletes data (TRUNCATE)",
}
_CREATE_KINDS = {
    "MACRO": "defines a macro, which could shadow a built-in function (CREATE MACRO)",
    "FUNCTION": "defines a function, which could shadow a built-in (CREATE FUNCTION)",
    "SECRET": "creates a secret (CREATE SECRET)",
}
_LEADING = re.compile(
    r"^(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/)*([A-Za-z]+)(?:\s+(?:OR\s+REPLACE\s+)?(?:TEMP\w*\s+)?(\w+))?",
    re.DOTALL | re.IGNORECASE,
)
# A table name DuckDB would read as a file by a replacement scan: `from "x/y.csv"`, `from 'data.parquet'`.
_FILE_LIKE = re.compile(
    r"[/\\~]|\.(csv|tsv|txt|json|jsonl|ndjson|parquet|duckdb|db|sqlite|gz|zst|xlsx|arrow)$", re.I
)
_QUOTED_PATH = re.compile(r"""(['"])((?:[A-Za-z]:)?[/\\~][^'"]*|[^'"]*\.\.[/\\][^'"]*)\1""")
_BARE_PATH = re.compile(r"(?<![\w.])(?:/[\w.@%+-]+){2,}/?")

# Letters of other scripts that look like Latin ones: a function name spelled with them is an attempt to
# slip past a name check (`reаd_csv` with a Cyrillic а).
_CONFUSABLE = str.maketrans("аеорсухіјѕԁɡһΑΒΕΗΙΚΜΝΟΡΤΧΥΖаοе", "aeopcyxijsdghABEHIKMNOPTXYZaoe")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a statement was refused (`reason`, in security terms) and the node it was refused at (for the
    line number; None when the text was refused before it parsed, then `line` says where)."""

    reason: str
    node: exp.Expr | None = None
    line: int | None = None

    def location(self, path: str) -> Location:
        """Where in the file at `path` it was refused (its first line when nothing better is known)."""
        from app.sql.parse import node_line

        line = self.line or (node_line(self.node) if self.node is not None else None)
        return Location(path, line or 1)


def function_name(f: exp.Func) -> str:
    return (f.name if isinstance(f, exp.Anonymous) else f.sql_name()).lower()


def _function_reason(name: str) -> str | None:
    for pattern, why in _FUNCTIONS:
        if pattern.match(name):
            return why
    return None


def redact(text: str) -> str:
    """`text` with absolute paths, home-relative paths and paths that climb out (`..`) replaced, so a
    refusal never echoes where an attack aimed (a key file, another user's data) in a report."""
    text = _QUOTED_PATH.sub(_quoted_path, text)
    return _BARE_PATH.sub("<path outside the project>", text)


# an operator's signature in an engine's message ('/(VARCHAR, INTEGER_LITERAL)', '~~(VARCHAR, VARCHAR)'),
# which starts like a path but names no file: kept, it is what tells the user which types did not match
_SIGNATURE = re.compile(r"[/\\~]+\([^/\\]*\)")


def _quoted_path(found: re.Match[str]) -> str:
    if _SIGNATURE.fullmatch(found.group(2)):
        return found.group(0)
    return f"{found.group(1)}<path outside the project>{found.group(1)}"


def _path_text(value: str) -> str:
    outside = (
        value.startswith(("/", "\\", "~")) or ".." in value or re.match(r"^[A-Za-z]:", value) is not None
    )
    return "a path outside the project" if outside or "://" in value else repr(value)


def screen(sql: str, dialect: str, *, what: str = "the model") -> Refusal | None:
    """Refuse `sql` (a model's whole text) for what it would do, or None when it is a plain query that
    `refuse` admits. Unparseable SQL that is not an attack gives None: it is the parser's to report."""
    lead = _LEADING.match(sql)
    if lead:
        word, kind = lead.group(1).upper(), (lead.group(2) or "").upper()
        line = sql.count("\n", 0, lead.start(1)) + 1
        if word == "CREATE" and kind in _CREATE_KINDS:
            return Refusal(f"{what} {_CREATE_KINDS[kind]}", line=line)
        if word == "CREATE":
            return Refusal(
                f"{what} creates a table or view (CREATE); a model may only be a SELECT", line=line
            )
        if word in _STATEMENTS:
            return Refusal(f"{what} {_STATEMENTS[word]}; a model may only be a SELECT", line=line)
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except (SqlglotError, ValueError, RecursionError):
        return None
    if len(statements) > 1:
        second = statements[1]
        return Refusal(f"{what} holds a second statement after its query; only one SELECT may run", second)
    return refuse(as_query(statements[0], dialect), what=what) if statements else None


def refuse(statement: exp.Expr | None, *, what: str = "a model") -> Refusal | None:
    """None when `statement` is a plain query over tables; otherwise the first reason to refuse it."""
    if statement is None:
        return None
    if not isinstance(statement, exp.Query):
        return Refusal(f"{what} {_statement_reason(statement)}; a model may only be a SELECT", statement)
    for node in statement.walk():
        if isinstance(node, exp.Func):
            name = function_name(node)
            why = _function_reason(name)
            if why:
                return Refusal(f"{what} {why} (calls {name}())", node)
            plain = unicodedata.normalize("NFKC", name).translate(_CONFUSABLE)
            if plain != name or not name.isascii():
                looks = f", which looks like {plain}()" if plain.isascii() and plain != name else ""
                return Refusal(
                    f"{what} calls a function whose name mixes scripts{looks} (a disguised name)",
                    node,
                )
        if isinstance(node, exp.Table):
            target = node.this
            if isinstance(target, exp.Func) and function_name(target) not in _ALLOWED_TABLE_FUNCTIONS:
                name = function_name(target)
                why = _function_reason(name) or "runs a table function"
                return Refusal(f"{what} {why} (reads from {name}())", node)
            if isinstance(target, exp.Literal) or _FILE_LIKE.search(node.name):
                return Refusal(f"{what} reads a file (names {_path_text(node.name)} as a table)", node)
            parts = [p.name.lower() for p in (node.args.get("catalog"), node.args.get("db")) if p]
            if any(p in _SYSTEM_NAMES for p in parts):
                return Refusal(f"{what} reads the engine's internal catalog ({exp.table_name(node)})", node)
        if isinstance(node, (exp.Command, exp.Copy, exp.Attach, exp.Set, exp.Pragma, exp.Create, exp.Insert)):
            return Refusal(f"{what} {_statement_reason(node)}", node)
    return None


def _statement_reason(statement: exp.Expr) -> str:
    if isinstance(statement, exp.Command):
        word = str(statement.this).split()[0].upper() if str(statement.this).strip() else "COMMAND"
        rest = str(statement.expression or "").split()
        if word == "CREATE" and rest and rest[0].upper() in _CREATE_KINDS:
            return _CREATE_KINDS[rest[0].upper()]
    elif isinstance(statement, exp.Create):
        kind = str(statement.args.get("kind") or "").upper()
        if kind in _CREATE_KINDS:
            return _CREATE_KINDS[kind]
        return f"creates a {kind.lower() or 'table'} (CREATE)"
    else:
        word = statement.key.upper()
    return _STATEMENTS.get(word, f"holds a {word} statement")
