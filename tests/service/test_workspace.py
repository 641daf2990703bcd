"""Workspaces for breach handling: the remote's default branch with its full history, checked out, kept
up to date, and the token only ever on the command line (real git repositories in tmp_path)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.errors import GitError
from app.service.workspace import Workspaces


def _git(path: Path, *args: str) -> str:
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    return subprocess.run(
        ["git", *env_args, "-C", str(path), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A repository whose default branch is `trunk`, with three commits, served as a bare remote."""
    src = tmp_path / "src"
    src.mkdir()
    _git(src, "init", "-q", "-b", "trunk")
    for i in range(3):
        (src / "datacanary.yml").write_text(f"name: shop{i}\n")
        _git(src, "add", "-A")
        _git(src, "commit", "-q", "-m", f"c{i}")
    remote = tmp_path / "remotes" / "o" / "r.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(remote)], check=True)
    return src


def _workspaces(tmp_path: Path, seen: list[str] | None = None) -> Workspaces:
    def url(installation: int | None, full_name: str) -> str:
        if seen is not None:
            seen.append(f"{installation}:{full_name}")
        return f"file://{tmp_path}/remotes/{full_name}.git"

    return Workspaces(tmp_path / "ws", url)


def test_the_default_branch_is_checked_out_with_its_whole_history(tmp_path: Path, origin: Path) -> None:
    seen: list[str] = []
    ws = _workspaces(tmp_path, seen).update(7, "o/r")
    head = _git(origin, "rev-parse", "HEAD")
    assert (ws.path, ws.branch, ws.head) == (tmp_path / "ws" / "o" / "r", "trunk", head)
    assert (ws.path / "datacanary.yml").read_text() == "name: shop2\n"
    assert _git(ws.path, "rev-list", "--count", "trunk") == "3"
    assert seen == ["7:o/r"]
    assert "remotes" not in _git(ws.path, "config", "--list")  # the fetch URL (and token) is never stored


def test_an_update_brings_new_commits_and_keeps_untracked_data(tmp_path: Path, origin: Path) -> None:
    workspaces = _workspaces(tmp_path)
    ws = workspaces.update(1, "o/r")
    (ws.path / "prod.duckdb").write_bytes(b"environment data")
    (origin / "datacanary.yml").write_text("name: shop3\n")
    _git(origin, "commit", "-q", "-am", "c3")
    _git(origin, "push", "-q", str(tmp_path / "remotes" / "o" / "r.git"), "trunk")
    again = workspaces.update(1, "o/r")
    assert again.head == _git(origin, "rev-parse", "HEAD") != ws.head
    assert (again.path / "datacanary.yml").read_text() == "name: shop3\n"
    assert (again.path / "prod.duckdb").read_bytes() == b"environment data"


def test_a_shallow_workspace_is_deepened(tmp_path: Path, origin: Path) -> None:
    path = tmp_path / "ws" / "o" / "r"
    path.mkdir(parents=True)
    _git(path, "init", "-q")
    _git(path, "fetch", "-q", "--depth=1", f"file://{tmp_path}/remotes/o/r.git", "trunk")
    assert _git(path, "rev-parse", "--is-shallow-repository") == "true"
    ws = _workspaces(tmp_path).update(1, "o/r")
    assert _git(ws.path, "rev-parse", "--is-shallow-repository") == "false"
    assert _git(ws.path, "rev-list", "--count", "HEAD") == "3"


def test_a_repository_that_cannot_be_fetched_is_a_git_error(tmp_path: Path) -> None:
    with pytest.raises(GitError) as err:
        _workspaces(tmp_path).update(1, "o/missing")
    assert "<repository>" in err.value.message and str(tmp_path) not in err.value.message
