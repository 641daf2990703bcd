"""Build models in the locked-down canary database, in DAG order: unchanged upstream models once in
`shared`, the base and head versions of the selected models side by side in `base` and `head`. A model
that is refused, cannot be transpiled, fails or times out is recorded and the run goes on; models that
read it are skipped with the reason, and with the broken thing at the root of it (Blocker): a model
two steps below a broken one is "not checked: upstream x is broken (file:line)", not "it reads y".
"""

from __future__ import annotations

import secrets
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.canary import exprs as q
from app.canary.compile import Compiled, CompileProblem, compile_query, name_resolver
from app.canary.guard import refuse
from app.project.model import ModelFile
from app.types import Location

if TYPE_CHECKING:
    from app.canary.runner import Sandbox


_WHY_NOT = {
    "refused": "was refused by the sandbox",
    "invalid": "cannot be analysed",
    "timeout": "ran out of time",
    "memory": "ran out of memory",
    "skipped": "was skipped",
    "unloadable": "could not be loaded",
}


def _file_line(location: Location | None) -> dict[str, Any]:
    return {"file": location.path if location else None, "line": location.line if location else None}


@dataclass(frozen=True, slots=True)
class Blocker:
    """The broken model or source at the root of a skip: the first thing up the DAG that is broken
    itself (it has its own finding), not the skipped model in between."""

    name: str
    kind: str  # model | source
    status: str  # the ModelRun status of the broken thing
    location: Location | None

    @property
    def how(self) -> str:
        if self.kind == "source" or self.status in ("timeout", "memory"):  # refused | unloadable, or limits
            return _WHY_NOT.get(self.status, _WHY_NOT["unloadable"])
        return "is broken"

    @property
    def reason(self) -> str:
        """'upstream stg is broken (models/stg.sql:3)', 'source raw could not be loaded (seeds/raw.csv:152)'."""
        where = f" ({self.location})" if self.location else ""
        return f"{'source' if self.kind == 'source' else 'upstream'} {self.name} {self.how}{where}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "reason": self.reason,
            **_file_line(self.location),
        }


@dataclass(frozen=True, slots=True)
class ModelRun:
    """One model built (or not) in one schema. `status`: built | refused | invalid | transpile | parse |
    failed | timeout | memory | skipped (it reads something broken: `blocked_by`), and for a source's
    sample data refused | unloadable."""

    name: str
    schema: str
    path: str
    status: str
    message: str | None = None
    location: Location | None = None
    rows: int | None = None
    seconds: float | None = None
    blocked_by: Blocker | None = None

    @property
    def ok(self) -> bool:
        return self.status == "built"

    def blocker(self) -> Blocker:
        """What a model reading this (unbuilt) run is blocked by: this run, or the root of its own skip."""
        if self.blocked_by is not None:
            return self.blocked_by
        kind = "source" if self.schema in ("source", "base_source") else "model"
        return Blocker(self.name, kind, self.status, self.location or Location(self.path, 1))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "schema": self.schema,
            "path": self.path,
            "status": self.status,
            "message": self.message,
            **_file_line(self.location),
            "rows": self.rows,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "blocked_by": self.blocked_by.to_json() if self.blocked_by else None,
        }


@dataclass(frozen=True, slots=True)
class BuildStep:
    """Build `model` into `schema`, resolving table names through `targets` (name -> (schema, table))."""

    model: ModelFile
    schema: str
    dialect: str
    targets: Mapping[str, tuple[str, str]]
    analysis: Any = None  # app.sql ModelAnalysis of this revision; without one the SQL is parsed here


