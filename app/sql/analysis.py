"""What SQL analysis knows about a project: models in DAG order, their output columns and types,
the sources they read, and column-level lineage. Values only; `app.sql.analyze` computes them.

`exp` trees inside these values are shared between analyses (a head analysis reuses unchanged
models of the base one): treat them as read-only and `.copy()` before transforming.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import cast

import sqlglot
from sqlglot import exp

from app.errors import DatacanaryError, SqlError
from app.sql.dag import closure
from app.sql.parse import TableRef, as_query
from app.types import Location

ColumnRef = tuple[str, str]  # (table: model or source name, column)


@dataclass(frozen=True, slots=True)
class BrokenModel:
    """A model a lenient analysis could not take: it does not parse, reads an unknown table, or reads a
    model that is itself broken (`upstream`). The rest of the project is analysed without it."""

    name: str
    path: str
    error: DatacanaryError
    upstream: str | None = None


@dataclass(frozen=True, slots=True)
class OutputColumn:
    """A column of a model's output (or of a source), with its normalized type."""

    name: str
    type: str | None  # normalized ('BIGINT', 'VARCHAR', 'DECIMAL(10, 2)', ...); None when unknown
    location: Location
    inferred: bool = True  # False: sqlglot could not type it and the type comes from a contract


@dataclass(frozen=True, slots=True)
class SourceAnalysis:
    """A declared source table and what is known of its columns."""

    name: str
    columns: tuple[OutputColumn, ...]
    declared_in: str | None  # "datacanary.yml" or the contract path; None when columns are unknown
    datatypes: Mapping[str, exp.DataType] = field(default_factory=lambda: MappingProxyType({}), repr=False)

    @property
    def known(self) -> bool:
        return self.declared_in is not None


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class ModelAnalysis:
    """One analysed model: small values only. The trees (`expression` as written, `qualified` with every
    column bound, stars expanded, types annotated and tables renamed to model/source names) are rebuilt
    on first use: keeping a thousand of them alive makes every later garbage collection crawl."""

    name: str
    path: str
    sql: str
    dialect: str
    columns: tuple[OutputColumn, ...]
    upstream: tuple[str, ...]  # models read, sorted
    sources: tuple[str, ...]  # declared sources read, sorted
    select_line: int  # the outermost SELECT keyword
    # output column -> the (table, column) its value is computed from
    lineage: Mapping[str, frozenset[ColumnRef]] = field(repr=False)
    # every (table, column) the query reads anywhere: projections, joins, filters, grouping
    reads: frozenset[ColumnRef] = field(repr=False)
    datatypes: Mapping[str, exp.DataType] = field(repr=False)
    refs: tuple[TableRef, ...] = field(repr=False)  # tables as written, with their positions
    key: tuple[object, ...] = field(repr=False)  # everything the analysis depended on, for reuse
    problems: tuple[SqlError, ...] = ()  # unresolvable columns (analyze(strict=False) only)
    # the (table, column)s that decide which rows it returns: filters, joins, grouping, DISTINCT
    row_reads: frozenset[ColumnRef] = field(default=frozenset(), repr=False)
    # undeclared tables it reads -> the columns it reads of them (app.sql.infer), for the report
    inferred: tuple[tuple[str, tuple[str, ...]], ...] = ()
    rebuild: Callable[[], exp.Query] | None = field(default=None, repr=False)  # re-qualifies the query
    _trees: dict[str, exp.Query] = field(default_factory=dict, repr=False)

    @property
    def expression(self) -> exp.Query:
        """The query as written, parsed in the model's dialect (shared: copy it before transforming)."""
        if "expression" not in self._trees:
            parsed = sqlglot.parse(self.sql, read=self.dialect)
            # parse_model admitted this SQL as exactly one query; sqlglot.parse only says Expr
            query = as_query(next(s for s in parsed if s is not None), self.dialect)
            self._trees["expression"] = cast(exp.Query, query)
        return self._trees["expression"]

    @property
    def qualified(self) -> exp.Query:
        """The qualified, typed query (shared: copy it before transforming)."""
        if "qualified" not in self._trees:
            if self.rebuild is None:  # pragma: no cover - every analysed model has one
                raise ValueError(f"model {self.name} has no query to qualify")
            self._trees["qualified"] = self.rebuild()
        return self._trees["qualified"]

    @property
    def location(self) -> Location:
        return Location(self.path, self.select_line)

    def column(self, name: str) -> OutputColumn | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def reads_tables(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.upstream) | set(self.sources)))


@dataclass(frozen=True, slots=True)
class LineageEdge:
    """`upstream` (a model's or source's column) flows into `downstream` (a model's output column)."""

    upstream: ColumnRef
    downstream: ColumnRef


