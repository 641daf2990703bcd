"""Write-audit-publish in an environment's database (a DuckDB file, PostgreSQL or a Spark catalog: see
app.runs.warehouse). Each model is written to a new versioned
table, audited against its contract, and published by pointing the dataset's view at it only when the
audit passes; a failed audit publishes nothing for that dataset or anything downstream of it, and
says why. The idea is SQLMesh's virtual layer: views over versioned physical tables."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp, parse_one
from sqlglot.errors import ParseError

from app.canary import quality
from app.contracts.model import Dataset
from app.engines import EngineError
from app.errors import DatacanaryError
from app.runs import audit
from app.runs.ledger import RunLedger, VersionRecord
from app.runs.plan import Graph, Refusal, fingerprints, relation, to_drop
from app.runs.warehouse import DuckDBWarehouse, Warehouse, wrap
from app.slo.sli import DIALECT, table


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one dataset in a run."""

    dataset: str
    status: str  # published | audit-failed | failed | skipped | already-applied
    version: int | None = None
    relation: str | None = None
    reason: str | None = None
    checks: tuple[audit.QualityResult, ...] = ()
    duration: float | None = None
    dropped: tuple[int, ...] = ()

    @property
    def failed_checks(self) -> tuple[audit.QualityResult, ...]:
        """Read by templates/runs/run.txt.j2."""
        return tuple(c for c in self.checks if not c.passed)


@dataclass(frozen=True, slots=True)
class RunResult:
    run_id: str
    env: str
    window: str
    artifact: str
    forced: bool
    outcomes: tuple[Outcome, ...] = ()
    refused: tuple[Refusal, ...] = ()

    @property
    def ok(self) -> bool:
        applied = bool(self.outcomes) or not self.refused
        return applied and all(o.status in ("published", "already-applied") for o in self.outcomes)


@dataclass(frozen=True, slots=True)
class RunRequest:
    env: str
    schema: str  # where versioned tables and views live
    source_schema: str  # where the environment's source tables are
    window: str
    artifact: str
    run_id: str
    started: dt.datetime
    force: bool = False
    keep: int = 5
    contracts: Mapping[str, Dataset] = field(default_factory=dict)
    targets: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # tables `sql` rules may read


def quote(name: str) -> str:
    return table(name).sql(dialect=DIALECT)


def source_versions(conn: Any, sources: Sequence[str], schema: str) -> dict[str, str]:
    """A data version per source: row count and an order-independent sum of row hashes."""
    wh = wrap(conn)
    out: dict[str, str] = {}
    for src in sorted(set(sources)):
        name = src if "." in src else f"{schema}.{src}"
        src_schema, _, src_table = name.rpartition(".")
        if wh.kind(src_schema, src_table) is None:  # a missing source is bad input, not a crash
            raise EngineError(
                wh.name,
                f"source {src!r} is not in the environment's database (no {name}"
                + (f" on {wh.where})" if wh.where else ")"),
                hint=f"load the source into schema {src_schema!r} of the environment's database, or set"
                " the environment's `source_schema`",
            )
        out[src] = wh.source_version(name)
    return out