def _compile(step: BuildStep, db: Sandbox | None = None) -> Compiled:
    """The model's SQL over the canary schemas: app.sql's transpiler when the model was analysed (after
    the sandbox's static check), else this package's own parse-check-rewrite (DuckDB SQL). On a
    warehouse (`db`), an analysed model is transpiled straight from its dialect to the engine's."""
    m, a = step.model, step.analysis
    what = f"model {m.name!r}"
    from app.runs.window import unbounded

    if a is None or a.sql != m.sql:
        compiled = compile_query(
            m.sql, path=m.path, dialect=step.dialect, resolve=name_resolver(dict(step.targets)), what=what
        )
        # DuckDB SQL; a windowed model (a promotion's canary builds without an analysis) reads every window
        return Compiled(unbounded(compiled.sql), compiled.reads, compiled.dialect)
    from app.errors import SqlError

    # only the tables this model reads: rendering every target of a 1,000-model DAG per model cost
    # ~14 s of sqlglot generation in a 300-model canary
    targets = step.targets
    reads = tuple(step.targets[n] for n in a.reads_tables if n in step.targets)
    write = getattr(db, "dialect", "duckdb")
    try:
        if write == "duckdb":
            tables = {n: q.sql(q.table(targets[n][1], targets[n][0])) for n in a.reads_tables if n in targets}
            return Compiled(unbounded(_duckdb_sql(a, step.dialect, tables, what, m.path)), reads)
        refusal = refuse(a.expression, what=what)
        if refusal is not None:
            raise CompileProblem("refused", refusal.reason, refusal.location(m.path))
        from app.canary.warehouse import Warehouse, portable
        from app.sql.transpile import to_dialect

        assert isinstance(db, Warehouse)
        tables = {n: db.relation(*targets[n]) for n in a.reads_tables if n in targets}
        return Compiled(to_dialect(a, step.dialect, tables, write, portable), reads, write)
    except SqlError as err:
        raise CompileProblem("transpile", err.message, err.location or Location(m.path, 1)) from None


# An analysed model's DuckDB SQL with a placeholder for each table it reads, by analysis: a model
# unchanged between the revisions has one analysis and is built twice (base, head), over other tables
# only. Placeholders are quoted names no model can spell (a random token of this process).
_TEMPLATES: weakref.WeakKeyDictionary[Any, tuple[str, dict[str, str]]] = weakref.WeakKeyDictionary()
_TOKEN = secrets.token_hex(8)


