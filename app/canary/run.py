"""run_canary: build the changed models' base and head versions on the same sampled data, in a locked-down
DuckDB, reconcile each pair, check the head output against its contract, and gate the result.

    load sources (sampled) -> lock down -> build shared upstream, base, head (DAG order)
    -> reconcile base vs head per selected model -> quality rules on head -> findings
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from app.canary import exprs as q
from app.canary import sqltext
from app.canary.compile import CompileProblem, compile_query, name_resolver
from app.canary.limits import Caps, caps_from_env, effective_limits, format_size
from app.canary.models import BuildStep, FollowUp, ModelRun, build
from app.canary.per_side import BaseVersions
from app.canary.quality import QualityCheck, QualityResult, checks_for, evaluate, measure
from app.canary.result import CanaryResult, ModelCanary
from app.canary.schema import Tolerance
from app.canary.sources import BASE_SCHEMA
from app.contracts.model import Dataset
from app.project.config import CanaryConfig
from app.project.model import Project
from app.project.tree import Tree

if TYPE_CHECKING:
    from collections.abc import Iterator

    from app.canary.runner import Sandbox
    from app.canary.sampling import JoinSurvival, SourceCoverage
    from app.canary.warehouse import Warehouse
    from app.engines import Engine
    from app.sql.analysis import Analysis

Progress = Callable[[str], None]
_PLACEHOLDER = re.compile(r"\$?\{(object|model|table|dataset)\}")
_COLUMN_PLACEHOLDER = re.compile(r"\$?\{(property|column)\}")


# Where the canary runs when the operator says so (the Action's `engine` input sets it): duckdb,
# postgres or spark; unset, the base revision's datacanary.yml `engine:` decides.
ENGINE_OVERRIDE = "DATACANARY_ENGINE"


def run_canary(
    base: Project,
    head: Project,
    base_analysis: Analysis,
    head_analysis: Analysis,
    *,
    head_tree: Tree,
    selected: Sequence[str] | None = None,
    progress: Progress | None = None,
    keys: Mapping[str, Sequence[str]] | None = None,
    caps: Caps | None = None,
    base_trusted: bool = True,
    renames: Renamed | None = None,
    connect: Callable[[], Engine] | None = None,
    base_tree: Tree | None = None,
    per_side: Collection[str] = (),
) -> CanaryResult:
    """Run the canary for `selected` models (default: models whose SQL changed, and their downstream).
    `keys`: primary keys given for this run (model -> columns); they win over contracts and `canary.keys`.
    Sandbox limits are the base revision's `canary.limits` (`base_trusted`=False: defaults), capped by
    `caps` (default: the operator's, from the environment; app.canary.limits). `renames`: models and
    columns the change renamed, so a renamed model is compared with its old self, under the new names.
    The base revision's `engine:` says where it runs: on `postgres` or `spark` the sources are sampled,
    and the models built and reconciled, in that warehouse (app.canary.warehouse); `connect` opens a
    connection to it (default: from the environment, app.engines.connect). `per_side`: sources whose
    data is the change itself (a dbt seed whose CSV the pull request edited): on DuckDB, the base
    versions of their readers read `base_tree`'s rows and the head versions the head's, so the diff
    shows what the new rows do downstream; every other source is loaded once, from the head."""
    from app.canary.config_check import config_findings, unloadable_location
    from app.canary.gate import canary_findings
    from app.canary.per_side import load_base_versions, warehouse_note
    from app.canary.runner import Sandbox

    say = progress or (lambda _m: None)
    start = time.perf_counter()
    cfg = head.config.canary
    chosen = set(selected) if selected is not None else default_selection(base, head, head_analysis)
    order = [m for m in head_analysis.order if m in chosen and m in head.models]
    # models the analysis could not take stand in the name maps too, so their readers are skipped by name
    broken_t = {m: ("head" if m in chosen else "shared", m) for m in head_analysis.broken if m in head.models}
    needed = ancestors(order, head_analysis) - set(order)
    renamed = renames or Renamed()
    old_names = {renamed.models[m] for m in order if m in renamed.models}
    base_selected = [
        m for m in base_analysis.order if (m in set(order) or m in old_names) and m in base.models
    ]
    base_extra = ancestors(base_selected, base_analysis) - needed - set(order)
    shared_t = {name: ("source", name) for name in head.config.sources}
    shared_t.update({m: t for m, t in broken_t.items() if t[0] == "shared"})
    shared_t.update({m: ("shared", m) for m in needed})
    head_t = {**shared_t, **broken_t, **{m: ("head", m) for m in order}}
    base_t = {**shared_t, **{m: ("base", m) for m in (*base_selected, *base_extra)}}
    hd, bd = head.config.dialect, base.config.dialect
    ham, bam = head_analysis.models, base_analysis.models
    steps = [
        BuildStep(head.models[m], "shared", hd, shared_t, ham[m]) for m in head_analysis.order if m in needed
    ]
    steps += [
        BuildStep(base.models[m], "base", bd, base_t, bam[m])
        for m in base_analysis.order
        if m in base_selected or m in base_extra
    ]
    steps += [BuildStep(head.models[m], "head", hd, head_t, ham[m]) for m in order]

    from app.canary.runner import bound_process_memory

    caps = caps if caps is not None else caps_from_env(os.environ)
    limits = effective_limits(base.config.canary.limits if base_trusted else None, cfg.limits, caps)
    bound_process_memory(caps.process_limit)
    unbuilt = _unbuilt(head, head_analysis, broken_t)
    kind: str = base.config.engine
    override = os.environ.get(ENGINE_OVERRIDE, "").strip().lower()
    if override:  # the operator's choice (the Action's `engine` input) wins over datacanary.yml
        from app.engines import check_kind

        kind = check_kind(override)
    elif head.config.engine != kind:
        notes = (
            *limits.notes,
            f"engine: {head.config.engine} in this pull request applies once it is merged; "
            f"this canary runs on the base revision's ({kind})",
        )
        limits = replace(limits, notes=notes)
    with tempfile.TemporaryDirectory(prefix="datacanary-") as tmp, _terminable():
        coverage: tuple[SourceCoverage, ...]
        joins: tuple[JoinSurvival, ...]
        if kind == "duckdb":
            # the PR's files are only read by an engine that is already locked down (see sources.py)
            db = Sandbox.locked(
                Path(tmp),
                memory_limit=limits.memory_limit,
                threads=engine_threads(head, head_tree, limits.threads),
                max_temp_size=format_size(limits.temp),
            )
        else:
            from app.canary.warehouse import Warehouse

            opener = connect or _opener(kind)
            db = cast("Sandbox", Warehouse.open(opener(), opener, timeout=limits.seconds))
        try:
            say(f"canary: loading {len(head.config.sources)} source(s), seed {cfg.seed}")
            if kind == "duckdb":
                from app.canary.sources import load_sources

                inputs = db.inputs
                assert inputs is not None
                coverage, joins, refused_sources = load_sources(
                    db, head, head_tree, inputs, cfg.seed, head_analysis.inferred_columns()
                )
            else:
                from app.canary.sources import sample_in_place

                coverage, joins = sample_in_place(cast("Warehouse", db), head, cfg.seed)
                refused_sources = {}
            for name, why in refused_sources.items():
                loc = head.config_doc.location(("sources", name, "path"))
                unbuilt[("source", name)] = ModelRun(name, "source", loc.path, "refused", why, loc)
            for s in coverage:  # its readers are not checked: an empty stand-in would only show fake diffs
                if s.unloadable is not None:
                    loc = unloadable_location(head, s)
                    unbuilt[("source", s.name)] = ModelRun(
                        s.name, "source", loc.path, "unloadable", s.unloadable, loc
                    )
            split = BaseVersions(notes=warehouse_note(per_side, kind) if kind != "duckdb" else ())
            if kind == "duckdb" and base_tree is not None and per_side:
                assert db.inputs is not None
                read = base_analysis.inferred_columns()
                split = load_base_versions(db, base, base_tree, db.inputs, coverage, per_side, cfg.seed, read)
                base_t.update({name: (BASE_SCHEMA, name) for name in split.loaded})
                steps = [replace(s, targets=base_t) if s.schema == "base" else s for s in steps]
                unbuilt.update(split.unbuilt)
            for schema in ("shared", "base", "head"):
                db.create_schema(schema)
            given = keys or {}

            from app.sql.volatile import excluded_columns

            volatile = excluded_columns(base_analysis, head_analysis, set(order))

            def compare(name: str) -> Callable[[Sandbox, Mapping[tuple[str, str], ModelRun]], ModelCanary]:
                return lambda d, runs: _compare(
                    d, name, base, head, runs, head_t, cfg, say, given, renamed, volatile.get(name, {})
                )

            reads = {m: (("base", renamed.models.get(m, m)), ("head", m)) for m in order}
            compares = [FollowUp(m, reads[m], compare(m)) for m in order]
            rank = {m: i for i, m in enumerate(head_analysis.order)}
            rank.update({old: rank[new] for new, old in renamed.models.items() if new in rank})
            # base outputs go once compared and built upon: the head's stay for the quality rules
            runs, compared = build(
                db,
                steps,
                timeout=limits.seconds,
                progress=say,
                unbuilt=unbuilt,
                workers=limits.threads,
                then=compares,
                rank=rank,
                transient="base",
            )
            models = tuple(_read_per_side(m, split, head_analysis) for m in compared)
        finally:
            db.close()
    result = CanaryResult(
        seed=cfg.seed,
        models=models,
        upstream=tuple(runs[("shared", m)] for m in head_analysis.order if ("shared", m) in runs),
        sources=coverage,
        joins=joins,
        findings=(),
        limits=limits.to_json(),
        seconds=time.perf_counter() - start,
        notes=(*limits.notes, *split.notes),
        refused_sources=tuple(r for (s, _), r in unbuilt.items() if s == "source"),
    )
    outputs = {m.name: _output_columns(m) for m in models}
    checks = config_findings(head, head_analysis, coverage, outputs)
    gate = canary_findings(result, head.config, head, timeout_severity=limits.timeout_severity)
    return replace(result, findings=(*checks, *split.findings, *gate))


def _read_per_side(m: ModelCanary, split: BaseVersions, analysis: Analysis) -> ModelCanary:
    """`m` with a note naming the sources it reads whose data is the change, each side on its own rows:
    why it was selected, and why its diff is not its code's."""
    a = analysis.models.get(m.name)
    read = [
        s for s in split.loaded if a is not None and s in a.sources and (BASE_SCHEMA, s) not in split.unbuilt
    ]
    if not read:
        return m
    note = (
        f"reads {', '.join(read)}, whose data changed in this pull request: the base version ran on the "
        "base revision's rows, the head version on the head's"
    )
    return replace(m, notes=(note, *m.notes))


def _opener(kind: str) -> Callable[[], Engine]:
    """Connections to the engine `kind`, configured from the environment (never from a file)."""
    from app.engines import connect

    return lambda: connect(kind)


@contextlib.contextmanager
def _terminable() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) ends the run like Ctrl-C does: through the `finally` that drops a
    warehouse run's scratch schemas. Only on the main thread, and only when nobody else handles it."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


