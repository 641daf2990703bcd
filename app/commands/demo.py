"""`datacanary demo`: build the bundled shop repository in a temp dir and run `check` on it."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument("--keep", metavar="DIR", help="build the demo repository in DIR and keep it")
    parser.add_argument("--no-canary", action="store_true", help="skip the canary data diff")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when the gate fails (the demo's change is meant to fail)",
    )


def run(args: argparse.Namespace) -> int:
    from app.demo import build_demo_repo
    from app.pipeline import run_check
    from app.report import render_report

    def progress(msg: str) -> None:
        sys.stderr.write(f"  {msg}\n")

    if args.keep:
        _check_keep(Path(args.keep))  # never commit into, or over, something that is already there
    with tempfile.TemporaryDirectory(prefix="datacanary-demo-") as tmp:
        where = Path(args.keep) if args.keep else Path(tmp) / "shop"
        repo = build_demo_repo(where)
        sys.stderr.write(f"datacanary demo: built {where} (base {repo.base[:7]}, head {repo.head[:7]})\n")
        report = run_check(repo.path, repo.base, repo.head, "", canary=not args.no_canary, progress=progress)
        sys.stdout.write(render_report(report, args.format))
        if args.format == "text":
            sys.stderr.write(
                f"\nReproduce: datacanary check --project {where} --base {repo.base[:7]} --head {repo.head[:7]}\n"
                if args.keep
                else "\nKeep the repository to explore it: datacanary demo --keep ./shop-demo\n"
            )
    failed = report.verdict.value == "fail"
    if failed and not args.strict and args.format == "text":
        sys.stderr.write(
            "(the demo exits 0 on FAIL, as its change is meant to fail: `check` and `demo --strict` exit 1)\n"
        )
    return 1 if args.strict and failed else 0


def _check_keep(where: Path) -> None:
    """Refuse a --keep DIR that is a file or a non-empty directory (a re-run would commit into it)."""
    from app.errors import UsageError

    if where.exists() and not where.is_dir():
        raise UsageError(
            f"--keep {where} is a file", hint="pass a new directory name, e.g. --keep ./shop-demo"
        )
    if where.is_dir() and any(where.iterdir()):
        raise UsageError(
            f"--keep {where} already exists and is not empty; the demo builds a fresh git repository",
            hint=f"remove it first (rm -rf {where}) or pass a new directory name",
        )
