"""The bundled demo: an e-commerce shop project, committed as a base and a head revision in a fresh
git repository, so `datacanary demo` and the tests exercise the real path (git, files, DuckDB)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


def demo_dir() -> Path:
    """The demo fixture: inside the installed package, or the checkout's `fixtures/demo`."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_demo", here.parent / "fixtures" / "demo"):
        if (candidate / "project").is_dir():
            return candidate
    raise FileNotFoundError("the demo project is missing from this installation")  # packaging bug


@dataclass(frozen=True, slots=True)
class DemoRepo:
    path: Path
    base: str
    head: str


def _git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "datacanary demo",
        "GIT_AUTHOR_EMAIL": "demo@datacanary.invalid",
        "GIT_COMMITTER_NAME": "datacanary demo",
        "GIT_COMMITTER_EMAIL": "demo@datacanary.invalid",
        "GIT_AUTHOR_DATE": "2026-11-20T10:00:00Z",
        "GIT_COMMITTER_DATE": "2026-11-20T10:00:00Z",
        "HOME": str(repo),
        "PATH": __import__("os").environ.get("PATH", "/usr/bin:/bin"),
    }
    out = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def build_demo_repo(dest: Path, subdir: str = "") -> DemoRepo:
    """Create a git repository at `dest` with the demo project (in `subdir`) at base and head commits."""
    src = demo_dir()
    project = dest / subdir if subdir else dest
    project.mkdir(parents=True, exist_ok=True)
    _git(dest, "init", "-q", "-b", "main")
    shutil.copytree(src / "project", project, dirs_exist_ok=True)
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "shop: base revision")
    base = _git(dest, "rev-parse", "HEAD")
    _git(dest, "checkout", "-q", "-b", "change/orders-refactor")
    # copy2 keeps the fixtures' mtimes: an edit of the same size could then look unchanged to git's
    # stat cache, so copy without metadata and re-hash the whole index
    shutil.copytree(src / "head", project, dirs_exist_ok=True, copy_function=shutil.copyfile)
    _git(dest, "rm", "-r", "-q", "--cached", ".")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "orders: read payments directly; drop e-mail; refunds")
    head = _git(dest, "rev-parse", "HEAD")
    return DemoRepo(dest, base, head)