# Estimated sample bytes (sum of file size x sample fraction) up to which each query runs on one DuckDB
# thread and `canary.limits.threads` sessions run side by side: a canary on samples is thousands of
# short queries, where DuckDB's per-query parallel set-up costs more than it gains (1,000 models:
# 63.7 -> 55.0 s). Larger samples give each query every thread.
SMALL_SAMPLES = 64 * 1024 * 1024


def engine_threads(head: Project, tree: Tree, threads: int) -> int:
    """DuckDB threads per query for this canary (sessions stay at `threads`): 1 on small samples."""
    from app.canary.inputs import parse_spec
    from app.project.tree import join

    estimate = 0.0
    for spec in head.config.sources.values():
        if spec.path is None:
            continue
        path = join(head.root, parse_spec(spec.path, spec.format).path)
        if tree.exists(path):
            estimate += tree.size(path) * min(spec.sample.fraction, 1.0)
    return 1 if estimate <= SMALL_SAMPLES else threads


def _unbuilt(
    head: Project, analysis: Analysis, where: Mapping[str, tuple[str, str]]
) -> dict[tuple[str, str], ModelRun]:
    """Head models the analysis could not take (refused by the sandbox's static check, or not analysable):
    recorded up front under `where` (name -> (schema, name)), so the models reading them are skipped."""
    out: dict[tuple[str, str], ModelRun] = {}
    from app.gate.broken import refusal

    for name, (schema, _) in where.items():
        broken = analysis.broken[name]
        refused = None if broken.upstream else refusal(head, name)
        status = "refused" if refused else ("skipped" if broken.upstream else "invalid")
        message = refused[0] if refused else broken.error.message
        loc = broken.error.location or head.models[name].location
        out[(schema, name)] = ModelRun(name, schema, head.models[name].path, status, message, loc)
    for key, run in out.items():  # a model read as broken is blocked by the broken model up its chain
        root, seen = analysis.broken[run.name], {run.name}
        while root.upstream is not None and root.upstream in analysis.broken and root.upstream not in seen:
            seen.add(root.upstream)
            root = analysis.broken[root.upstream]
        if run.status == "skipped" and root.name in where:
            out[key] = replace(run, blocked_by=out[(where[root.name][0], root.name)].blocker())
    return out


