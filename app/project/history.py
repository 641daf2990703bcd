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
        log = _git(
            Path(repo),
            "log",
            f"--max-count={limit + 1}",
            "--format=%H",
            "--name-only",
            "--follow",
            until,
            "--",
            path,
        ).decode()
    except GitError as exc:
        return ContractHistory((), (f"history of {path} unavailable: {exc.message}",))
    versions: list[Contract] = []
    warnings: list[str] = []
    # the version at `until` is the head itself, and a commit that only moved the file repeats a version
    seen = {_show(repo, until, path)}
    for sha, at_path in _commits_with_paths(log):
        try:
            text = _git(Path(repo), "show", f"{sha}:{at_path}").decode("utf-8")
        except GitError:
            continue  # the commit deleted the file
        except UnicodeDecodeError:
            warnings.append(f"{path} at {sha[:12]} is not UTF-8 text; skipped")
            continue
        if text in seen:
            continue
        seen.add(text)
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


def _show(repo: Path, rev: str, path: str) -> str | None:
    try:
        return _git(Path(repo), "show", f"{rev}:{path}").decode("utf-8", errors="replace")
    except GitError:
        return None
