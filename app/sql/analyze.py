"""analyze(project) -> Analysis: parse every model once, resolve what it reads, order the DAG, type
each model's output from its upstreams (sqlglot qualify + annotate_types) and trace column lineage.

Pass the base revision's Analysis as `reuse` when analysing the head: a model whose SQL, path and
upstream schemas are unchanged is taken over as is, so a head analysis costs only what changed.
"""

from __future__ import annotations

import difflib
import functools
import gc
import weakref
from collections.abc import Collection, Mapping
from typing import Any

from sqlglot import exp

from app.errors import DatacanaryError, ProjectError, SqlError
from app.project.model import ModelFile, Project
from app.sql.analysis import Analysis, BrokenModel, ModelAnalysis, OutputColumn, SourceAnalysis
from app.sql.dag import order_without_cycles, topological_order
from app.sql.datatypes import normalize
from app.sql.engine_names import name_unnamed
from app.sql.lineage import column_lineage
from app.sql.outputs import output_locations
from app.sql.parse import TableRef, parse_model, select_keyword_line, table_refs
from app.sql.pivots import standard_pivots
from app.sql.qualify import output_types, qualify_model
from app.sql.schema import contract_fallback_types, source_relations
from app.types import Location

_UNKNOWN = exp.DataType.build("UNKNOWN")


class _Names:
    """Resolves a table reference to a model or a declared source."""

    def __init__(self, models: Mapping[str, ModelFile], sources: Mapping[str, SourceAnalysis]) -> None:
        self.models = models
        self.sources = sources
        self.folded: dict[str, str] = {}
        for name in list(sources) + list(models):  # models win a case-insensitive tie
            self.folded[name.casefold()] = name

    def resolve(self, ref: TableRef, model: ModelFile) -> str:
        # the full name first, then without catalog, then the bare name (`analytics.raw.orders`)
        for candidate in (".".join(ref.parts[i:]) for i in range(len(ref.parts))):
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
            hint + "otherwise declare it under `sources:` in datacanary.yml (or add a model file named so)",
        )


# Models analysed by any live Analysis, by everything their analysis depended on: analysing a base and
# a head revision in either order re-does only what differs. Weak, so nothing outlives its Analysis.
_MEMO: weakref.WeakValueDictionary[tuple[object, ...], ModelAnalysis] = weakref.WeakValueDictionary()
_PARSED: weakref.WeakValueDictionary[tuple[str, str, str], ModelAnalysis] = weakref.WeakValueDictionary()


def analyze(
    project: Project, reuse: Analysis | None = None, *, strict: bool = True, keep: Collection[str] = ()
) -> Analysis:
    """Analyse every model of `project`; errors name the model file and line (SqlError, ProjectError).

    `reuse` (another revision's Analysis) is an explicit hint; models of any live Analysis are reused
    anyway when their SQL and upstream schemas are the same. With `strict=False` a column that cannot
    be resolved (a model reading a column its upstream dropped) is recorded in `Analysis.problems`
    instead of raised, so the rest of the project is still analysed and the gate can report it.
    `keep`: models whose qualified tree stays with their analysis (`ModelAnalysis.qualified`) instead of
    being qualified a second time on first use: the ones whose SQL the other revision changed, which
    the change classification reads (the others are dropped, see ModelAnalysis).
    """
    # sqlglot trees are large and cyclic (parent links): the collector would rescan every tree built
    # so far many times over while nothing is garbage yet. Pausing it saves about a third of the time.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _analyze(project, reuse, strict, frozenset(keep))
    finally:
        if paused:
            gc.enable()


def edited_models(base: Project, head: Project) -> frozenset[str]:
    """The models of both revisions whose SQL differs (for `analyze(keep=...)`)."""
    return frozenset(n for n, m in head.models.items() if n in base.models and base.models[n].sql != m.sql)


def _analyze(project: Project, reuse: Analysis | None, strict: bool, keep: frozenset[str]) -> Analysis:
    dialect = project.config.dialect
    previous = reuse.models if reuse is not None and reuse.dialect == dialect else {}
    sources = source_relations(project)
    names = _Names(project.models, sources)
    trees: dict[str, exp.Query | None] = {}
    refs_of: dict[str, tuple[TableRef, ...]] = {}
    targets: dict[str, dict[tuple[str, ...], str]] = {}
    upstream: dict[str, set[str]] = {}
    broken: dict[str, BrokenModel] = {}  # lenient only: one bad model must not take the others down
    for name, model in project.models.items():
        prev = previous.get(name) or _lookup(_PARSED, (dialect, model.path, model.sql))
        try:
            if prev is not None and prev.sql == model.sql and prev.path == model.path:
                trees[name], refs = None, prev.refs  # parsed again only if it must be re-typed
            else:
                tree = _parse(model, dialect)
                trees[name] = tree
                refs = tuple(table_refs(tree, model.path, model.sql, dialect))
            targets[name] = {ref.parts: names.resolve(ref, model) for ref in refs}
        except DatacanaryError as err:
            if strict:
                raise
            broken[name] = BrokenModel(name, model.path, err)
            continue
        refs_of[name] = refs
    for name, found in targets.items():
        upstream[name] = {t for t in found.values() if t in project.models and t not in broken}
    paths = {n: m.path for n, m in project.models.items()}
    if strict:
        order = topological_order(upstream, paths)
    else:  # each model of a cycle is broken, a finding of its own; its readers read it as broken
        order, cyclic = order_without_cycles(upstream, paths)
        broken.update({n: BrokenModel(n, paths[n], err) for n, err in cyclic.items()})
    done: dict[str, ModelAnalysis] = {}
    for name in order:
        model = project.models[name]
        # a broken model reads like a source whose columns are unknown: explicit columns still resolve
        gaps = sorted({t for t in targets[name].values() if t in broken})
        known = sources if not gaps else {**sources, **{g: SourceAnalysis(g, (), None) for g in gaps}}
        job = _Job(project, model, trees[name], refs_of[name], targets[name], known, strict, name in keep)
        try:
            done[name] = job.run(done, previous.get(name))
        except DatacanaryError as err:
            if strict:
                raise
            if not gaps:
                broken[name] = BrokenModel(name, model.path, err)
                continue
            why = SqlError(
                f"model {name!r} cannot be analysed: it reads {gaps[0]!r}, which cannot be analysed",
                err.location or model.location,
                f"fix {gaps[0]} first (see its own finding)",
            )
            broken[name] = BrokenModel(name, model.path, why, upstream=gaps[0])
    kept = tuple(n for n in order if n in done)
    return Analysis.build(dialect, kept, done, sources, broken)


