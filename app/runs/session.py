"""Open what a run, a restore or an SLO evaluation works on: the state database, the environment, and
the project to build (the artifact live in the environment, else the working tree)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.errors import UsageError
from app.project.load import load_project
from app.project.model import Project
from app.project.tree import DirTree, MemoryTree
from app.runs.target import Target, target
from app.state import StateDB

WORKING_TREE = "working-tree"


@dataclass(frozen=True, slots=True)
class Session:
    project: Project  # what to build: the live artifact's project, or the working tree's
    config_project: Project  # the working tree's (environments, SLOs as declared now)
    target: Target
    artifact: str  # the live digest, or WORKING_TREE
    db: StateDB


def open_session(project_dir: str, env: str, state: str | None, use_artifact: bool = True) -> Session:
    """Load the project and environment; with `use_artifact`, build what is live in `env`."""
    from app.promotion.cli import state_path
    from app.promotion.ledger import Ledger

    root = Path(project_dir)
    if not root.is_dir():
        raise UsageError(f"--project {project_dir}: no such directory")
    working = load_project(DirTree(root))
    tgt = target(working, root.resolve(), env)
    path = state_path(state)
    db = StateDB(path)
    live = Ledger(db).live(env) if use_artifact else None
    if live is None:
        return Session(working, working, tgt, WORKING_TREE, db)
    from app.promotion.artifact import open_artifact
    from app.promotion.store import ArtifactStore

    artifact, verification = open_artifact(ArtifactStore(path.parent / "artifacts").get(live.digest))
    if not verification.ok:
        raise UsageError(
            f"the artifact live in {env} ({live.digest}) does not verify",
            hint="promote a good artifact again, or pass --working-tree to build the working tree",
        )
    files: dict[str, str | bytes] = dict(artifact.project_files())
    built = load_project(MemoryTree(files, label=f"artifact {artifact.short}"))
    return Session(built, working, tgt, live.digest, db)
