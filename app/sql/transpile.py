"""Transpile a model to DuckDB for the canary: sqlglot, refusing anything it cannot express faithfully."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError, UnsupportedError

from app.errors import SqlError
from app.sql.analysis import ModelAnalysis
from app.sql.parse import cte_references, node_line
from app.types import Location


def to_duckdb(model: ModelAnalysis, dialect: str, tables: Mapping[str, str] | None = None) -> str:
    """The model's query in DuckDB SQL. `tables` optionally maps model/source names to the DuckDB
    relations to read instead (e.g. `{"raw_orders": "sample.raw_orders"}`).

    A construct DuckDB cannot run the same way raises SqlError at the model's file and line.
    """
    return to_dialect(model, dialect, tables, "duckdb")


def to_dialect(
    model: ModelAnalysis,
    dialect: str,
    tables: Mapping[str, str] | None,
    write: str,
    rewrite: Callable[[exp.Expr, str], exp.Expr] | None = None,
) -> str:
    """`to_duckdb` for any engine's dialect `write` (`tables` named in it); `rewrite(tree, write)` may
    change the retargeted tree in place before it is generated (what sqlglot passes through as written
    but the engine lacks)."""
    tree = model.expression.copy()
    if tables:
        _retarget(tree, model, tables, dialect, write)
    if rewrite is not None:
        rewrite(tree, write)
    engine = {"duckdb": "DuckDB", "postgres": "PostgreSQL", "spark": "Spark"}.get(write, write)
    try:
        # the tree is this call's own copy: the generator need not copy it again
        return tree.sql(dialect=write, unsupported_level=ErrorLevel.RAISE, pretty=True, copy=False)
    except UnsupportedError as err:
        raise SqlError(
            f"model {model.name!r} cannot be translated from {dialect} to {engine} for the canary: {err}",
            Location(model.path, model.select_line),
            "rewrite the construct in portable SQL, or disable the canary (canary.enabled: false)",
        ) from None
    except SqlglotError as err:  # pragma: no cover - generator failures other than unsupported constructs
        raise SqlError(
            f"model {model.name!r} could not be translated to DuckDB: {err}",
            Location(model.path, node_line(model.expression) or 1),
            "report this with the model's SQL; meanwhile run with --no-canary",
        ) from None


def _retarget(
    tree: exp.Expr, model: ModelAnalysis, tables: Mapping[str, str], dialect: str, write: str = "duckdb"
) -> None:
    """Point every table the model reads at its replacement, keeping the alias columns refer to."""
    known = set(model.reads_tables)
    ctes = cte_references(tree, dialect)
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier) or id(table) in ctes:
            continue
        parts = [p.name for p in (table.args.get("catalog"), table.args.get("db"), table.this) if p]
        name = ".".join(parts) if ".".join(parts) in known else parts[-1]
        if name not in known or name not in tables:
            continue
        target = exp.to_table(tables[name], dialect=write)
        alias = table.args.get("alias") or exp.TableAlias(this=table.this.copy())
        target.set("alias", alias)
        table.replace(target)
