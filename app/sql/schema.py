"""Where column types come from before any model is typed: declared sources (datacanary.yml
`sources.<name>.columns`, else a contract describing the source) and contracts of models (used for
columns sqlglot cannot type). Identifiers are normalized the way the dialect stores them."""

from __future__ import annotations

import functools
from types import MappingProxyType

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from app.contracts.model import Column, Dataset
from app.project.model import Project
from app.sql.analysis import OutputColumn, SourceAnalysis
from app.sql.datatypes import LOGICAL_DEFAULTS, normalize, parse_type
from app.types import Location

UNKNOWN = exp.DataType.build("UNKNOWN")


@functools.lru_cache(maxsize=65536)
def normalize_name(name: str, dialect: str) -> str:
    """A column or table name as the dialect stores it unquoted (DuckDB lowercases, Snowflake uppercases).

    Names that need quoting (spaces, mixed symbols) keep their case, as quoted identifiers do.
    """
    ident = exp.to_identifier(name)
    if ident is None:  # pragma: no cover - only for empty names
        return name
    return Dialect.get_or_raise(dialect).normalize_identifier(ident).name


def contract_column_type(column: Column, dialect: str) -> exp.DataType | None:
    """The SQL type a contract column promises: physicalType, else its logicalType's usual SQL type."""
    if column.physical_type:
        dt = parse_type(column.physical_type, dialect)
        if dt is not None:
            return dt
    default = LOGICAL_DEFAULTS.get((column.logical_type or "").lower())
    return parse_type(default, "duckdb") if default else None


def source_relations(project: Project) -> dict[str, SourceAnalysis]:
    """Every declared source with the columns known for it (config first, then a contract)."""
    dialect = project.config.dialect
    out: dict[str, SourceAnalysis] = {}
    for name, spec in project.config.sources.items():
        if spec.columns:
            loc = project.config_doc.location(("sources", name, "columns"))
            typed = {
                normalize_name(col, dialect): (
                    parse_type(text, dialect),
                    project.config_doc.location(("sources", name, "columns", col)),
                )
                for col, text in spec.columns.items()
            }
            out[name] = _relation(name, typed, loc.path)
            continue
        hit = project.contract_of(name)
        if hit is not None:
            contract, dataset = hit
            out[name] = _relation(name, _contract_columns(dataset, contract.path, dialect), contract.path)
            continue
        out[name] = SourceAnalysis(name=name, columns=(), declared_in=None)
    return out


_Typed = dict[str, tuple[exp.DataType | None, Location]]


def _contract_columns(dataset: Dataset, path: str, dialect: str) -> _Typed:
    return {
        normalize_name(c.output_name, dialect): (
            contract_column_type(c, dialect),
            c.location or Location(path),
        )
        for c in dataset.table_columns
    }


def _relation(name: str, columns: _Typed, declared_in: str) -> SourceAnalysis:
    return SourceAnalysis(
        name=name,
        columns=tuple(OutputColumn(c, normalize(t), loc) for c, (t, loc) in columns.items()),
        declared_in=declared_in,
        datatypes=MappingProxyType({c: t or UNKNOWN for c, (t, _) in columns.items()}),
    )


def contract_fallback_types(project: Project, model: str) -> dict[str, exp.DataType]:
    """Types the model's contract promises, by normalized column name (for columns sqlglot can't type)."""
    hit = project.contract_of(model)
    if hit is None:
        return {}
    dialect = project.config.dialect
    out = {}
    for c in hit[1].columns:
        dt = contract_column_type(c, dialect)
        if dt is not None:
            out[normalize_name(c.output_name, dialect)] = dt
    return out
