"""`datacanary promote --artifact PATH --to ENV` and `datacanary rollback --env ENV`.

Both verify, check parity and the ledger, run the promotion canary in the target environment and
record the outcome. Exit 0: promoted (or already live: a no-op); 1: refused; 2: bad input.
"""

from __future__ import annotations

import argparse
import sys

STATE_ENV = "DATACANARY_STATE"


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    if name == "rollback":
        parser.add_argument("--env", required=True, metavar="ENV", help="the environment to roll back")
    else:
        parser.add_argument(
            "--artifact", required=True, metavar="PATH", help="built by `datacanary artifact build`"
        )
        parser.add_argument("--to", required=True, metavar="ENV", help="the target environment")
        parser.add_argument(
            "--force",
            action="store_true",
            help="promote even a digest that was rolled back in the target (needs --reason)",
        )
        parser.add_argument("--reason", help="why --force: recorded in the ledger with who and when")
    parser.add_argument(
        "--project", default=".", help="directory with datacanary.yml and the environments' data"
    )
    parser.add_argument(
        "--state", metavar="PATH", help=f"state database (default: ${STATE_ENV} or .datacanary/state.sqlite)"
    )
    parser.add_argument("--actor", help="who promotes (default: $GITHUB_ACTOR or the user name)")
    parser.add_argument("--commit", help="the git commit the artifact was built from (default: $GITHUB_SHA)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="decide only: check ledger and parity, run no canary, record nothing",
    )
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    parser.set_defaults(command=name)


def run(args: argparse.Namespace) -> int:
    import json
    import os
    from dataclasses import replace

    from app.promotion.cli import context_for, outcome_json, render_outcome
    from app.promotion.on_github import github_view, port_from_env, record

    progress = None if args.quiet else _progress
    if getattr(args, "force", False) and not (args.reason or "").strip():
        from app.errors import UsageError

        raise UsageError("--force needs --reason", hint='say why, e.g. --reason "hotfix verified by hand"')
    ctx, db = context_for(args.project, args.state, args.actor, args.commit, progress)
    port = port_from_env(os.environ)  # inside GitHub Actions: GitHub's deployments are part of the ledger
    if port is not None:
        ctx = replace(ctx, known=github_view(port, sys.stderr.write))
    ctx = replace(ctx, dry_run=args.dry_run)
    if getattr(args, "force", False):
        ctx = replace(ctx, force_reason=args.reason.strip())
    try:
        if args.command == "rollback":
            from app.project.load import load_project
            from app.project.tree import DirTree
            from app.promotion.release import rollback

            outcome = rollback(args.env, ctx, load_project(DirTree(args.project)))
        else:
            from pathlib import Path

            from app.errors import UsageError
            from app.promotion.release import promote

            try:
                data = Path(args.artifact).read_bytes()
            except OSError as exc:
                raise UsageError(f"cannot read artifact {args.artifact}: {exc.strerror}") from None
            outcome = promote(data, args.to, ctx)
    finally:
        db.close()
    if port is not None and not outcome.dry_run:
        record(outcome, port, os.environ, sys.stderr.write)
    if args.format == "json":
        sys.stdout.write(json.dumps(outcome_json(outcome), indent=2, default=str) + "\n")
    else:
        sys.stdout.write(render_outcome(outcome, args.format))
    return outcome.exit_code


def _progress(message: str) -> None:
    sys.stderr.write(f"datacanary: {message}\n")
