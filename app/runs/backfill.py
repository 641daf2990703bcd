"""`datacanary backfill`: re-run one windowed model for a window through write-audit-publish. The new
version is the live version's rows outside the window plus the model's rows for the window (rendered
with the window bound into its SQL, app.runs.window); it is audited, reconciled against the live
version inside the window, and published by the view swap. Every backfill is a ledger record (who, why,
which commit, the reconciliation), and a lease in the state database keeps two backfills of
overlapping windows of one dataset apart.

Crash safety, in order: the DuckDB write, audit and view swap are one DuckDB transaction (a kill
before its COMMIT leaves nothing); the prepared ledger record is stored before that COMMIT; a kill
between the COMMIT and the ledger's own record is finished by the next backfill of the dataset,
which finds the lease stale (expired, or its process gone) and looks at where the view points."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.errors import DatacanaryError, UsageError
from app.runs import wap
from app.runs.audit import QualityResult
from app.runs.envdb import search_path
from app.runs.ledger import RunLedger, VersionRecord, from_json
from app.runs.plan import Graph, fingerprints, relation
from app.runs.warehouse import wrap
from app.runs.window import Window, bind, predicate, references

DDL = """
CREATE TABLE IF NOT EXISTS backfill_leases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  env TEXT NOT NULL, dataset TEXT NOT NULL,
  window_start TEXT NOT NULL, window_end TEXT NOT NULL,  -- ISO, half-open
  run_id TEXT NOT NULL, actor TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
  acquired_at TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS backfills (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL UNIQUE,
  env TEXT NOT NULL, dataset TEXT NOT NULL, run_window TEXT NOT NULL,
  actor TEXT NOT NULL, reason TEXT NOT NULL, commit_sha TEXT NOT NULL, artifact_digest TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN
    ('running', 'published', 'audit-failed', 'failed', 'refused', 'interrupted')),
  version INTEGER, previous_version INTEGER, forced INTEGER NOT NULL DEFAULT 0,
  started_at TEXT NOT NULL, message TEXT,
  prepared TEXT,                     -- json: the VersionRecord to record once DuckDB has committed
  reconciliation TEXT                -- json: app.canary.reconcile.Reconciliation.to_json()
);
CREATE INDEX IF NOT EXISTS backfills_dataset ON backfills (env, dataset, id);
"""
LEASE = dt.timedelta(hours=1)
_KILL_AT = "DATACANARY_BACKFILL_KILL_AT"  # fault injection for the crash tests: a stage name
_HOLD = "DATACANARY_BACKFILL_HOLD"


@dataclass(frozen=True, slots=True)
class BackfillRequest:
    """A backfill of one dataset: the run it is (its `window` is the backfill's window text), and what
    only a backfill has."""

    run: wap.RunRequest
    dataset: str
    column: str
    window: Window
    actor: str
    reason: str
    commit: str


@dataclass(frozen=True, slots=True)
class BackfillResult:
    request: BackfillRequest
    status: str  # published | audit-failed | failed | refused
    version: int | None
    previous: int | None
    message: str | None
    checks: tuple[QualityResult, ...] = ()
    reconciliation: Any = None  # app.canary.reconcile.Reconciliation
    downstream: wap.RunResult | None = None
    recovered: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "published" and (self.downstream is None or self.downstream.ok)


class Overlap(DatacanaryError):
    """Another backfill of an overlapping window of the dataset holds the lease (exit 1)."""

    exit_code = 1


class _Db:
    """The env connection as app.canary.diff's Database."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def query(self, sql: str) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def columns(self, rel: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.conn.execute(f"DESCRIBE {rel}").fetchall()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire(ledger: RunLedger, req: BackfillRequest, now: dt.datetime) -> tuple[int, list[str]]:
    """Take the lease for (env, dataset, window); returns its id and the run ids of stale leases it
    cleared (backfills that crashed: `recover` finishes or undoes them). Raises Overlap."""
    db = ledger.db
    db.ensure("backfill", DDL)
    host, start, end = socket.gethostname(), *req.window.bounds
    with db.transaction() as conn:
        rows = conn.execute(
            "SELECT * FROM backfill_leases WHERE env = ? AND dataset = ?", (req.run.env, req.dataset)
        ).fetchall()
        stale = [
            r
            for r in rows
            if r["expires_at"] < now.isoformat() or (r["host"] == host and not _alive(r["pid"]))
        ]
        for r in rows:
            if r not in stale and r["window_start"] < end and start < r["window_end"]:
                raise Overlap(
                    f"{req.dataset} in {req.run.env}: backfill {r['run_id']} of {r['window_start']}.."
                    f"{r['window_end']} by {r['actor']} (pid {r['pid']} on {r['host']}) is running "
                    f"and overlaps {req.window.text}",
                    hint=f"wait for it; its lease expires at {r['expires_at']} if its process died "
                    "on another host",
                )
        conn.executemany("DELETE FROM backfill_leases WHERE id = ?", [(r["id"],) for r in stale])
        cur = conn.execute(
            "INSERT INTO backfill_leases (env, dataset, window_start, window_end, run_id, actor, host,"
            " pid, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                req.run.env,
                req.dataset,
                start,
                end,
                req.run.run_id,
                req.actor,
                host,
                os.getpid(),
                now.isoformat(),
                (now + LEASE).isoformat(),
            ),
        )
        return int(cur.lastrowid or 0), [r["run_id"] for r in stale]


