"""Workspaces for breach handling: per repository, a clone with the default branch's FULL history, its
files checked out. The culprit search walks merged pull requests back to the last good evaluation
(the webhook cache's shallow fetches have no history), and the SLO evaluation reads the project from a
directory, where relative `environments.<env>.parameters.data` paths resolve, so the environment's
DuckDB file can live (or be mounted) next to the checked-out files; git leaves untracked files alone.

Fetches use the same URL template (and installation token, on the command line only) as the cache.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.errors import GitError
from app.service.checkout import _git

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
_SYMREF = re.compile(rb"^ref: refs/heads/(\S+)\s+HEAD$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Workspace:
    """A full-history checkout of `full_name`'s default branch (`branch`, at `head`)."""

    path: Path
    full_name: str
    branch: str
    head: str


class Workspaces:
    """One workspace per repository under `root` (`root/owner/name`); updates are serialized per repo."""

    def __init__(self, root: Path, url: Callable[[int | None, str], str]) -> None:
        self.root = Path(root)
        self._url = url  # (installation id, owner/repo) -> fetch URL (with a fresh token)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def path(self, full_name: str) -> Path:
        owner, _, name = full_name.partition("/")
        return self.root / _SAFE.sub("_", owner) / _SAFE.sub("_", name)

    def update(self, installation_id: int | None, full_name: str) -> Workspace:
        """Fetch the default branch with all its history and check it out (work tree forced to it)."""
        path = self.path(full_name)
        with self._lock(full_name):
            if not (path / ".git").is_dir():
                path.mkdir(parents=True, exist_ok=True)
                _git(path, "init", "-q")
            url = self._url(installation_id, full_name)
            branch = default_branch(path, url)
            remote = f"refs/remotes/origin/{branch}"
            # a workspace left shallow (copied from the cache, an older version) would hide history
            deepen = ["--unshallow"] if (path / ".git" / "shallow").exists() else []
            _git(path, "fetch", "-q", "--no-tags", *deepen, url, f"+refs/heads/{branch}:{remote}", secret=url)
            # a local branch of the same name: history.resolve_branch finds it like in any clone
            _git(path, "checkout", "-q", "-f", "-B", branch, remote)
            head = _git(path, "rev-parse", "HEAD").decode().strip()
        return Workspace(path, full_name, branch, head)

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


def default_branch(path: Path, url: str) -> str:
    """The remote's default branch, from where its HEAD points (`git ls-remote --symref`)."""
    out = _git(path, "ls-remote", "--symref", url, "HEAD", secret=url)
    match = _SYMREF.search(out)
    if match is None:
        raise GitError(
            "the repository has no default branch (an empty repository?)",
            hint="push the data project to the repository's default branch",
        )
    return match.group(1).decode()
