"""Get the commits a handler needs into a per-repository cache: a shallow `git fetch` of exactly the
wanted shas with the installation token. No work tree is checked out; the engine reads revisions with
`git cat-file` (app.project.git), so one cache per repository serves every pull request."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from app.errors import GitError

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
FETCH_TIMEOUT = 300


class RepoCache:
    """One git repository per GitHub repository under `root`; fetches are serialized per repository."""

    def __init__(
        self,
        root: Path,
        url_template: str,
        token: Callable[[int | None], str],
        *,
        api_url: str = "https://api.github.com",
        depth: int = 1,
    ) -> None:
        self.root = Path(root)
        self.url_template = url_template
        self._token = token
        self._host = _web_host(api_url)
        self.depth = depth
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def checkout(self, installation_id: int | None, full_name: str, shas: Sequence[str]) -> Path:
        """A local repository holding the commits `shas` of `full_name` (fetched if missing)."""
        path = self.root / _SAFE.sub("_", full_name.replace("/", "__"))
        with self._lock(full_name):
            if not (path / ".git").is_dir():
                path.mkdir(parents=True, exist_ok=True)
                _git(path, "init", "-q")
            missing = [s for s in dict.fromkeys(shas) if not _has_commit(path, s)]
            if missing:
                url = self.url(installation_id, full_name)
                # the token lives only in this command line, never in the repository's config
                if self.depth:
                    depth = [f"--depth={self.depth}"]
                else:  # full history; a cache left shallow by an earlier setting must be deepened
                    depth = ["--unshallow"] if (path / ".git" / "shallow").exists() else []
                _git(path, "fetch", "-q", "--no-tags", *depth, url, *missing, secret=url)
        return path

    def url(self, installation_id: int | None, full_name: str) -> str:
        """The fetch URL of `full_name` (minting an installation token only if the template uses one)."""
        token = self._token(installation_id) if "{token}" in self.url_template else ""
        return self.url_template.format(token=token, full_name=full_name, host=self._host)

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


def _web_host(api_url: str) -> str:
    # github.com's API lives on api.github.com; GHES serves git and the API (/api/v3) on one host
    host = urlsplit(api_url).netloc or "github.com"
    return "github.com" if host == "api.github.com" else host


def _has_commit(path: Path, sha: str) -> bool:
    proc = subprocess.run(
        ["git", "-C", str(path), "cat-file", "-e", f"{sha}^{{commit}}"], capture_output=True, check=False
    )
    return proc.returncode == 0


def _git(path: Path, *args: str, secret: str = "") -> bytes:
    """Run git in `path` and return its output; a GitError (with `secret` masked) when it fails."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}  # a refused token must fail, not wait for a prompt
    try:
        proc = subprocess.run(
            ["git", "-C", str(path), *args], capture_output=True, check=False, env=env, timeout=FETCH_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {FETCH_TIMEOUT} s") from None
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip()
        # git prints the URL, or for a local remote only its path: neither may show a token
        for shown in (secret, urlsplit(secret).path) if secret else ():
            if shown:
                message = message.replace(shown, "<repository>")
        raise GitError(
            f"git {args[0]} failed: {_reason(message)}",
            hint="check that the app is installed on the repository and has contents: read permission",
        )
    return proc.stdout


def _reason(stderr: str) -> str:
    """git's own reason: its first `fatal:`/`error:` line (the last line is often generic advice)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else "unknown error"