def release(ledger: RunLedger, lease: int) -> None:
    with ledger.db.transaction() as conn:
        conn.execute("DELETE FROM backfill_leases WHERE id = ?", (lease,))


def _update(ledger: RunLedger, run_id: str, **values: Any) -> None:
    sets = ", ".join(f"{k} = ?" for k in values)
    with ledger.db.transaction() as conn:
        conn.execute(f"UPDATE backfills SET {sets} WHERE run_id = ?", (*values.values(), run_id))


def recover(conn: Any, ledger: RunLedger, schema: str, run_ids: list[str]) -> list[str]:
    """Finish (it committed: its table is there) or undo (it did not) backfills that died while running.
    Never drops a table a view reads or a version the ledger holds for another run."""
    said = []
    for run_id in run_ids:
        row = (
            ledger.db.connect()
            .execute("SELECT * FROM backfills WHERE run_id = ? AND status = 'running'", (run_id,))
            .fetchone()
        )
        if row is None or row["version"] is None:
            continue
        env, name, version = row["env"], row["dataset"], row["version"]
        rel = relation(schema, name, version)
        views = wap.views_reading(conn, schema)
        read_by = sorted(v for v, tables in views.items() if rel in tables)
        live = wap.view_target(conn, schema, name, views) == rel
        # the write, audit and view swap were one DuckDB transaction: the table is there iff it committed
        committed = wrap(conn).kind(schema, rel.rpartition(".")[2]) == "table"
        recorded = ledger.version(env, name, version)
        # (a version recorded for another run is that run's table: numbers collided before claims)
        if committed and row["prepared"] and (recorded is None or recorded.run_id == run_id):
            if recorded is None:
                ledger.record(from_json(row["prepared"]), live=live)
                note = "recorded it" + ("" if live else " (the view has moved on since)")
            else:  # a run found the view swapped and recorded it first (wap.adopt)
                note = "it was recorded already"
            _update(ledger, run_id, status="published", message="finished after a crash")
            said.append(f"backfill {run_id} had published v{version}: {note}")
            continue
        owner = recorded.run_id if recorded is not None and recorded.run_id != run_id else None
        keep = bool(read_by) or owner is not None
        if committed and not keep:
            conn.execute(f"DROP TABLE IF EXISTS {wap.quote(rel)}")
        _update(ledger, run_id, status="interrupted", message="the process died before publishing")
        if committed and keep:
            whose = f"read by {', '.join(read_by)}" if read_by else f"recorded for run {owner}"
            said.append(f"backfill {run_id} died before publishing; {rel} is {whose}: kept")
        else:
            said.append(f"backfill {run_id} died before publishing: nothing of it is live")
    return said


