"""`datacanary check --base REF --head REF [--project DIR]`: the breaking-change and canary gates."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--base", required=True, help="base revision (branch, tag or sha)")
    parser.add_argument("--head", default="HEAD", help="head revision (default: HEAD)")
    parser.add_argument("--project", default=".", help="the data project's directory (default: .)")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument("--output", metavar="FILE", help="also write the JSON report to FILE")
    parser.add_argument("--no-canary", action="store_true", help="skip the canary data diff")
    parser.add_argument("--manifest", metavar="PATH", help="dbt: the head revision's manifest.json")
    parser.add_argument("--base-manifest", metavar="PATH", help="dbt: the base revision's manifest.json")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    from app.pipeline import run_check
    from app.project.git import repo_root
    from app.report import render_report

    project = Path(args.project).resolve()
    if not project.is_dir():
        from app.errors import UsageError

        raise UsageError(f"--project {args.project}: no such directory")
    repo = repo_root(project)
    project_dir = project.relative_to(repo).as_posix() if project != repo else ""

    def progress(msg: str) -> None:
        if not args.quiet:
            sys.stderr.write(f"datacanary: {msg}\n")

    report = run_check(
        repo,
        args.base,
        args.head,
        project_dir,
        canary=not args.no_canary,
        progress=progress,
        head_manifest=Path(args.manifest) if args.manifest else None,
        base_manifest=Path(args.base_manifest) if args.base_manifest else None,
    )
    if args.output:
        Path(args.output).write_text(render_report(report, "json"))
    sys.stdout.write(render_report(report, args.format))
    return 1 if report.verdict.value == "fail" else 0