@dataclass(frozen=True, slots=True)
class Analysis:
    """The analysed project: build with `app.sql.analyze.analyze(project)`."""

    dialect: str
    order: tuple[str, ...]
    models: Mapping[str, ModelAnalysis]
    sources: Mapping[str, SourceAnalysis]
    _children: Mapping[str, frozenset[str]] = field(repr=False)
    _column_children: Mapping[ColumnRef, frozenset[ColumnRef]] = field(repr=False)
    _readers: Mapping[ColumnRef, frozenset[str]] = field(repr=False)
    # models left out (analyze(strict=False) only): each becomes a finding of its own
    broken: Mapping[str, BrokenModel] = field(default_factory=lambda: MappingProxyType({}))

    @staticmethod
    def build(
        dialect: str,
        order: tuple[str, ...],
        models: Mapping[str, ModelAnalysis],
        sources: Mapping[str, SourceAnalysis],
        broken: Mapping[str, BrokenModel] | None = None,
    ) -> Analysis:
        """Index models for the downstream queries below."""
        children: dict[str, set[str]] = {}
        col_children: dict[ColumnRef, set[ColumnRef]] = {}
        readers: dict[ColumnRef, set[str]] = {}
        for m in models.values():
            for up in m.reads_tables:
                children.setdefault(up, set()).add(m.name)
            for out, ups in m.lineage.items():
                for up_col in ups:
                    col_children.setdefault(up_col, set()).add((m.name, out))
            for ref in m.reads:
                readers.setdefault(ref, set()).add(m.name)
        return Analysis(
            dialect=dialect,
            order=order,
            models=MappingProxyType({n: models[n] for n in order}),
            sources=MappingProxyType(dict(sources)),
            _children=MappingProxyType({k: frozenset(v) for k, v in children.items()}),
            _column_children=MappingProxyType({k: frozenset(v) for k, v in col_children.items()}),
            _readers=MappingProxyType({k: frozenset(v) for k, v in readers.items()}),
            broken=MappingProxyType(dict(broken or {})),
        )

    def downstream(self, name: str) -> set[str]:
        """Every model that reads `name` (a model or a source), directly or through other models."""
        return closure([name], self._children)

    def children(self, name: str) -> frozenset[str]:
        """Models that read `name` directly."""
        return self._children.get(name, frozenset())

    @property
    def problems(self) -> tuple[SqlError, ...]:
        """Columns that could not be resolved (only with analyze(strict=False)), in DAG order."""
        return tuple(p for m in self.models.values() for p in m.problems)

    def inferred_columns(self) -> dict[str, tuple[str, ...]]:
        """Tables whose columns nobody declared -> the columns the models read of them, sorted."""
        found: dict[str, set[str]] = {}
        for m in self.models.values():
            for table, cols in m.inferred:
                found.setdefault(table, set()).update(cols)
        return {t: tuple(sorted(c)) for t, c in sorted(found.items())}

    @property
    def lineage(self) -> tuple[LineageEdge, ...]:
        """Every column-level edge, in DAG order of the downstream model."""
        return tuple(
            LineageEdge(up, (m.name, out))
            for m in self.models.values()
            for out in m.column_names
            for up in sorted(m.lineage.get(out, ()))
        )

    def column_children(self, table: str, column: str) -> frozenset[ColumnRef]:
        """Output columns computed directly from `table.column`."""
        return self._column_children.get((table, column), frozenset())

    def column_downstream(self, table: str, column: str) -> set[ColumnRef]:
        """Every model column whose value derives from `table.column`, transitively."""
        seen: set[ColumnRef] = set()
        stack = list(self.column_children(table, column))
        while stack:
            ref = stack.pop()
            if ref not in seen:
                seen.add(ref)
                stack.extend(self._column_children.get(ref, ()))
        return seen

    def column_upstream(self, model: str, column: str) -> set[ColumnRef]:
        """Every model or source column that `model.column` derives from, transitively."""
        seen: set[ColumnRef] = set()
        stack = list(self.models[model].lineage.get(column, ())) if model in self.models else []
        while stack:
            ref = stack.pop()
            if ref not in seen:
                seen.add(ref)
                up = self.models.get(ref[0])
                if up is not None:
                    stack.extend(up.lineage.get(ref[1], ()))
        return seen

    def readers(self, table: str, column: str) -> frozenset[str]:
        """Models whose SQL mentions `table.column` anywhere (select, join, where, group by, ...)."""
        return self._readers.get((table, column), frozenset())

    def stored_column(self, dataset: str, name: str) -> str:
        """`name` as this analysis spells the column of `dataset`: as given when it has that column, else
        as the dialect stores an unquoted name (Snowflake: a contract's `amount` is AMOUNT)."""
        from app.sql.schema import normalize_name  # schema imports this module

        columns = self.relation_columns(dataset)
        if columns is None or any(c.name == name for c in columns):
            return name
        return normalize_name(name, self.dialect)

    def relation_columns(self, name: str) -> tuple[OutputColumn, ...] | None:
        """Output columns of a model or known columns of a source; None when `name` is neither."""
        if name in self.models:
            return self.models[name].columns
        if name in self.sources:
            return self.sources[name].columns
        return None