def _hold() -> None:
    held = os.environ.get(_HOLD)  # hold the lease a while, for the race tests
    if held:
        import time

        time.sleep(float(held))


def _kill_at(stage: str) -> None:
    if os.environ.get(_KILL_AT) == stage:  # a crash at exactly this point, for the tests
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _start(
    ledger: RunLedger,
    req: BackfillRequest,
    status: str,
    version: int | None,
    previous: int | None,
    message: str | None = None,
) -> None:
    with ledger.db.transaction() as c:
        c.execute(
            "INSERT INTO backfills (run_id, env, dataset, run_window, actor, reason, commit_sha,"
            " artifact_digest, status, version, previous_version, forced, started_at, message)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                req.run.run_id,
                req.run.env,
                req.dataset,
                req.window.text,
                req.actor,
                req.reason,
                req.commit,
                req.run.artifact,
                status,
                version,
                previous,
                int(req.run.force),
                req.run.started.isoformat(),
                message,
            ),
        )


def execute(
    conn: Any,
    graph: Graph,
    req: BackfillRequest,
    ledger: RunLedger,
    progress: Callable[[str], object] = lambda m: None,
) -> BackfillResult:
    """Backfill `req.dataset` for `req.window` (the lease is the caller's: `acquire`)."""
    ledger.db.ensure("backfill", DDL)
    _hold()
    name, wtext = req.dataset, req.window.key  # the ledger's key: not how the window was spelled
    sql = graph.sql[name]
    if not references(sql):
        raise UsageError(
            f"model {name!r} does not reference the window in its SQL",
            hint=f"filter it with `where {req.column} >= :window_start and {req.column} < :window_end`",
        )
    live = ledger.live_version(req.run.env, name)
    prev = ledger.version(req.run.env, name, live) if live is not None else None
    if prev is None or prev.dropped:
        raise UsageError(
            f"{name} has no published version in {req.run.env} to backfill",
            hint=f"run `datacanary run --env {req.run.env}` first; a backfill repairs a window of it",
        )
    types = dict(_Db(conn).columns(wap.quote(prev.relation)))
    if req.column not in types:
        raise UsageError(
            f"window column {req.column!r} is not a column of {name} (v{live})",
            hint=f"set windows.{name}.column in datacanary.yml to one of: {', '.join(types)}",
        )
    from app.runs.window import check_grain

    check_grain(req.window, req.column, types[req.column])
    above = _upstream(graph, name)  # only what the dataset reads decides whether it was applied
    sources = [s for m in above.order for s in above.sources[m]]
    fp = fingerprints(above, wap.source_versions(conn, sources, req.run.source_schema), wtext)[name]
    earlier = ledger.applied(req.run.env, name, wtext, fp, req.run.artifact)
    if earlier is not None and earlier.version == live and not req.run.force:
        _start(ledger, req, "refused", None, live, f"already applied as v{live} by {earlier.run_id}")
        return BackfillResult(
            req,
            "refused",
            None,
            live,
            f"this backfill was already applied as v{live} by run {earlier.run_id} "
            f"and is live; pass --force to apply it again",
        )
    version = wap.claim(conn, ledger, req.run.env, req.run.schema, name, req.run.run_id)
    rel = relation(req.run.schema, name, version)
    _start(ledger, req, "running", version, live)
    inside = predicate(req.column, req.window, types[req.column])
    bound = bind(sql, req.window, types[req.column])
    wrun = dataclasses.replace(req.run, window=wtext)  # what the ledger records, under the same key
    search_path(conn, req.run.schema, req.run.source_schema)
    progress(f"backfill {req.run.env}: writing {name} v{version} for {req.window.text}")
    conn.execute("BEGIN TRANSACTION")
    try:
        try:
            conn.execute(f"CREATE TEMP TABLE __backfill_window AS {bound}")
        except Exception as exc:  # the model's own SQL failed in this environment: nothing published
            failure: str | None = f"write failed: {str(exc).splitlines()[0]}"
        else:
            failure = _check_window(conn, prev, types, inside, req.column)
        if failure:
            conn.execute("ROLLBACK")
            return _finish(ledger, wrun, req, fp, "failed", version, live, failure)
        conn.execute(
            f"CREATE TABLE {wap.quote(rel)} AS SELECT * FROM {wap.quote(prev.relation)}"
            f" WHERE {req.column} IS NULL OR NOT ({inside})"
        )
        conn.execute(f"INSERT INTO {wap.quote(rel)} BY NAME SELECT * FROM __backfill_window")
        conn.execute("DROP TABLE __backfill_window")
        _kill_at("written")
        checks = wap.audit_table(conn, name, rel, req.run.contracts.get(name), {})
        errors = [c for c in checks if not c.passed and c.check.severity == "error"]
        if errors:
            conn.execute("COMMIT")  # the failed version is kept for inspection, as `run` keeps it
            why = "audit failed: " + "; ".join(f"{c.check.name}: {c.error or c.observed}" for c in errors)
            return _finish(ledger, wrun, req, fp, "audit-failed", version, live, why, tuple(checks), conn)
        recon = _reconcile(conn, prev.relation, rel, inside, req)
        record = _version(wrun, name, version, rel, fp, "published", None, tuple(checks), conn)
        ledger.prepare(record)  # a `run` that finds the view swapped records this (wap.adopt)
        _update(
            ledger,
            req.run.run_id,
            prepared=json.dumps(dataclasses.asdict(record)),
            reconciliation=json.dumps(recon.to_json(), default=str),
        )
        _kill_at("prepared")
        wap.point_view(conn, req.run.schema, name, rel)
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):  # undo the open transaction, if it still is
            conn.execute("ROLLBACK")
        raise
    _kill_at("committed")
    ledger.record(record)
    _update(ledger, req.run.run_id, status="published")
    wap.retire(conn, ledger, req.run.env, req.run.schema, name, req.run.keep)
    progress(f"backfill {req.run.env}: published {name} v{version}")
    downstream = _downstream(conn, graph, wrun, ledger, name, progress)
    return BackfillResult(req, "published", version, live, None, tuple(checks), recon, downstream)


