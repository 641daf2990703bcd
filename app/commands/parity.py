"""`datacanary parity --from ENV --to ENV`: the structural difference of two environments' effective
configurations; fails on any difference outside the declared `parameters`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.project.model import Project


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--from", dest="source", required=True, metavar="ENV", help="e.g. staging")
    parser.add_argument("--to", dest="target", required=True, metavar="ENV", help="e.g. prod")
    parser.add_argument("--project", default=".", help="the data project's directory (default: .)")
    parser.add_argument(
        "--artifact", metavar="PATH", help="compare the configuration inside an artifact instead"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    import json

    from app.promotion.parity import parity
    from app.report.env import render

    project = _project(args)
    result = parity(project.config, args.source, args.target, project.config_doc)
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2, default=str) + "\n")
    else:
        sys.stdout.write(render("promotion/parity.txt.j2", result=result))
    return 0 if result.ok else 1


def _project(args: argparse.Namespace) -> Project:
    from pathlib import Path

    from app.errors import UsageError
    from app.project.load import load_project
    from app.project.tree import DirTree

    if args.artifact:
        from app.promotion.artifact import open_artifact
        from app.promotion.bundle import artifact_project
        from app.promotion.release import ArtifactRefused

        artifact, verification = open_artifact(Path(args.artifact).read_bytes())
        if not verification.ok:
            raise ArtifactRefused(verification)
        return artifact_project(artifact)
    if not Path(args.project).is_dir():
        raise UsageError(f"--project {args.project}: no such directory")
    return load_project(DirTree(args.project))