class _Job:
    """Analysis of one model once its upstream models are analysed."""

    def __init__(
        self,
        project: Project,
        model: ModelFile,
        tree: exp.Query | None,
        refs: tuple[TableRef, ...],
        targets: dict[tuple[str, ...], str],
        sources: Mapping[str, SourceAnalysis],
        strict: bool,
        keep: bool = False,
    ) -> None:
        self.project, self.model, self.tree, self.refs, self.targets = project, model, tree, refs, targets
        self.sources, self.strict, self.keep = sources, strict, keep
        self.dialect = project.config.dialect

    def run(self, done: Mapping[str, ModelAnalysis], prev: ModelAnalysis | None) -> ModelAnalysis:
        model, dialect = self.model, self.dialect
        read = sorted(set(self.targets.values()))
        schema: dict[str, Mapping[str, exp.DataType]] = {}
        signature = []
        for t in read:
            rel: ModelAnalysis | SourceAnalysis = done[t] if t in done else self.sources[t]
            kind = "model" if isinstance(rel, ModelAnalysis) else "source"
            if isinstance(rel, ModelAnalysis) or rel.known:
                schema[t] = rel.datatypes
            signature.append((t, kind, tuple((c.name, c.type) for c in rel.columns)))
        fallback = contract_fallback_types(self.project, model.name)
        fallback_sig = tuple(sorted((k, normalize(v)) for k, v in fallback.items()))
        key = (model.name, model.path, model.sql, dialect, tuple(signature), fallback_sig)
        hit = prev if prev is not None and prev.key == key else _lookup(_MEMO, key)
        if hit is not None:
            if hit.problems and self.strict:
                raise hit.problems[0]  # recorded by a lenient analysis; this one is strict
            return hit

        tree = self.tree if self.tree is not None else _parse(model, dialect)
        name_unnamed(tree, dialect)  # `(1 - rate)`, as the engine calls it, not `_col_0`
        locations, star = output_locations(model, tree, dialect)  # positions before qualify rewrites
        select_line = select_keyword_line(model.sql, tree)
        tree, problems, read_of_undeclared = qualify_model(
            model, tree, self.targets, schema, self.sources, dialect, self.strict
        )
        columns: list[OutputColumn] = []
        datatypes: dict[str, exp.DataType] = {}
        for name, dt in output_types(tree):
            loc = locations.get(name) or star or Location(model.path, select_line)
            inferred = dt is not None
            if dt is None and name in fallback:
                dt = fallback[name]
            columns.append(OutputColumn(name, normalize(dt), loc, inferred))
            datatypes[name] = dt or _UNKNOWN
        lineage, reads, row_reads = column_lineage(tree, read, schema)
        result = ModelAnalysis(
            name=model.name,
            path=model.path,
            sql=model.sql,
            dialect=dialect,
            rebuild=functools.partial(_requalify, model, self.targets, schema, self.sources, dialect),
            columns=tuple(columns),
            upstream=tuple(t for t in read if t in done),
            sources=tuple(t for t in read if t not in done),
            select_line=select_line,
            lineage=lineage,
            reads=reads,
            row_reads=row_reads,
            datatypes=datatypes,
            refs=self.refs,
            problems=problems,
            inferred=tuple(sorted(read_of_undeclared.items())),
            key=key,
        )
        if self.keep:  # the tree rebuild() would make: lineage and typing only read it
            result._trees["qualified"] = tree
        _MEMO[key] = result
        _PARSED[(dialect, model.path, model.sql)] = result
        return result


def _requalify(
    model: ModelFile,
    targets: dict[tuple[str, ...], str],
    schema: Mapping[str, Mapping[str, exp.DataType]],
    sources: Mapping[str, SourceAnalysis],
    dialect: str,
) -> exp.Query:
    tree = _parse(model, dialect)
    name_unnamed(tree, dialect)
    return qualify_model(model, tree, targets, schema, sources, dialect, strict=False)[0]


def _parse(model: ModelFile, dialect: str) -> exp.Query:
    tree = parse_model(model, dialect)
    if dialect == "duckdb" and tree.find(exp.Pivot):  # only DuckDB has the PIVOT statement
        standard_pivots(model, tree, dialect)
    return tree


def _lookup(
    memo: weakref.WeakValueDictionary[Any, ModelAnalysis], key: tuple[object, ...]
) -> ModelAnalysis | None:
    try:
        return memo.get(key)
    except (KeyError, TypeError):  # an entry collected mid-lookup, or an unhashable key part
        return None
