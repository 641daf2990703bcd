"""`datacanary backfill DATASET --window FROM..TO --env ENV --reason TEXT`: re-run a windowed model for
one window through write-audit-publish, record it in the ledger and reconcile the repaired window.

Exit 0: published (and everything downstream); 1: refused (already applied, or an overlapping backfill
is running), the audit failed, or the model's rows for the window were unusable; 2: bad input.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("dataset", help="the windowed model to repair (datacanary.yml `windows:`)")
    parser.add_argument(
        "--window", required=True, metavar="FROM..TO", help="half-open: 2026-11-01..2026-12-01 is November"
    )
    parser.add_argument("--env", required=True, metavar="ENV", help="an environment of datacanary.yml")
    parser.add_argument("--reason", required=True, help="why this backfill (kept in the ledger)")
    parser.add_argument("--actor", help="who (default: $GITHUB_ACTOR, else git config user.name)")
    parser.add_argument("--force", action="store_true", help="apply again a backfill already applied")
    parser.add_argument(
        "--working-tree",
        action="store_true",
        help="build the working tree's model, not the artifact live in the environment",
    )
    parser.add_argument("--project", default=".", help="the data project's directory (default: .)")
    parser.add_argument("--state", metavar="PATH", help="state database (default: $DATACANARY_STATE)")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    parser.set_defaults(command=name)


def _git(project: str, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", project, *args], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def run(args: argparse.Namespace) -> int:
    import datetime as dt
    import json
    import uuid

    from app.errors import UsageError
    from app.report.env import render
    from app.runs import backfill
    from app.runs.envdb import open_env
    from app.runs.ledger import RunLedger
    from app.runs.session import WORKING_TREE, open_session
    from app.runs.target import contracts, graph
    from app.runs.wap import RunRequest
    from app.runs.window import parse_window

    window = parse_window(args.window)
    if not args.reason.strip():
        raise UsageError("--reason is empty", hint="say why this window is backfilled; it is kept")
    actor = args.actor or os.environ.get("GITHUB_ACTOR") or _git(args.project, "config", "user.name")
    if not actor:
        raise UsageError("who is backfilling is unknown", hint="pass --actor NAME (or set git user.name)")
    now = dt.datetime.now(dt.UTC)
    session = open_session(args.project, args.env, args.state, use_artifact=not args.working_tree)
    tgt, project = session.target, session.project
    try:
        if args.dataset not in project.models:
            raise UsageError(
                f"unknown dataset {args.dataset!r}",
                hint=f"models: {', '.join(sorted(project.models)) or 'none'}",
            )
        declared = project.config.windows.get(args.dataset)
        if declared is None:
            raise UsageError(
                f"model {args.dataset!r} declares no window column",
                hint=f"add `windows: {{{args.dataset}: {{column: <its date or timestamp column>}}}}` "
                "to datacanary.yml",
            )
        if tgt.database is None:  # the window's INSERT ... BY NAME and temp views are DuckDB's so far
            raise UsageError(
                f"environment {tgt.env!r} is on {tgt.engine}: backfill runs on DuckDB environments only",
                hint="use `datacanary run --window W` there (it rebuilds the model whole)",
            )
        if not tgt.database.is_file():
            raise UsageError(
                f"environment {tgt.env!r}: database {tgt.database} does not exist",
                hint=f"point environments.{tgt.env}.parameters.data at the environment's DuckDB file",
            )
        commit = session.artifact
        if commit == WORKING_TREE:
            commit = _git(args.project, "rev-parse", "HEAD") or WORKING_TREE
        run = RunRequest(
            env=tgt.env,
            schema=tgt.schema,
            source_schema=tgt.source_schema,
            window=window.text,
            artifact=session.artifact,
            run_id=f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}",
            started=now,
            force=args.force,
            keep=tgt.retention,
            contracts=contracts(project),
        )
        req = backfill.BackfillRequest(run, args.dataset, declared.column, window, actor, args.reason, commit)
        progress = (lambda m: None) if args.quiet else (lambda m: sys.stderr.write(m + "\n"))
        ledger = RunLedger(session.db)
        models = graph(project, tgt, windowed=args.dataset)
        lease, stale = backfill.acquire(ledger, req, now)  # before DuckDB: a loser is told why
        try:
            conn = open_env(tgt.database)
            try:
                recovered = backfill.recover(conn, ledger, tgt.schema, stale)
                for line in recovered:
                    progress(line)
                result = backfill.execute(conn, models, req, ledger, progress)
            finally:
                conn.close()
        finally:
            backfill.release(ledger, lease)
    finally:
        session.db.close()
    if args.format == "json":
        sys.stdout.write(json.dumps(_json(result), indent=2, default=str) + "\n")
    else:
        name = "runs/backfill.md.j2" if args.format == "markdown" else "runs/backfill.txt.j2"
        sys.stdout.write(render(name, b=result, r=result.reconciliation, database=Path(tgt.database).name))
    return 0 if result.ok else 1


def _json(result: object) -> dict[str, object]:
    from app.runs.backfill import BackfillResult

    assert isinstance(result, BackfillResult)
    req = result.request
    return {
        "run_id": req.run.run_id,
        "env": req.run.env,
        "dataset": req.dataset,
        "window": req.window.text,
        "window_column": req.column,
        "actor": req.actor,
        "reason": req.reason,
        "commit": req.commit,
        "forced": req.run.force,
        "status": result.status,
        "ok": result.ok,
        "version": result.version,
        "previous_version": result.previous,
        "message": result.message,
        "checks": [c.to_json() for c in result.checks],
        "reconciliation": result.reconciliation.to_json() if result.reconciliation else None,
        "downstream": [
            {"dataset": o.dataset, "status": o.status, "version": o.version, "reason": o.reason}
            for o in (result.downstream.outcomes if result.downstream else ())
        ],
    }
