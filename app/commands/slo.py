"""`datacanary slo evaluate --env ENV [--format text|json|markdown] [--at TIMESTAMP]`: measure every SLI
against that environment's data, store the evaluation, and show budgets, burn rates and alerts.

Exit 0: no SLI breached; 1: at least one breached; 2: bad input.
"""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="evaluate")
    ev = sub.add_parser("evaluate", help="evaluate every SLO of an environment")
    ev.add_argument("--env", required=True, metavar="ENV", help="an environment of datacanary.yml")
    ev.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    ev.add_argument("--at", metavar="TIMESTAMP", help="evaluate as of this ISO time (default: now, UTC)")
    ev.add_argument("--project", default=".", help="the data project's directory (default: .)")
    ev.add_argument(
        "--state",
        metavar="PATH",
        help="state database (default: $DATACANARY_STATE or .datacanary/state.sqlite)",
    )
    ev.add_argument("--no-store", action="store_true", help="do not record this evaluation")


def run(args: argparse.Namespace) -> int:
    import json

    from app.report.env import render
    from app.slo.service import evaluate_env, parse_at

    report = evaluate_env(args.project, args.env, args.state, parse_at(args.at), store=not args.no_store)
    if args.format == "json":
        sys.stdout.write(json.dumps(report.to_json(), indent=2, default=str) + "\n")
    else:
        template = "slo/evaluate.md.j2" if args.format == "markdown" else "slo/evaluate.txt.j2"
        sys.stdout.write(render(template, report=report))
    return 1 if report.breaches else 0