def _output_columns(m: ModelCanary) -> set[str]:
    """The columns of a compared model's base and head outputs (empty when it was not reconciled)."""
    r = m.reconciliation
    if r is None:
        return set()
    return {*r.key, *(c.name for c in r.columns), *(s.column for s in r.schema)}


@dataclass(frozen=True, slots=True)
class Renamed:
    """What the change renamed: `models` head name -> base name, `columns` head model -> {old: new}."""

    models: Mapping[str, str] = field(default_factory=dict)
    columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def default_selection(base: Project, head: Project, head_analysis: Analysis) -> set[str]:
    """Models added or whose SQL text changed, and everything downstream of them."""
    changed = {n for n, m in head.models.items() if n not in base.models or base.models[n].sql != m.sql}
    out = set(changed)
    for n in changed:
        out |= head_analysis.downstream(n)
    return out


def ancestors(names: Iterable[str], analysis: Analysis) -> set[str]:
    """Every model the given models read, directly or not (sources excluded)."""
    seen: set[str] = set()
    stack = [u for n in names if n in analysis.models for u in analysis.models[n].upstream]
    while stack:
        n = stack.pop()
        if n not in seen and n in analysis.models:
            seen.add(n)
            stack.extend(analysis.models[n].upstream)
    return seen


def tolerances_for(model: str, cfg: CanaryConfig) -> dict[str, Tolerance]:
    """`dataset.column` entries for this model win over bare `column` entries."""
    out: dict[str, Tolerance] = {}
    for name, t in sorted(cfg.tolerance.items(), key=lambda kv: "." in kv[0]):
        dataset, dot, column = name.rpartition(".")
        if dot and dataset != model:
            continue
        out[column if dot else name] = Tolerance(t.absolute, t.relative, t.decimals)
    return out


