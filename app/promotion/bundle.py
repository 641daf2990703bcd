"""From a project tree to an artifact and back: which files decide the data, and the lineage document.

Reads only through a Tree (the working directory or a git revision), so it stays testable in memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.project.load import load_project
from app.project.model import Project
from app.project.tree import MemoryTree, Tree
from app.promotion.artifact import Artifact, build_artifact

if TYPE_CHECKING:
    from app.sql.analysis import Analysis

LINEAGE_VERSION = 1


def project_files(project: Project, tree: Tree) -> dict[str, bytes]:
    """datacanary.yml, every model and every contract, keyed by path relative to the project directory.
    Sample and environment data are not included: they differ per environment by design."""
    paths = [
        project.config_path,
        *(m.path for m in project.models.values()),
        *(c.path for c in project.contracts),
    ]
    prefix = project.root.strip("/") + "/" if project.root.strip("/") else ""
    return {p.removeprefix(prefix): tree.read_bytes(p) for p in sorted(set(paths))}


def lineage_document(analysis: Analysis, root: str = "") -> dict[str, Any]:
    """The resolved DAG and column lineage as plain JSON data (digested with the artifact). Paths are
    relative to the project directory `root`, so where the project sits in a repository does not matter."""
    prefix = root.strip("/") + "/" if root.strip("/") else ""
    return {
        "version": LINEAGE_VERSION,
        "dialect": analysis.dialect,
        "order": list(analysis.order),
        "models": {
            name: {
                "path": m.path.removeprefix(prefix),
                "upstream": list(m.upstream),
                "sources": list(m.sources),
                "columns": [{"name": c.name, "type": c.type} for c in m.columns],
            }
            for name, m in analysis.models.items()
        },
        "sources": {
            name: {"columns": [{"name": c.name, "type": c.type} for c in s.columns]}
            for name, s in sorted(analysis.sources.items())
        },
        "edges": [[*e.upstream, *e.downstream] for e in analysis.lineage],
    }


def build_from_tree(tree: Tree, root: str = "") -> tuple[Artifact, Project]:
    """Load, analyse and bundle the project under `root` of `tree`."""
    from app import __version__
    from app.sql.analyze import analyze

    project = load_project(tree, root)
    lineage = lineage_document(analyze(project), project.root)
    return build_artifact(project.config.name, project_files(project, tree), lineage, __version__), project


def artifact_project(artifact: Artifact) -> Project:
    """The project inside an artifact, loaded exactly as from a working directory."""
    return load_project(MemoryTree(dict(artifact.project_files()), label=f"artifact {artifact.short}"), "")
