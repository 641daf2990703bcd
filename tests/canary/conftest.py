"""Fixtures for canary tests: a sandbox connection and a way to create tables from Python rows."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from app.canary import sqltext as q
from app.canary.runner import Sandbox


@pytest.fixture
def db() -> Iterator[Sandbox]:
    box = Sandbox(threads=1)
    yield box
    box.close()


def make_table(
    db: Sandbox, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
) -> Any:
    """Create (or replace) `name` with the given DuckDB column types and rows; returns its table expression."""
    cols = ", ".join(f'"{c}" {t}' for c, t in columns)
    db.conn.execute(f'CREATE OR REPLACE TABLE "{name}" ({cols})')
    if rows:
        marks = ", ".join("?" for _ in columns)
        db.conn.executemany(f'INSERT INTO "{name}" VALUES ({marks})', [list(r) for r in rows])
    return q.table(name)


SHOP = Path(__file__).resolve().parents[2] / "fixtures" / "canary" / "shop"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def shop_repo(
    tmp_path: Path, changes: Mapping[str, str | None], base_changes: Mapping[str, str | None] = {}
) -> Path:
    """The canary shop as a git repository: commit `base` (fixture + base_changes), then `head` (+ changes).
    A change maps a path to new text, or to None to delete the file."""
    repo = tmp_path / "shop"
    shutil.copytree(SHOP, repo)
    _git(repo, "init", "-q", "-b", "main")

    def apply(edits: Mapping[str, str | None]) -> None:
        for rel, text in edits.items():
            target = repo / rel
            if text is None:
                target.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)

    apply(base_changes)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "tag", "base")
    apply(changes)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "head")
    return repo


def run_shop(repo: Path, selected: list[str] | None = None) -> Any:
    """run_canary on base..HEAD of a shop repository."""
    from app.canary.run import run_canary
    from app.project.git import GitTree
    from app.project.load import load_project
    from app.sql.analyze import analyze

    bt, ht = GitTree(repo, "base"), GitTree(repo, "HEAD")
    base, head = load_project(bt), load_project(ht)
    return run_canary(base, head, analyze(base), analyze(head), head_tree=ht, selected=selected)