def _compare(
    db: Sandbox,
    name: str,
    base: Project,
    head: Project,
    runs: Mapping[tuple[str, str], ModelRun],
    head_t: dict[str, tuple[str, str]],
    cfg: CanaryConfig,
    say: Progress,
    given: Mapping[str, Sequence[str]],
    renamed: Renamed,
    volatile: Mapping[str, str],
) -> ModelCanary:
    from app.canary.diff import reconcile
    from app.canary.runner import QueryFailed

    old_name = renamed.models.get(name, name)
    head_run, base_run = runs[("head", name)], runs.get(("base", old_name))
    hit = head.contract_of(name)
    dataset = hit[1] if hit else None
    if name in given:
        key = tuple(given[name])
    elif dataset and dataset.primary_key:
        key = tuple(dataset.primary_key)
    else:
        key = tuple(cfg.keys.get(name, ()))
    notes: list[str] = []
    excluded: tuple[tuple[str, str], ...] = ()
    recon = None
    if head_run.ok and base_run is not None and base_run.ok:
        base_rel, head_rel = sqltext.table(old_name, "base"), sqltext.table(name, "head")
        if old_name != name:
            notes.append(f"compared with {old_name}, its name in the base revision")
        base_cols, head_cols = db.columns(base_rel), db.columns(head_rel)  # read once, for every step
        base_rel, base_cols = _under_new_names(
            db, base_rel, base_cols, name, renamed.columns.get(name, {}), notes
        )
        cols = {c for c, _ in base_cols} & {c for c, _ in head_cols}
        if key and not set(key) <= cols:
            notes.append(f"key ({', '.join(key)}) is not in both outputs: compared as multisets")
            key = ()
        excluded = tuple((c, why) for c, why in volatile.items() if c in cols and c not in key)
        if excluded:
            shown = "; ".join(f"{c} ({why})" for c, why in excluded)
            notes.append(f"not compared, their values differ on every run: {shown}")
        say(f"canary: reconciling {name}")
        from app.engines import EngineError

        on: Any = db
        if db.dialect != "duckdb":  # in place on the warehouse engine, over the scratch schemas' names
            on, base_rel, head_rel = _in_place(db, base_rel, head_rel)
        try:
            recon = reconcile(
                on,
                base_rel,
                head_rel,
                key=key,
                tolerances=tolerances_for(name, cfg),
                examples=cfg.example_rows,
                low_cardinality=cfg.low_cardinality,
                labels=("base", "head"),
                skip_columns=[c for c, _ in excluded],
                schemas=(base_cols, head_cols) if on is db else None,
            )
        except (QueryFailed, EngineError) as exc:
            notes.append(f"reconciliation failed: {exc.message}")
    quality: tuple[QualityResult, ...] = ()
    if head_run.ok and dataset is not None:
        quality = run_quality(db, dataset, name, head_t, head.config.dialect, cfg.limits.timeout_seconds)
    return ModelCanary(
        name=name,
        path=head.models[name].path,
        contracted=dataset is not None,
        key=key,
        base=base_run,
        head=head_run,
        reconciliation=recon,
        quality=quality,
        notes=tuple(notes),
        excluded=excluded,
    )


