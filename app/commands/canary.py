"""`datacanary canary --base REF --head REF [--project DIR]`: run the changed models, base and head, on the
same sampled data and reconcile them. Exit 1 when the canary gate fails (a blocking finding)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from app.commands.revisions import add_revision_arguments, locate, progress

if TYPE_CHECKING:
    from app.dbt.project import DbtProject
    from app.pipeline import DbtPair
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
    from app.project.load import load_any_project
    from app.project.model import Project
    from app.report.env import render
    from app.sql.analyze import analyze, edited_models

    repo, root = locate(args)
    say = progress(args)
    base_tree, head_tree = GitTree(repo, args.base), GitTree(repo, args.head)
    say(f"reading {base_tree.label} and {head_tree.label}")
    # as `check` reads them: a dbt model whose Jinja cannot be rendered is a finding of its own, not the
    # end of the command, and an edited seed is read per side
    base_any, head_any = load_any_project(base_tree, root), load_any_project(head_tree, root)
    dbt = _dbt_pair(base_any, head_any)
    base = base_any if isinstance(base_any, Project) else base_any.project
    head = head_any if isinstance(head_any, Project) else head_any.project
    edited = edited_models(base, head)  # their trees are kept: telling an equivalent change reads them
    base_an = analyze(base, strict=False, keep=edited)  # one broken model is a finding, not the end
    head_an = analyze(head, reuse=base_an, strict=False, keep=edited)
    if dbt is not None:
        base_an, head_an = dbt[0].mark_unrendered(base_an), dbt[1].mark_unrendered(head_an)
    selected, per_side = _selection(args.models, base, base_an, head_an, head, dbt)
    keys = _keys(args.key, head)
    result = run_canary(
        base,
        head,
        base_an,
        head_an,
        head_tree=head_tree,
        selected=selected,
        progress=say,
        keys=keys,
        base_tree=base_tree,
        per_side=per_side,
    )
    from dataclasses import replace

    from app.gate.broken import broken_findings

    refused, invalid = broken_findings(head, head_an, base, base_an)
    # a model that cannot be parsed, resolved or rendered is not run: said at its file and line, as
    # `check` says it (its readers' "not checked" findings name it)
    unrunnable = [f for f in invalid if f.rule == "sql-invalid"]
    result = replace(result, findings=(*refused, *unrunnable, *result.findings))
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        template = "canary/markdown.md.j2" if args.format == "markdown" else "canary/text.txt.j2"
        sys.stdout.write(render(template, canary=result, base=base_tree.label, head=head_tree.label))
    return 1 if result.verdict == "fail" else 0


def _dbt_pair(base: Project | DbtProject, head: Project | DbtProject) -> DbtPair | None:
    from app.dbt.project import DbtProject

    if isinstance(base, DbtProject) and isinstance(head, DbtProject):
        return base, head
    return None


def _selection(
    models: str, base: Project, base_an: Analysis, head_an: Analysis, head: Project, dbt: DbtPair | None
) -> tuple[list[str], tuple[str, ...]]:
    """--models, else `check`'s selection (app.pipeline.canary_plan): changed models whose output can
    change and their downstream (dbt: state:modified+); with the sources read per side."""
    from app.errors import UsageError

    if models:
        names = [m.strip() for m in models.split(",") if m.strip()]
        unknown = [n for n in names if n not in head.models]
        if unknown:
            raise UsageError(f"--models: no model named {', '.join(unknown)} in the head revision")
        if dbt is None:
            return names, ()
        from app.dbt.select import changed_seeds

        return names, changed_seeds(*dbt)
    from app.pipeline import canary_plan

    return canary_plan(base, head, base_an, head_an, dbt)


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
