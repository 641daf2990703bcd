"""analyze(project) -> Analysis: parse every model once, resolve what it reads, order the DAG, type
each model's output from its upstreams (sqlglot qualify + annotate_types) and trace column lineage.

Pass the base revision's Analysis as `reuse` when analysing the head: a model whose SQL, path and
upstream schemas are unchanged is taken over as is, so a head analysis costs only what changed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

from sqlglot import exp
from sqlglot.errors import OptimizeError, SchemaError, SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from app.errors import ProjectError, SqlError
from app.project.model import ModelFile, Project
from app.sql.analysis import Analysis, ModelAnalysis, OutputColumn, SourceAnalysis
from app.sql.dag import topological_order
from app.sql.datatypes import fits, normalize
from app.sql.lineage import column_lineage
from app.sql.outputs import output_locations, set_operation_selects
from app.sql.parse import TableRef, parse_model, select_keyword_line, table_refs
from app.sql.schema import contract_fallback_types, source_relations
from app.types import Location

_POSITION = re.compile(r"Line: (\d+), Col: (\d+)")


class _Names:
    """Resolves a table reference to a model or a declared source."""

    def __init__(self, models: Mapping[str, ModelFile], sources: Mapping[str, SourceAnalysis]) -> None:
        self.models = models
        self.sources = sources
        self.folded: dict[str, str] = {}
        for name in list(sources) + list(models):  # models win a case-insensitive tie
            self.folded[name.casefold()] = name

    def resolve(self, ref: TableRef, model: ModelFile) -> str:
        for candidate in (ref.dotted, ref.parts[-1]):
            if candidate in self.models or candidate in self.sources:
                return candidate
            if not ref.quoted and candidate.casefold() in self.folded:
                return self.folded[candidate.casefold()]
        known = sorted(set(self.models) | set(self.sources))
        close = difflib.get_close_matches(ref.dotted, known, n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise ProjectError(
            f"model {model.name!r} reads table {ref.dotted!r} which is neither a model nor a declared source",
            ref.location,
            hint + "otherwise declare it under `sources:` in datacanary.yml (or add a model file named after it)",
        )


def analyze(project: Project, reuse: Analysis | None = None) -> Analysis:
    """Analyse every model of `project`; errors name the model file and line (SqlError, ProjectError)."""
    dialect = project.config.dialect
    previous = reuse.models if reuse is not None and reuse.dialect == dialect else {}
    sources = source_relations(project)
    names = _Names(project.models, sources)
    parsed: dict[str, tuple[exp.Query, dict[tuple[str, ...], str]]] = {}
    upstream: dict[str, set[str]] = {}
    for name, model in project.models.items():
        prev = previous.get(name)
        expr = prev.expression if prev is not None and prev.sql == model.sql else parse_model(model, dialect)
        targets = {ref.parts: names.resolve(ref, model) for ref in table_refs(expr, model.path, model.sql)}
        parsed[name] = (expr, targets)
        upstream[name] = {t for t in targets.values() if t in project.models}
    order = topological_order(upstream, {n: m.path for n, m in project.models.items()})
    done: dict[str, ModelAnalysis] = {}
    for name in order:
        expr, targets = parsed[name]
        done[name] = _analyze_model(project, project.models[name], expr, targets, done, sources, previous.get(name))
    return Analysis.build(dialect, order, done, sources)


def _analyze_model(
    project: Project,
    model: ModelFile,
    expr: exp.Query,
    targets: dict[tuple[str, ...], str],
    done: Mapping[str, ModelAnalysis],
    sources: Mapping[str, SourceAnalysis],
    prev: ModelAnalysis | None,
) -> ModelAnalysis:
    dialect = project.config.dialect
    read = sorted(set(targets.values()))
    schema: dict[str, Mapping[str, exp.DataType]] = {}
    signature: list[tuple[str, tuple[tuple[str, str | None], ...]]] = []
    for t in read:
        rel: ModelAnalysis | SourceAnalysis = done[t] if t in done else sources[t]
        if isinstance(rel, ModelAnalysis) or rel.known:
            schema[t] = rel.datatypes
            signature.append((t, tuple((c.name, c.type) for c in rel.columns)))
    fallback = contract_fallback_types(project, model.name)
    key = (model.name, model.path, model.sql, dialect, tuple(signature), tuple(sorted((k, normalize(v)) for k, v in fallback.items())))
    if prev is not None and prev.key == key:
        return prev

    qualified = _qualified(model, expr, targets, schema, sources, dialect)
    locations, star = output_locations(model, expr, dialect)
    select_line = select_keyword_line(model.sql, expr)
    columns: list[OutputColumn] = []
    datatypes: dict[str, exp.DataType] = {}
    for name, dt in _output_types(qualified):
        loc = locations.get(name) or star or Location(model.path, select_line)
        inferred = dt is not None
        if dt is None and name in fallback:
            dt = fallback[name]
        columns.append(OutputColumn(name, normalize(dt), loc, inferred))
        datatypes[name] = dt or exp.DataType.build("UNKNOWN")
    lineage, reads = column_lineage(qualified, read)
    return ModelAnalysis(
        name=model.name,
        path=model.path,
        sql=model.sql,
        dialect=dialect,
        expression=expr,
        qualified=qualified,
        columns=tuple(columns),
        upstream=tuple(t for t in read if t in done),
        sources=tuple(t for t in read if t not in done),
        select_line=select_line,
        lineage=lineage,
        reads=reads,
        datatypes=datatypes,
        key=key,
    )


def _qualified(
    model: ModelFile,
    expr: exp.Query,
    targets: dict[tuple[str, ...], str],
    schema: dict[str, Mapping[str, exp.DataType]],
    sources: Mapping[str, SourceAnalysis],
    dialect: str,
) -> exp.Query:
    """A typed copy of `expr` with every table renamed to its model/source name (quoted, so dotted
    source names and case survive) and every column qualified."""
    copy = expr.copy()
    for table in copy.find_all(exp.Table):
        ident = table.this
        if not isinstance(ident, exp.Identifier):
            continue
        parts = tuple(p.name for p in (table.args.get("catalog"), table.args.get("db"), ident) if p)
        target = targets.get(parts)
        if target is None:
            continue  # a CTE name
        if not table.alias:
            table.set("alias", exp.TableAlias(this=ident.copy()))
        table.set("catalog", None)
        table.set("db", None)
        table.set("this", exp.Identifier(this=target, quoted=True))
    unknown = sorted(t for t in set(targets.values()) if t in sources and not sources[t].known)
    mapping = MappingSchema(dict(schema), dialect=dialect, normalize=False)
    try:
        qualify(copy, dialect=dialect, schema=mapping, sql=model.sql)
    except (OptimizeError, SchemaError) as err:
        raise _resolution_error(model, err, unknown) from None
    for proj in copy.selects:
        if isinstance(proj, exp.Star) or (isinstance(proj, exp.Column) and proj.is_star):
            raise SqlError(
                f"model {model.name!r} selects * from {', '.join(repr(u) for u in unknown) or 'a table'} whose columns are unknown",
                Location(model.path, select_keyword_line(model.sql, expr)),
                "declare the source's columns in datacanary.yml (`sources.<name>.columns`) or list the columns",
            )
    try:
        annotate_types(copy, schema=mapping, dialect=dialect)
    except SqlglotError:  # pragma: no cover - typing is best effort; unknown types are allowed
        pass
    return copy


def _resolution_error(model: ModelFile, err: SqlglotError, unknown: list[str]) -> SqlError:
    text = str(err).split("\n", 1)[0]
    match = _POSITION.search(text)
    loc = Location(model.path, int(match.group(1)), None) if match else Location(model.path, 1)
    text = _POSITION.sub("", text).strip().rstrip(".")
    hint = "check the column exists in the model or source it reads (and is spelled the same)"
    if unknown:
        hint += f"; declare the columns of {', '.join(repr(u) for u in unknown)} in datacanary.yml"
    return SqlError(f"model {model.name!r}: {text}", loc, hint)


def _output_types(query: exp.Query) -> list[tuple[str, exp.DataType | None]]:
    """Output names with their types; for set operations the widest type across branches."""
    branches = set_operation_selects(query)
    names = query.named_selects
    out: list[tuple[str, exp.DataType | None]] = []
    for i, name in enumerate(names):
        merged: exp.DataType | None = None
        for select in branches:
            if i >= len(select.selects):
                continue
            dt = select.selects[i].type
            if dt is None or dt.this in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL):
                if dt is None or dt.this is exp.DataType.Type.UNKNOWN:
                    merged = None
                    break
                continue
            if merged is None or fits(merged, dt):
                merged = dt
            elif not fits(dt, merged):
                merged = None
                break
        out.append((name, merged))
    return out