def _in_place(db: Sandbox, base_rel: str, head_rel: str) -> tuple[Engine, str, str]:
    """The warehouse engine under the Warehouse session `db`, and the two relations under their
    scratch schemas' names (DuckDB quoting, as app.canary.diff takes them)."""
    from app.canary.warehouse import Warehouse

    assert isinstance(db, Warehouse)
    return db.engine, db.scratch_relation(base_rel), db.scratch_relation(head_rel)


def _under_new_names(
    db: Sandbox,
    base_rel: str,
    described: list[tuple[str, str]],
    name: str,
    columns: Mapping[str, str],
    notes: list[str],
) -> tuple[str, list[tuple[str, str]]]:
    """The base output (columns `described`) with its renamed columns under their new names (a view),
    so a rename is compared old against new instead of reported as a column removed and one added;
    and the columns of what is returned."""
    present = [c for c, _ in described]
    if not any(c in columns for c in present):
        return base_rel, described
    view = sqltext.table(f"{name}__renamed", "base")
    listed = ", ".join(f"{sqltext.ident(c)} AS {sqltext.ident(columns.get(c, c))}" for c in present)
    db.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT {listed} FROM {base_rel}")
    pairs = ", ".join(f"{a} -> {b}" for a, b in columns.items() if a in present)
    notes.append(f"renamed columns compared old against new: {pairs}")
    return view, [(columns.get(c, c), ty) for c, ty in described]


def run_quality(
    db: Sandbox,
    dataset: Dataset,
    name: str,
    targets: dict[str, tuple[str, str]],
    dialect: str,
    timeout: float,
) -> tuple[QualityResult, ...]:
    """Evaluate the contract's checks on `head.<name>`: library checks in one scan, sql rules one by one."""
    from app.canary.runner import QueryFailed

    checks = checks_for(dataset)
    rel = q.table(name, "head")
    present = {c for c, _ in db.columns(q.sql(rel))}
    runnable = tuple(c for c in checks if c.expr is None or _columns_present(c, present))
    out: list[QualityResult] = []
    try:
        rows, measured = measure(lambda sql: db.query(sql)[0], rel, runnable, (QueryFailed,))
    except QueryFailed as exc:  # the output itself cannot be read
        return tuple(QualityResult(c, None, None, exc.message) for c in checks)
    library = iter(measured)
    for c in runnable:
        if c.expr is not None:
            out.append(next(library))
            continue
        text = _COLUMN_PLACEHOLDER.sub(c.column or "", _PLACEHOLDER.sub(name, c.query or ""))
        try:
            compiled = compile_query(
                text,
                path=c.location.path if c.location else "",
                dialect=dialect,
                resolve=name_resolver(targets),
                what=f"quality rule {c.name!r}",
            )
            value = db.select(compiled.sql, timeout=timeout)
            first = next(iter(value[0].values())) if value and value[0] else None
            out.append(evaluate(c, None if first is None else float(first), rows))
        except CompileProblem as p:
            out.append(QualityResult(c, None, None, p.message))
        except (QueryFailed, TypeError, ValueError) as exc:
            out.append(QualityResult(c, None, None, getattr(exc, "message", str(exc))))
    missing = [c for c in checks if c not in runnable]
    out += [QualityResult(c, None, None, f"column {c.column!r} is not in the output") for c in missing]
    return tuple(out)


def _columns_present(check: QualityCheck, present: set[str]) -> bool:
    if check.column is None:
        return True
    return all(part.strip() in present for part in check.column.split(","))
