"""The arguments every command that compares two git revisions takes, and where they point."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def add_revision_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", required=True, help="base revision (branch, tag or sha)")
    parser.add_argument("--head", default="HEAD", help="head revision (default: HEAD)")
    parser.add_argument("--project", default=".", help="the data project's directory (default: .)")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")


def locate(args: argparse.Namespace) -> tuple[Path, str]:
    """The repository holding `--project`, and the project's directory relative to it."""
    from app.errors import UsageError
    from app.project.git import repo_root

    project = Path(args.project).resolve()
    if not project.is_dir():
        raise UsageError(f"--project {args.project}: no such directory")
    repo = repo_root(project)
    return repo, project.relative_to(repo).as_posix() if project != repo else ""


def progress(args: argparse.Namespace) -> Callable[[str], None]:
    """Progress lines on stderr, unless --quiet: one line each (they name models, and a name holding a
    newline and `::` would be a workflow command in a CI log)."""

    def say(msg: str) -> None:
        if not args.quiet:
            sys.stderr.write(f"datacanary: {' '.join(msg.splitlines())}\n")

    return say
