"""Read a revision of a git repository with git itself: no checkout, no work tree changes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from app.errors import GitError


def _git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True, check=False)
    except FileNotFoundError:
        raise GitError(
            "git is not installed", hint="install git; datacanary reads revisions with it"
        ) from None
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {' '.join(args[:2])} failed: {msg[-1] if msg else 'unknown error'}")
    return proc.stdout


def repo_root(start: str | Path) -> Path:
    """The top of the git repository that contains `start`."""
    try:
        out = _git(Path(start), "rev-parse", "--show-toplevel")
    except GitError:
        raise GitError(
            f"{start} is not inside a git repository",
            hint="run datacanary from a git checkout, or pass --project pointing into one",
        ) from None
    return Path(out.decode().strip())


def resolve(repo: Path, ref: str) -> str:
    """The full commit sha of `ref`; a clear error when it does not exist."""
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except GitError:
        raise GitError(
            f"unknown git revision {ref!r}",
            hint="check the name; in CI fetch the full history (actions/checkout with fetch-depth: 0)",
        ) from None


class GitTree:
    """The files of one commit, read in bulk with `git ls-tree` and `git cat-file --batch`."""

    def __init__(self, repo: str | Path, ref: str) -> None:
        self.repo = Path(repo)
        self.ref = ref
        self.sha = resolve(self.repo, ref)
        self.label = f"{ref} ({self.sha[:7]})" if not self.sha.startswith(ref) else self.sha[:7]
        self._blobs: dict[str, str] = {}
        for line in _git(self.repo, "ls-tree", "-r", "-z", "--full-tree", self.sha).split(b"\0"):
            if not line:
                continue
            meta, _, path = line.partition(b"\t")
            mode, kind, oid = meta.decode().split()
            if kind == "blob":
                self._blobs[path.decode()] = oid
        self._content: dict[str, bytes] = {}

    def files(self, under: str = "") -> list[str]:
        prefix = under.strip("/")
        return sorted(p for p in self._blobs if not prefix or p == prefix or p.startswith(prefix + "/"))

    def exists(self, path: str) -> bool:
        return path.strip("/") in self._blobs

    def prefetch(self, paths: list[str]) -> None:
        """Read many blobs with one `git cat-file --batch` process."""
        wanted = [p for p in paths if p in self._blobs and p not in self._content]
        if not wanted:
            return
        out = _git(
            self.repo, "cat-file", "--batch", input="".join(self._blobs[p] + "\n" for p in wanted).encode()
        )
        pos = 0
        for p in wanted:
            header_end = out.index(b"\n", pos)
            size = int(out[pos:header_end].split()[2])
            start = header_end + 1
            self._content[p] = out[start : start + size]
            pos = start + size + 1

    def read_bytes(self, path: str) -> bytes:
        path = path.strip("/")
        if path not in self._blobs:
            raise GitError(f"{path} does not exist at {self.label}")
        if path not in self._content:
            self.prefetch([path])
        return self._content[path]

    def size(self, path: str) -> int:
        # read, not asked: whoever wants a file's size here reads it next (the canary's samples)
        return len(self.read_bytes(path))

    def read_text(self, path: str) -> str:
        from app.project.tree import decode_text

        return decode_text(self.read_bytes(path), path, self.label)