def views_reading(conn: Any, schema: str) -> dict[str, set[str]]:
    """Per view of the environment's database (`schema.view`), the tables it reads, as `schema.table`
    (unqualified names bind in the view's own schema). Parsed from the views' definitions, never matched
    as text: `__v2` is not `__v20`. Only DuckDB and PostgreSQL say; elsewhere this is empty."""
    wh = wrap(conn)
    if isinstance(wh, DuckDBWarehouse):
        rows = wh.conn.execute(
            "SELECT schema_name, view_name, sql FROM duckdb_views()"
            " WHERE database_name = current_database() AND NOT internal"
        ).fetchall()
        found = [(r[0], r[1], r[2], "duckdb") for r in rows]
    elif wh.name == "postgres":
        rows = wh.query(
            "SELECT schemaname AS s, viewname AS v, definition AS d FROM pg_catalog.pg_views"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        found = [(r["s"], r["v"], f"CREATE VIEW x AS {r['d']}", "postgres") for r in rows]
    else:
        return {}
    out: dict[str, set[str]] = {}
    for view_schema, view, sql, dialect in found:
        try:
            tree = parse_one(sql, read=dialect)
        except ParseError:  # a view we cannot read is assumed to read nothing of ours
            continue
        body = tree.expression if isinstance(tree, exp.Create) else tree
        if isinstance(body, exp.Expr):
            tables = {f"{t.db or view_schema}.{t.name}" for t in body.find_all(exp.Table)}
            out[f"{view_schema}.{view}"] = tables
    return out


def view_target(
    conn: Any, schema: str, dataset: str, views: Mapping[str, set[str]] | None = None
) -> str | None:
    """The one table the dataset's view reads (`schema.table`), or None (no view, or not one table).
    `views`: `views_reading` already read (a run asks for every model: parse the views once)."""
    tables = (views if views is not None else views_reading(conn, schema)).get(f"{schema}.{dataset}", set())
    return next(iter(tables)) if len(tables) == 1 else None


def version_of(rel: str | None, schema: str, dataset: str) -> int | None:
    """N of `schema.dataset__vN`, else None."""
    prefix = relation(schema, dataset, 0)[:-1]
    tail = rel[len(prefix) :] if rel and rel.startswith(prefix) else ""
    return int(tail) if tail.isdigit() else None


def claim(conn: Any, ledger: RunLedger, env: str, schema: str, dataset: str, run_id: str) -> int:
    """A new version number of `dataset`: never one an earlier attempt used, nor one whose table is in
    the warehouse already (whatever wrote it)."""
    wh = wrap(conn)

    def taken(v: int) -> bool:
        rel_schema, _, table_name = relation(schema, dataset, v).rpartition(".")
        return wh.kind(rel_schema, table_name) is not None

    return ledger.next_version(env, dataset, run_id, taken)


def adopt(
    conn: Any,
    ledger: RunLedger,
    env: str,
    schema: str,
    dataset: str,
    at: str,
    views: Mapping[str, set[str]] | None = None,
) -> str | None:
    """When the dataset's view reads a version the ledger does not hold as live (a run or backfill was
    killed between its view swap and its record), record what is live and say so; None when they agree."""
    live = ledger.live_version(env, dataset)
    target = view_target(conn, schema, dataset, views)
    version = version_of(target, schema, dataset)
    if version is None or version == live:
        return None
    rec = ledger.version(env, dataset, version)
    was = f"v{live}" if live is not None else "no version"
    if rec is None:
        prepared = ledger.prepared(env, dataset, version)
        if prepared is None:  # nothing kept: record the table as it is, what made it unknown
            rows = float(wrap(conn).rows(target or ""))
            prepared = VersionRecord(
                "unknown", env, dataset, version, target or "", "", "unknown", "unknown", "published",
                False, "adopted: the live view read it, and no run recorded it", at, None, rows, False,
            )  # fmt: skip
        ledger.record(prepared)
        return (
            f"{dataset}: the view reads v{version} (published by run {prepared.run_id}, which died before"
            f" recording it; the ledger said {was}): recorded v{version} as live"
        )
    if rec.audited and not rec.dropped:  # a restore cut off before its record
        ledger.switch(env, dataset, version, at)
        return f"{dataset}: the view reads v{version}, the ledger said {was}: recorded v{version} as live"
    return (
        f"{dataset}: the view reads v{version}, which the ledger records as {rec.status} by run"
        f" {rec.run_id}; the ledger's live version stays {was}"
    )


def execute(
    conn: Any,
    graph: Graph,
    req: RunRequest,
    ledger: RunLedger,
    progress: Callable[[str], object] = lambda m: sys.stderr.write(m + "\n"),
) -> RunResult:
    """Run every model of `graph` with write-audit-publish; refuse (write nothing) on a double apply.
    `conn`: a Warehouse, an Engine, or a raw DuckDB connection to the environment's file."""
    conn = wrap(conn)
    adopted = {}
    views = views_reading(conn, req.schema)  # once: every view's definition is parsed
    for m in graph.order:  # first the truth of the views, so the double-apply check reads it
        said = adopt(conn, ledger, req.env, req.schema, m, req.started.isoformat(), views)
        if said:
            progress(f"run {req.env}: {said}")
            adopted[m] = said
    all_sources = [s for m in graph.order for s in graph.sources[m]]
    fps = fingerprints(graph, source_versions(conn, all_sources, req.source_schema), req.window)
    refused = []
    gone: dict[str, str] = {}  # model -> why the ledger's "already applied" is not true of the warehouse
    for m in graph.order:
        earlier = ledger.applied(req.env, m, req.window, fps[m], req.artifact)
        if earlier is None:
            continue
        missing = _missing(conn, req.schema, m, earlier)
        if missing:  # the warehouse is the truth: a replaced or restored file has lost what was published
            gone[m] = (
                f"rebuilt: the ledger records v{earlier.version} published by run {earlier.run_id}, but "
                f"{missing} is not in the environment's database"
            )
            progress(f"run {req.env}: {m}: {gone[m]}")
        else:
            live = ledger.live_version(req.env, m)
            refused.append(Refusal(m, earlier, live if live != earlier.version else None))
    base = RunResult(req.run_id, req.env, req.window, req.artifact, req.force)
    if refused and not req.force and len(refused) == len(graph.order):
        return RunResult(**{**_fields(base), "refused": tuple(refused)})  # nothing new at all: write nothing
    skip = {} if req.force else {r.dataset: r.earlier for r in refused}
    conn.may_publish(req.schema)  # a missing privilege fails the run before anything is written
    conn.create_schema(req.schema)
    conn.use(req.schema, req.source_schema)
    outcomes: list[Outcome] = []
    blocked: dict[str, str] = {}  # model -> the upstream failure that blocks it
    for m in graph.order:
        if m in skip:  # this exact input is live already; its downstream still reads that version
            earlier = skip[m]
            outcomes.append(
                Outcome(
                    m,
                    "already-applied",
                    earlier.version,
                    earlier.relation,
                    "; ".join(
                        n
                        for n in (
                            adopted.get(m),
                            f"same input already published as v{earlier.version} by run {earlier.run_id}",
                        )
                        if n
                    ),
                )
            )
            continue
        if m in blocked:
            outcome = Outcome(m, "skipped", reason=f"upstream {blocked[m]} was not published")
            _record(ledger, req, fps[m], outcome, claim(conn, ledger, req.env, req.schema, m, req.run_id))
        else:
            progress(f"run {req.env}: building {m}")
            note = "; ".join(n for n in (adopted.get(m), gone.get(m)) if n) or None
            outcome = _build(conn, m, graph.sql[m], req, ledger, fps[m], note, progress)
            if outcome.status != "published":
                for d in graph.downstream_closure(m):
                    blocked.setdefault(d, m)
        outcomes.append(outcome)
    return RunResult(**{**_fields(base), "outcomes": tuple(outcomes), "refused": tuple(refused)})


def _fields(r: RunResult) -> dict[str, Any]:
    return {k: getattr(r, k) for k in ("run_id", "env", "window", "artifact", "forced")}


def _missing(conn: Warehouse, schema: str, dataset: str, earlier: VersionRecord) -> str | None:
    """What of a recorded publish the warehouse no longer has: its versioned table or the view."""
    rel_schema, _, table_name = earlier.relation.rpartition(".")
    if conn.kind(rel_schema, table_name) != "table":
        return f"table {earlier.relation}"
    return None if conn.kind(schema, dataset) == "view" else f"view {schema}.{dataset}"


def _build(
    conn: Warehouse,
    name: str,
    sql: str,
    req: RunRequest,
    ledger: RunLedger,
    fp: str,
    note: str | None = None,
    progress: Callable[[str], object] = lambda m: None,
) -> Outcome:
    version = claim(conn, ledger, req.env, req.schema, name, req.run_id)
    rel = relation(req.schema, name, version)
    started = time.monotonic()
    try:
        conn.create_table_as(rel, sql)
    except EngineError as exc:  # the model's own SQL failed in this environment: nothing published
        outcome = Outcome(name, "failed", version, rel, f"write failed: {exc.message}")
        _record(ledger, req, fp, outcome, version)
        return outcome
    progress(f"run {req.env}: auditing {rel}")
    checks = _audit(conn, name, rel, req.contracts.get(name), req.targets)
    errors = [c for c in checks if not c.passed and c.check.severity == "error"]
    duration = time.monotonic() - started
    if errors:
        reason = "audit failed: " + "; ".join(_says(c) for c in errors)
        outcome = Outcome(name, "audit-failed", version, rel, reason, tuple(checks), duration)
        _record(ledger, req, fp, outcome, version, _rows(conn, rel))
        # only the newest failed audit is kept for inspection (docs/slo.md): drop the ones before it now
        dropped = retire(conn, ledger, req.env, req.schema, name, req.keep)
        return Outcome(name, "audit-failed", version, rel, reason, tuple(checks), duration, tuple(dropped))
    outcome = Outcome(name, "published", version, rel, note, tuple(checks), duration)
    rows = _rows(conn, rel)
    # a kill between the swap and the record leaves this for the next run to record (`adopt`)
    ledger.prepare(_version_record(req, fp, outcome, version, rows))
    # the swap is atomic: readers see the old version or the new one, never a half-built table
    try:
        point_view(conn, req.schema, name, rel)
    except EngineError as exc:  # e.g. views of somebody else's depend on columns this version changed
        outcome = Outcome(name, "failed", version, rel, f"publish failed: {exc.message}", tuple(checks))
        _record(ledger, req, fp, outcome, version, rows)
        return outcome
    _record(ledger, req, fp, outcome, version, rows)
    dropped = retire(conn, ledger, req.env, req.schema, name, req.keep)
    return Outcome(name, "published", version, rel, note, tuple(checks), duration, tuple(dropped))


def _says(c: audit.QualityResult) -> str:
    if c.error or c.observed is None:
        return f"{c.check.name}: {c.error or 'no value'}"
    return f"{c.check.name}: measured {c.observed:g}, expected {c.check.operator} {c.check.value}"


def _audit(
    conn: Any, name: str, rel: str, dataset: Dataset | None, targets: Mapping[str, tuple[str, str]]
) -> list[audit.QualityResult]:
    if dataset is None:
        return []
    present = wrap(conn).columns(rel)
    missing = audit.columns_missing(dataset, present)
    if missing:  # the quality SQL would fail on the missing names; this says it plainly
        check = quality.QualityCheck(
            "declared columns present", None, "schema", "mustBe", 0, "rows", "error", dataset.location
        )
        return [audit.QualityResult(check, float(len(missing)), False, f"missing {', '.join(missing)}")]
    return audit.run_checks(conn, dataset, rel, targets)


audit_table = _audit  # the audit of one written table, for app.runs.backfill


def point_view(conn: Any, schema: str, dataset: str, rel: str) -> None:
    """`schema.dataset` as a view over the versioned table `rel` of the same schema (atomically for
    readers; how depends on the engine, see app.runs.warehouse)."""
    wrap(conn).replace_view(schema, dataset, rel)


def _rows(conn: Warehouse, rel: str) -> float:
    """Rows written: DuckDB answers COUNT(*) of a table from its row groups' metadata, not a scan. (It
    reports no per-table size in bytes: `estimated_size` of duckdb_tables() is a row estimate.)"""
    return float(conn.rows(rel))


def _record(
    ledger: RunLedger, req: RunRequest, fp: str, o: Outcome, version: int, rows: float | None = None
) -> None:
    ledger.record(_version_record(req, fp, o, version, rows))


def _version_record(
    req: RunRequest, fp: str, o: Outcome, version: int, rows: float | None = None
) -> VersionRecord:
    return VersionRecord(
        run_id=req.run_id,
        env=req.env,
        dataset=o.dataset,
        version=version,
        relation=o.relation or relation(req.schema, o.dataset, version),
        window=req.window,
        fingerprint=fp,
        artifact=req.artifact,
        status=o.status,
        forced=req.force,
        reason=o.reason,
        started_at=req.started.isoformat(),
        duration=o.duration,
        rows=rows,
        dropped=False,
        audit=tuple(c.to_json() for c in o.checks),
    )


def retire(conn: Any, ledger: RunLedger, env: str, schema: str, dataset: str, keep: int) -> list[int]:
    """Drop the physical tables retention no longer keeps; the ledger rows stay, marked dropped."""
    wh = wrap(conn)
    versions = ledger.versions(env, dataset)
    drop = to_drop(versions, ledger.live_version(env, dataset), keep)
    for v in drop:
        wh.drop_table(relation(schema, dataset, v))
    if drop:
        ledger.mark_dropped(env, dataset, drop)
    return drop


def restore(
    conn: Any, ledger: RunLedger, env: str, schema: str, dataset: str, version: int, at: str
) -> VersionRecord:
    """Point `dataset`'s view back at an earlier audited version whose table is still kept."""
    rec = ledger.version(env, dataset, version)
    kept = [v.version for v in ledger.versions(env, dataset) if v.audited and not v.dropped]
    if rec is None or not rec.audited or rec.dropped:
        why = (
            "does not exist"
            if rec is None
            else "did not pass its audit"
            if not rec.audited
            else "was removed by retention"
        )
        raise DatacanaryError(
            f"version {version} of {dataset} in {env} {why}",
            hint=f"restorable versions: {', '.join(map(str, kept)) or 'none'}",
        )
    wrap(conn).replace_view(schema, dataset, rec.relation)
    ledger.switch(env, dataset, version, at)
    return rec