def _check_window(
    conn: Any, prev: VersionRecord, types: Mapping[str, str], inside: str, column: str
) -> str | None:
    """Why the model's rows for the window cannot replace the window's rows, if they cannot."""
    new = [(r[0], r[1]) for r in conn.execute("DESCRIBE __backfill_window").fetchall()]
    if new != list(types.items()):
        return (
            f"the model's columns ({', '.join(f'{n} {t}' for n, t in new)}) differ from v{prev.version}'s;"
            " a backfill replaces rows, not the schema: run `datacanary run` for a full rebuild"
        )
    outside = conn.execute(
        f"SELECT COUNT(*), MIN({column}) FROM __backfill_window WHERE {column} IS NULL OR NOT ({inside})"
    ).fetchone()
    if outside[0]:
        return (
            f"the model returned {outside[0]} row(s) outside the window (e.g. {column} = "
            f"{outside[1]}): its filter on :window_start/:window_end must be on {column}"
        )
    return None


def _reconcile(conn: Any, before: str, after: str, inside: str, req: BackfillRequest) -> Any:
    from app.canary.diff import reconcile

    for side, rel in (("before", before), ("after", after)):
        conn.execute(
            f"CREATE OR REPLACE TEMP VIEW __backfill_{side} AS SELECT * FROM {wap.quote(rel)} WHERE {inside}"
        )
    contract = req.run.contracts.get(req.dataset)
    key = contract.primary_key if contract is not None else ()
    return reconcile(
        _Db(conn),
        "__backfill_before",
        "__backfill_after",
        key=key,
        labels=(f"{req.dataset} (live, {req.window.text})", f"{req.dataset} (backfilled)"),
    )


