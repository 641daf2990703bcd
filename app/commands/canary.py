"""`datacanary canary --base REF --head REF [--project DIR]`: run the changed models, base and head, on the
same sampled data and reconcile them. Exit 1 when the canary gate fails (a blocking finding)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from app.commands.revisions import add_revision_arguments, locate, progress

if TYPE_CHECKING:
    from app.project.model import Project
    from app.sql.analysis import Analysis


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    add_revision_arguments(parser)
    parser.add_argument(
        "--models", default="", help="only these models (comma separated) instead of the changed ones"
    )
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="MODEL=COL[,COL]",
        help="the primary key of a model for this run (repeatable); wins over its contract and canary.keys",
    )


def run(args: argparse.Namespace) -> int:
    from app.canary.run import run_canary
    from app.project.git import GitTree
    from app.project.load import load_project
    from app.report.env import render
    from app.sql.analyze import analyze, edited_models

    repo, root = locate(args)
    say = progress(args)
    base_tree, head_tree = GitTree(repo, args.base), GitTree(repo, args.head)
    say(f"reading {base_tree.label} and {head_tree.label}")
    base, head = load_project(base_tree, root), load_project(head_tree, root)
    edited = edited_models(base, head)  # their trees are kept: telling an equivalent change reads them
    base_an = analyze(base, strict=False, keep=edited)  # one broken model is a finding, not the end
    head_an = analyze(head, reuse=base_an, strict=False, keep=edited)
    selected = _selection(args.models, base, base_an, head_an, head)
    keys = _keys(args.key, head)
    result = run_canary(
        base, head, base_an, head_an, head_tree=head_tree, selected=selected, progress=say, keys=keys
    )
    from dataclasses import replace

    from app.gate.broken import broken_findings

    refused, _ = broken_findings(head, head_an, base, base_an)
    result = replace(result, findings=(*refused, *result.findings))
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        template = "canary/markdown.md.j2" if args.format == "markdown" else "canary/text.txt.j2"
        sys.stdout.write(render(template, canary=result, base=base_tree.label, head=head_tree.label))
    return 1 if result.verdict == "fail" else 0


def _selection(models: str, base: Project, base_an: Analysis, head_an: Analysis, head: Project) -> list[str]:
    """--models, else app.sql's selection: changed models whose output can change, and their downstream."""
    from app.errors import UsageError

    if models:
        names = [m.strip() for m in models.split(",") if m.strip()]
        unknown = [n for n in names if n not in head.models]
        if unknown:
            raise UsageError(f"--models: no model named {', '.join(unknown)} in the head revision")
        return names
    from app.gate.broken import canary_selection

    return canary_selection(base, head, base_an, head_an)


def _keys(given: list[str], head: Project) -> dict[str, list[str]]:
    """--key MODEL=COL[,COL] options as model -> key columns."""
    from app.errors import UsageError, did_you_mean

    out: dict[str, list[str]] = {}
    for item in given:
        model, eq, cols = item.partition("=")
        columns = [c.strip() for c in cols.split(",") if c.strip()]
        if not eq or not model.strip() or not columns:
            raise UsageError(f"--key {item}: expected MODEL=COL[,COL], for example --key orders=order_id")
        if model.strip() not in head.models:
            raise UsageError(
                f"--key {item}: no model named {model.strip()!r} in the head revision",
                hint=did_you_mean(model.strip(), list(head.models)).strip() or None,
            )
        out[model.strip()] = columns
    return out
