"""`datacanary run --env ENV` (write-audit-publish) and `datacanary restore DATASET --to VERSION --env ENV`.

Exit 0: everything published (or restored); 1: refused as a double apply, or an audit failed; 2: bad input.
"""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    if name == "restore":
        parser.add_argument("dataset", help="the dataset whose view to switch back")
        parser.add_argument(
            "--to", required=True, type=int, metavar="VERSION", help="an audited version still kept"
        )
    else:
        parser.add_argument(
            "--force",
            action="store_true",
            help="apply even when the ledger shows the same data was applied (recorded as forced)",
        )
        parser.add_argument(
            "--window",
            default="",
            metavar="W",
            help="the partition or run window this run is for (part of the idempotency key)",
        )
        parser.add_argument(
            "--working-tree",
            action="store_true",
            help="build the working tree's models, not the artifact live in the environment",
        )
    parser.add_argument("--env", required=True, metavar="ENV", help="an environment of datacanary.yml")
    parser.add_argument("--project", default=".", help="the data project's directory (default: .)")
    parser.add_argument(
        "--state",
        metavar="PATH",
        help="state database (default: $DATACANARY_STATE or .datacanary/state.sqlite)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    parser.set_defaults(command=name)


def run(args: argparse.Namespace) -> int:
    import datetime as dt
    import json
    import uuid

    from app.report.env import render
    from app.runs.ledger import RunLedger
    from app.runs.session import open_session
    from app.runs.target import contracts, graph, open_warehouse
    from app.runs.wap import RunRequest, execute, restore

    now = dt.datetime.now(dt.UTC)
    session = open_session(
        args.project, args.env, args.state, use_artifact=not getattr(args, "working_tree", False)
    )
    tgt = session.target
    try:
        conn = open_warehouse(tgt)  # a missing DuckDB file, an unreachable server: exit 2
    except BaseException:
        session.db.close()
        raise
    ledger = RunLedger(session.db)
    try:
        if args.command == "restore":
            rec = restore(conn, ledger, tgt.env, tgt.schema, args.dataset, args.to, now.isoformat())
            if args.format == "json":
                sys.stdout.write(json.dumps({"restored": rec.to_json()}, indent=2) + "\n")
            else:
                sys.stdout.write(render("runs/restore.txt.j2", rec=rec, target=tgt))
            return 0
        req = RunRequest(
            env=tgt.env,
            schema=tgt.schema,
            source_schema=tgt.source_schema,
            window=args.window,
            artifact=session.artifact,
            run_id=f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}",
            started=now,
            force=args.force,
            keep=tgt.retention,
            contracts=contracts(session.project),
        )
        progress = (lambda m: None) if args.quiet else (lambda m: sys.stderr.write(m + "\n"))
        result = execute(conn, graph(session.project, tgt), req, ledger, progress)
    finally:
        conn.close()
        session.db.close()
    if args.format == "json":
        sys.stdout.write(json.dumps(_json(result), indent=2, default=str) + "\n")
    else:
        sys.stdout.write(render("runs/run.txt.j2", result=result, target=tgt))
    return 0 if result.ok else 1


def _json(result: object) -> dict[str, object]:
    from app.runs.wap import RunResult

    assert isinstance(result, RunResult)
    return {
        "run_id": result.run_id,
        "env": result.env,
        "window": result.window,
        "artifact": result.artifact,
        "forced": result.forced,
        "ok": result.ok,
        "refused": [
            {"dataset": r.dataset, "earlier": r.earlier.to_json(), "restored_to": r.live}
            for r in result.refused
        ],
        "datasets": [
            {
                "dataset": o.dataset,
                "status": o.status,
                "version": o.version,
                "relation": o.relation,
                "reason": o.reason,
                "duration_seconds": o.duration,
                "dropped_versions": list(o.dropped),
                "checks": [c.to_json() for c in o.checks],
            }
            for o in result.outcomes
        ],
    }