def _version(
    wrun: wap.RunRequest,
    name: str,
    version: int,
    rel: str,
    fp: str,
    status: str,
    reason: str | None,
    checks: tuple[QualityResult, ...],
    conn: Any,
) -> VersionRecord:
    rows = (
        None if conn is None else float(conn.execute(f"SELECT COUNT(*) FROM {wap.quote(rel)}").fetchone()[0])
    )
    return VersionRecord(
        wrun.run_id,
        wrun.env,
        name,
        version,
        rel,
        wrun.window,
        fp,
        wrun.artifact,
        status,
        wrun.force,
        reason,
        wrun.started.isoformat(),
        None,
        rows,
        False,
        tuple(c.to_json() for c in checks),
    )


def _finish(
    ledger: RunLedger,
    wrun: wap.RunRequest,
    req: BackfillRequest,
    fp: str,
    status: str,
    version: int,
    live: int | None,
    why: str,
    checks: tuple[QualityResult, ...] = (),
    conn: Any = None,
) -> BackfillResult:
    rel = relation(req.run.schema, req.dataset, version)
    ledger.record(_version(wrun, req.dataset, version, rel, fp, status, why, checks, conn))
    _update(ledger, req.run.run_id, status=status, message=why)
    if conn is not None:
        wap.retire(conn, ledger, req.run.env, req.run.schema, req.dataset, req.run.keep)
    return BackfillResult(req, status, version, live, why, checks)


def _upstream(graph: Graph, name: str) -> Graph:
    """The part of `graph` that `name` reads, itself included."""
    keep, todo = set(), [name]
    while todo:
        m = todo.pop()
        if m not in keep:
            keep.add(m)
            todo.extend(graph.upstream[m])
    order = tuple(m for m in graph.order if m in keep)
    return Graph(
        order=order,
        sql={m: graph.sql[m] for m in order},
        upstream={m: graph.upstream[m] for m in order},
        sources={m: graph.sources[m] for m in order},
    )


def _downstream(
    conn: Any,
    graph: Graph,
    wrun: wap.RunRequest,
    ledger: RunLedger,
    name: str,
    progress: Callable[[str], object],
) -> wap.RunResult | None:
    """Rebuild what reads the repaired dataset, as `run` does; the repaired view is their source."""
    below = graph.downstream_closure(name)
    if not below:
        return None
    order = tuple(m for m in graph.order if m in below)
    outside = {m: tuple(f"{wrun.schema}.{u}" for u in graph.upstream[m] if u not in below) for m in order}
    sub = Graph(
        order=order,
        sql={m: graph.sql[m] for m in order},
        upstream={m: tuple(u for u in graph.upstream[m] if u in below) for m in order},
        sources={m: (*graph.sources[m], *outside[m]) for m in order},
    )
    return wap.execute(conn, sub, wrun, ledger, progress)


def history(ledger: RunLedger, env: str | None = None, dataset: str | None = None) -> list[dict[str, Any]]:
    """Backfill records, newest first (for the dashboard): who, why, which commit, window, status,
    versions and the reconciliation (JSON as `datacanary backfill --format json` prints it)."""
    ledger.db.ensure("backfill", DDL)
    rows = (
        ledger.db.connect()
        .execute(
            "SELECT * FROM backfills WHERE (? IS NULL OR env = ?) AND (? IS NULL OR dataset = ?)"
            " ORDER BY id DESC",
            (env, env, dataset, dataset),
        )
        .fetchall()
    )
    return [
        {
            "run_id": r["run_id"],
            "env": r["env"],
            "dataset": r["dataset"],
            "window": r["run_window"],
            "actor": r["actor"],
            "reason": r["reason"],
            "commit": r["commit_sha"],
            "artifact": r["artifact_digest"],
            "status": r["status"],
            "version": r["version"],
            "previous_version": r["previous_version"],
            "forced": bool(r["forced"]),
            "started_at": r["started_at"],
            "message": r["message"],
            "reconciliation": json.loads(r["reconciliation"]) if r["reconciliation"] else None,
        }
        for r in rows
    ]
