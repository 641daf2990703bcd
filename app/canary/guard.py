"""The first wall of the sandbox: refuse SQL from a pull request that could reach outside the sampled
data, before it runs. [pure] The second wall is the locked-down DuckDB connection (runner.lock_down):
this check gives a clear refusal with file and line, the lockdown catches what a static check misses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp

# Functions that read files, URLs, other databases, the environment or run dynamic SQL.
_FORBIDDEN_FUNCTIONS = re.compile(
    r"^(read_\w+|\w+_scan|parquet_\w+|glob|sniff_csv|getenv|query|query_table|duckdb_\w+|pragma_\w+|"
    r"iceberg_\w+|delta_\w+|st_read\w*|which_secret|load_aws_credentials|http_\w+|install|load|"
    r"current_setting|json_execute_serialized_sql|sql_auto_complete|test_all_types|enable_\w+|disable_\w+)$"
)
# Table functions that only generate values.
_ALLOWED_TABLE_FUNCTIONS = {"generate_series", "range", "unnest", "values"}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a statement was refused, and the node it was refused at (for the line number)."""

    reason: str
    node: exp.Expr


def function_name(f: exp.Func) -> str:
    return (f.name if isinstance(f, exp.Anonymous) else f.sql_name()).lower()


def refuse(statement: exp.Expr | None, *, what: str = "a model") -> Refusal | None:
    """None when `statement` is a plain query over tables; otherwise the first reason to refuse it."""
    if statement is None:
        return None
    if not isinstance(statement, exp.Query):
        kind = (
            str(statement.this).split()[0].upper()
            if isinstance(statement, exp.Command)
            else statement.key.upper()
        )
        return Refusal(
            f"{what} may only be a SELECT query; {kind} statements are refused in the canary", statement
        )
    for node in statement.walk():
        if isinstance(node, exp.Func):
            name = function_name(node)
            if _FORBIDDEN_FUNCTIONS.match(name):
                return Refusal(f"{what} calls {name}(), which can read outside the sampled data", node)
        if isinstance(node, exp.Table):
            target = node.this
            if isinstance(target, exp.Func) and function_name(target) not in _ALLOWED_TABLE_FUNCTIONS:
                return Refusal(f"{what} reads from the table function {function_name(target)}()", node)
            if isinstance(target, exp.Literal):
                return Refusal(f"{what} reads a file path as a table ({target.name!r})", node)
        if isinstance(node, (exp.Command, exp.Copy, exp.Attach, exp.Set, exp.Pragma, exp.Create, exp.Insert)):
            return Refusal(f"{what} contains a {node.key.upper()} statement", node)
    return None
