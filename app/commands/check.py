"""`datacanary check --base REF --head REF [--project DIR]`: the breaking-change and canary gates."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.commands.revisions import add_revision_arguments, locate, progress


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    add_revision_arguments(parser)
    parser.add_argument("--output", metavar="FILE", help="also write the JSON report to FILE")
    parser.add_argument("--no-canary", action="store_true", help="skip the canary data diff")
    parser.add_argument("--manifest", metavar="PATH", help="dbt: the head revision's manifest.json")
    parser.add_argument("--base-manifest", metavar="PATH", help="dbt: the base revision's manifest.json")


def run(args: argparse.Namespace) -> int:
    from app.errors import UsageError
    from app.pipeline import run_check
    from app.report import render_report

    if args.output:
        _check_writable(Path(args.output))  # before the run: a typo should not cost a whole canary
    repo, project_dir = locate(args)
    report = run_check(
        repo,
        args.base,
        args.head,
        project_dir,
        canary=not args.no_canary,
        progress=progress(args),
        head_manifest=Path(args.manifest) if args.manifest else None,
        base_manifest=Path(args.base_manifest) if args.base_manifest else None,
    )
    if args.output:
        try:
            Path(args.output).write_text(render_report(report, "json"))
        except OSError as exc:
            raise UsageError(f"cannot write --output {args.output}: {exc.strerror}") from None
    sys.stdout.write(render_report(report, args.format))
    return 1 if report.verdict.value == "fail" else 0


def _check_writable(path: Path) -> None:
    """Refuse an --output whose directory is missing or read-only, or that names a directory."""
    import os

    from app.errors import UsageError

    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"--output {path} is a directory", hint="pass a file name, e.g. report.json")
    if not parent.is_dir():
        raise UsageError(
            f"--output {path}: the directory {parent} does not exist",
            hint=f"create it first (mkdir -p {parent}) or write the report elsewhere",
        )
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(
            f"--output {path} is not writable", hint="write the report to a directory you can write to"
        )
