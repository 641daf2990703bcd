"""Implementation drift: a model's SQL against its own contract. A contract column the SELECT no longer
produces, or produces with a type that does not fit the promise, is reported at the SQL file and line,
even when the contract file did not change."""

from __future__ import annotations

import difflib

from app.contracts.model import Column, Dataset
from app.contracts.rules import Change, ChangeKind
from app.project.model import Project
from app.sql.analysis import Analysis, ModelAnalysis, OutputColumn
from app.sql.datatypes import fits, fits_logical, parse_type
from app.sql.schema import normalize_name
from app.types import Location

K = ChangeKind


def drift(analysis: Analysis, project: Project) -> list[Change]:
    """Every difference between each contracted model's inferred output and its contract (source="sql")."""
    out: list[Change] = []
    for name, model in analysis.models.items():
        hit = project.contract_of(name)
        if hit is not None:
            out.extend(model_drift(model, hit[1], hit[0].path, project.config.dialect))
    return out


def model_drift(model: ModelAnalysis, dataset: Dataset, contract_path: str, dialect: str) -> list[Change]:
    """Drift of one model against the contract dataset that describes it."""
    promised = {normalize_name(c.output_name, dialect): c for c in dataset.table_columns}
    produced = {c.name: c for c in model.columns}
    undeclared = [c for n, c in produced.items() if n not in promised]
    out: list[Change] = []
    for key, col in promised.items():
        sql_col = produced.get(key)
        if sql_col is None:
            out.append(_missing(model, col, contract_path, undeclared, dialect))
            continue
        mismatch = _type_mismatch(model, sql_col, col, dialect)
        if mismatch is not None:
            out.append(mismatch)
    for c in undeclared:
        out.append(
            Change.of(
                K.SQL_COLUMN_UNDECLARED,
                model.name,
                f"model {model.name} outputs column {c.name}, "
                f"which its contract ({contract_path}) does not declare",
                column=c.name,
                location=c.location,
                new=c.type,
                source="sql",
            )
        )
    return out


def _missing(
    model: ModelAnalysis, col: Column, contract_path: str, undeclared: list[OutputColumn], dialect: str
) -> Change:
    guess = _rename_guess(col, undeclared, dialect)
    renamed = f" (renamed to {guess.name}?)" if guess else ""
    return Change.of(
        K.SQL_COLUMN_MISSING,
        model.name,
        f"model {model.name} no longer outputs column {col.output_name} promised by {contract_path}{renamed}",
        column=col.output_name,
        location=Location(model.path, model.select_line),
        base_location=col.location,
        old=col.output_name,
        new=guess.name if guess else None,
        source="sql",
    )


def _rename_guess(col: Column, candidates: list[OutputColumn], dialect: str) -> OutputColumn | None:
    """An undeclared output column that looks like the missing one renamed: a close name, else the only
    candidate of the same type."""
    by_name = {c.name: c for c in candidates}
    close = difflib.get_close_matches(col.output_name, list(by_name), n=1, cutoff=0.6)
    if close:
        return by_name[close[0]]
    if len(candidates) == 1 and candidates[0].type and col.physical_type:
        sql = parse_type(candidates[0].type, "duckdb")  # normalized types are DuckDB spellings
        promised = parse_type(col.physical_type, dialect)
        if sql is not None and promised is not None and fits(sql, promised):
            return candidates[0]
    return None


def _type_mismatch(model: ModelAnalysis, sql_col: OutputColumn, col: Column, dialect: str) -> Change | None:
    if not sql_col.inferred or sql_col.type is None:
        return None  # unknown types are not flagged
    sql_type = model.datatypes.get(sql_col.name)
    promised = col.physical_type or col.logical_type
    if col.physical_type and parse_type(col.physical_type, dialect) is not None:
        ok = fits(sql_type, parse_type(col.physical_type, dialect))
    else:
        ok = fits_logical(sql_type, col.logical_type)
    if ok is not False:
        return None
    return Change.of(
        K.SQL_TYPE_MISMATCH,
        model.name,
        f"model {model.name} outputs {sql_col.name} as {sql_col.type}, "
        f"which does not fit the contract's {promised}",
        column=sql_col.name,
        location=sql_col.location,
        base_location=col.location,
        old=promised,
        new=sql_col.type,
        source="sql",
    )
