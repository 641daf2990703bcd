"""Earlier versions of a contract file from git history, for the `*_transitive` compatibility modes.

An I/O edge: runs `git log --follow` and `git show`; parsing stays in `app.contracts.parse`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.contracts.model import Contract
from app.contracts.parse import parse_contract
from app.errors import DatacanaryError, GitError
from app.project.git import _git


@dataclass(frozen=True, slots=True)
class ContractHistory:
    """Earlier versions (oldest first) and the versions that could not be read, said out loud."""

    versions: tuple[Contract, ...]
    warnings: tuple[str, ...] = ()


def contract_history(repo: Path, path: str, until: str, limit: int = 50) -> list[Contract]:
    """Earlier parseable versions of `path` reachable from `until` (excluded), oldest first."""
    return list(read_contract_history(repo, path, until, limit).versions)


def read_contract_history(repo: Path, path: str, until: str, limit: int = 50) -> ContractHistory:
    """Like `contract_history`, also returning a warning per version that was skipped and why."""
    try:
        log = _git(Path(repo), "log", f"--max-count={limit + 1}", "--format=%H", "--name-only", "--follow",
                   until, "--", path).decode()
    except GitError as exc:
        return ContractHistory((), (f"history of {path} unavailable: {exc.message}",))
    commits = _commits_with_paths(log)
    versions: list[Contract] = []
    warnings: list[str] = []
    for i, (sha, at_path) in enumerate(commits):
        if i == 0 and _same_blob(repo, until, sha, at_path, path):
            continue  # the version at `until` itself is the head, not history
        try:
            text = _git(Path(repo), "show", f"{sha}:{at_path}").decode("utf-8")
        except GitError:
            continue  # the commit deleted the file
        except UnicodeDecodeError:
            warnings.append(f"{path} at {sha[:12]} is not UTF-8 text; skipped")
            continue
        try:
            versions.append(parse_contract(text, at_path))
        except DatacanaryError as exc:
            warnings.append(f"{path} at {sha[:12]} skipped for transitive checks: {exc.message}")
    versions = versions[:limit]
    versions.reverse()
    return ContractHistory(tuple(versions), tuple(reversed(warnings)))


def _commits_with_paths(log: str) -> list[tuple[str, str]]:
    """`git log --name-only --format=%H` output -> [(sha, path at that commit)], newest first."""
    out: list[tuple[str, str]] = []
    sha: str | None = None
    for line in log.splitlines():
        line = line.strip()
        if not line:
            continue
        if len(line) == 40 and all(ch in "0123456789abcdef" for ch in line):
            sha = line
        elif sha is not None:
            out.append((sha, line))
            sha = None
    return out


def _same_blob(repo: Path, until: str, sha: str, at_path: str, path: str) -> bool:
    """True when the newest logged version is the one `until` has (then it is the head, not history)."""
    try:
        here = _git(Path(repo), "rev-parse", f"{until}:{path}").decode().strip()
        there = _git(Path(repo), "rev-parse", f"{sha}:{at_path}").decode().strip()
    except GitError:
        return False
    return here == there