def _duckdb_sql(a: Any, dialect: str, tables: Mapping[str, str], what: str, path: str) -> str:
    """`a` (a ModelAnalysis) transpiled to DuckDB over `tables`, refused as the sandbox would; the
    transpilation is made once per analysis and only the tables are put in for each build."""
    from app.sql.transpile import to_duckdb

    found = _TEMPLATES.get(a)
    if found is None or set(found[1]) != set(tables):
        refusal = refuse(a.expression, what=what)
        if refusal is not None:
            raise CompileProblem("refused", refusal.reason, refusal.location(path))
        holders = {n: f'"__datacanary_{_TOKEN}_{i}"' for i, n in enumerate(sorted(tables))}
        found = (to_duckdb(a, dialect, holders), holders)
        _TEMPLATES[a] = found
    sql, holders = found
    for name, holder in holders.items():
        sql = sql.replace(holder, tables[name])
    return sql


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Work on built tables (a model's reconciliation): runs once the builds of `reads` are done."""

    model: str
    reads: tuple[tuple[str, str], ...]
    work: Callable[[Sandbox, Mapping[tuple[str, str], ModelRun]], Any]


def build(
    db: Sandbox,
    steps: Iterable[BuildStep],
    *,
    timeout: float,
    progress: Callable[[str], None] | None = None,
    unbuilt: Mapping[tuple[str, str], ModelRun] | None = None,
    workers: int = 1,
    then: Sequence[FollowUp] = (),
    rank: Mapping[str, int] | None = None,
    transient: str | None = None,
) -> tuple[dict[tuple[str, str], ModelRun], list[Any]]:
    """Run the steps in DAG order, `workers` side by side (each step once the steps it reads are done),
    and each follow-up once its tables are built. Returns (schema, model name) -> ModelRun and the
    follow-ups' results, in their order. `unbuilt`: runs decided before (a model refused or
    unanalysable): models that read them are skipped, naming why. `rank` (model -> position) orders the
    work that is ready: a model's builds and follow-up go together, so that the tables of schema
    `transient` are dropped as soon as every step and follow-up reading them is done (peak memory: one
    schema's outputs, not two)."""
    from app.canary.parallel import by_dependency

    say = progress or (lambda _m: None)
    runs: dict[tuple[str, str], ModelRun] = dict(unbuilt or {})
    todo = list(steps)
    made = {(step.schema, step.model.name): i for i, step in enumerate(todo)}
    after: dict[int, set[int]] = {}
    for i, step in enumerate(todo):
        reads = _reads(step)
        # a step whose reads are only known once compiled waits for every step before it
        after[i] = set(range(i)) if reads is None else {made[r] for r in reads if made.get(r, i) < i}
    for j, follow in enumerate(then):
        after[len(todo) + j] = {made[r] for r in follow.reads if r in made}
    readers: dict[int, int] = {}  # transient step -> steps and follow-ups still to read it
    for before in after.values():
        for k in before:
            if todo[k].schema == transient:
                readers[k] = readers.get(k, 0) + 1
    order = rank or {}
    kinds = {"shared": 0, "base": 1, "head": 2}

    def priority(i: int) -> tuple[int, int, int]:
        if i >= len(todo):
            return (order.get(then[i - len(todo)].model, len(order)), 3, i)
        step = todo[i]
        return (order.get(step.model.name, len(order)), kinds.get(step.schema, 0), i)

    results: list[Any] = [None] * len(then)

    def work(session: Sandbox, i: int) -> Any:
        if i < len(todo):
            return _build_one(session, todo[i], runs, timeout, say)
        return then[i - len(todo)].work(session, runs)

    def done(i: int, result: Any) -> None:
        if i < len(todo):
            runs[(todo[i].schema, todo[i].model.name)] = result
            if todo[i].schema == transient and not readers.get(i):
                _drop(db, todo[i])
        else:
            results[i - len(todo)] = result
        for k in after[i]:
            if k in readers:
                readers[k] -= 1
                if not readers[k]:
                    _drop(db, todo[k])

    by_dependency(db, len(todo) + len(then), after, workers, work, done, priority)
    return runs, results


def _drop(db: Sandbox, step: BuildStep) -> None:
    """Drop a built table nothing reads any more (its run stays recorded). Only memory rides on it: a
    drop that fails leaves the table, and the run goes on."""
    from app.canary.runner import QueryFailed

    try:
        db.execute(f"DROP TABLE IF EXISTS {q.sql(q.table(step.model.name, step.schema))}")
    except QueryFailed:
        pass


def _reads(step: BuildStep) -> set[tuple[str, str]] | None:
    """The (schema, table) targets the step's model reads, from its analysis (None: not analysed)."""
    a = step.analysis
    if a is None or a.sql != step.model.sql:
        return None
    return {step.targets[n] for n in a.reads_tables if n in step.targets}


def _build_one(
    db: Sandbox,
    step: BuildStep,
    runs: Mapping[tuple[str, str], ModelRun],
    timeout: float,
    say: Callable[[str], None],
) -> ModelRun:
    """Build one step, the runs of the steps it reads being known."""
    from app.canary.runner import QueryFailed

    m = step.model
    try:
        compiled = _compile(step, db)
    except CompileProblem as p:
        return ModelRun(m.name, step.schema, m.path, p.kind, p.message, p.location)
    unbuilt = [runs[r] for r in dict.fromkeys(compiled.reads) if r in runs and not runs[r].ok]
    if unbuilt:
        broken = ", ".join(f"{r.name} ({_WHY_NOT.get(r.status, 'failed')})" for r in unbuilt)
        return ModelRun(
            m.name,
            step.schema,
            m.path,
            "skipped",
            f"not built: it reads {broken}",
            m.location,
            blocked_by=unbuilt[0].blocker(),
        )
    say(f"canary: building {step.schema}.{m.name}")
    start = time.perf_counter()
    target = q.sql(q.table(m.name, step.schema))
    try:
        rows = db.create_select(target, compiled.sql, timeout=timeout, dialect=compiled.dialect)
    except QueryFailed as exc:
        status = exc.kind if exc.kind in ("timeout", "memory", "refused") else "failed"
        return ModelRun(
            m.name, step.schema, m.path, status, exc.message, m.location, seconds=time.perf_counter() - start
        )
    return ModelRun(m.name, step.schema, m.path, "built", None, m.location, rows, time.perf_counter() - start)
