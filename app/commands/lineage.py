"""`datacanary lineage [--project DIR] [--model M [--column C]] [--format text|json|mermaid]`: the DAG and
column-level lineage of the project in the working directory (no git needed)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--project", default=".", help="the data project's directory (default: .)")
    parser.add_argument("--model", metavar="M", help="show one model: its columns, upstream and downstream")
    parser.add_argument("--column", metavar="C", help="with --model: one column's upstream and downstream")
    parser.add_argument("--format", choices=("text", "json", "mermaid"), default="text")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.errors import UsageError
    from app.project.load import load_any_project
    from app.project.model import Project
    from app.project.tree import DirTree
    from app.report.env import render
    from app.sql.analyze import analyze
    from app.sql.blast import blast_radius, project_graph, render_mermaid

    root = Path(args.project)
    if not root.is_dir():
        raise UsageError(f"--project {args.project}: no such directory")
    if args.column and not args.model:
        raise UsageError("--column needs --model", hint="e.g. datacanary lineage --model fct --column amount")
    loaded = load_any_project(DirTree(root))
    project = loaded if isinstance(loaded, Project) else loaded.project
    if len(project.models) > 200:
        sys.stderr.write(f"datacanary: analyzing {len(project.models)} models\n")
    # one model that does not parse (or render) is reported at its file and line; the rest is shown
    analysis = analyze(project, strict=False)
    if not isinstance(loaded, Project):
        analysis = loaded.mark_unrendered(analysis)
    if args.model in analysis.broken:
        raise analysis.broken[args.model].error
    if args.model and args.model not in analysis.models and args.model not in analysis.sources:
        import difflib

        close = difflib.get_close_matches(args.model, list(analysis.models) + list(analysis.sources), n=3)
        raise UsageError(
            f"no model or source named {args.model!r}",
            hint=f"did you mean {', '.join(close)}?" if close else "`datacanary lineage` lists the models",
        )
    columns = analysis.relation_columns(args.model) if args.model else None
    if args.column:  # `--column amount` on Snowflake is the column AMOUNT, as the SQL says it
        args.column = analysis.stored_column(args.model, args.column)
    if args.column and columns is not None and args.column not in {c.name for c in columns}:
        raise UsageError(
            f"{args.model} has no column {args.column!r}",
            hint=f"its columns: {', '.join(c.name for c in columns) or '(unknown)'}",
        )
    doc = _document(analysis, args.model, args.column)
    left_out = _not_analysed(analysis)
    if args.model is None:
        doc["not_analysed"] = left_out
    if left_out:
        sys.stderr.write(render("lineage/not_analysed.txt.j2", models=left_out))
    if args.format == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif args.format == "mermaid":
        if args.model:
            graph = blast_radius(analysis, project, [(args.model, args.column)])
        else:
            graph = project_graph(analysis)
        sys.stdout.write(render_mermaid(graph))
    else:
        sys.stdout.write(render("lineage/text.txt.j2", doc=doc))
    return 1 if any(not m["notice"] for m in left_out) else 0


def _not_analysed(analysis: Any) -> list[dict[str, Any]]:
    """Each model left out of the lineage, or with a column that could not be resolved, at its line;
    `notice` when that is no error of its SQL (its columns are unknown, or it reads such a model)."""
    from app.sql.qualify import ColumnsUnknown

    out = []
    for name, broken in sorted(analysis.broken.items()):
        loc = broken.error.location
        notice = broken.upstream is not None or isinstance(broken.error, ColumnsUnknown)
        out.append(_left_out(name, loc, broken.path, broken.error, notice))
    for problem in analysis.problems:
        name = next((n for n, m in analysis.models.items() if problem in m.problems), None)
        out.append(_left_out(name, problem.location, None, problem, False))
    return out


def _left_out(name: str | None, loc: Any, path: str | None, error: Any, notice: bool) -> dict[str, Any]:
    return {
        "model": name,
        "file": loc.path if loc else path,
        "line": loc.line if loc else None,
        "where": str(loc) if loc else path,
        "message": error.message,
        "hint": error.hint,
        "notice": notice,
    }


def _document(analysis: Any, model: str | None, column: str | None) -> dict[str, Any]:
    """The JSON view (also what the text template renders)."""
    if model is None:
        return {
            "dialect": analysis.dialect,
            "order": list(analysis.order),
            "models": {
                n: {
                    "path": m.path,
                    "upstream": list(m.upstream),
                    "sources": list(m.sources),
                    "columns": [{"name": c.name, "type": c.type, "line": c.location.line} for c in m.columns],
                }
                for n, m in analysis.models.items()
            },
            "sources": {
                n: [{"name": c.name, "type": c.type} for c in s.columns]
                for n, s in sorted(analysis.sources.items())
            },
            # column-level edges: [upstream table, upstream column, model, column]
            "edges": [[*e.upstream, *e.downstream] for e in analysis.lineage],
        }
    m = analysis.models.get(model)
    cols = analysis.relation_columns(model) or ()
    shown = [c for c in cols if column is None or c.name == column]
    return {
        "model": model,
        "path": m.path if m else None,
        "kind": "model" if m else "source",
        "upstream": list(m.reads_tables) if m else [],
        "downstream": [n for n in analysis.order if n in analysis.downstream(model)],
        "columns": [
            {
                "name": c.name,
                "type": c.type,
                "file": c.location.path,
                "line": c.location.line,
                "from": [list(r) for r in sorted(m.lineage.get(c.name, ()))] if m else [],
                "upstream": [list(r) for r in sorted(analysis.column_upstream(model, c.name))],
                "downstream": [list(r) for r in sorted(analysis.column_downstream(model, c.name))],
            }
            for c in shown
        ],
    }
