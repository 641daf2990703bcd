"""Read merged pull requests from the default branch's git history (first-parent): GitHub's merge
commits ("Merge pull request #12 from owner/branch") and squash merges ("Title (#12)")."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from app.project.git import _git
from app.revert.culprit import MergedChange

_MERGE = re.compile(r"^Merge pull request #(\d+) from [^/\s]+/(\S+)")
_SQUASH = re.compile(r"\(#(\d+)\)\s*$")


def merged_changes(repo: Path, ref: str = "HEAD", limit: int = 500) -> list[MergedChange]:
    """Pull requests merged into `ref`, newest first (commits that name no pull request are skipped)."""
    out = _git(repo, "log", "--first-parent", f"-n{limit}", "--format=%H%x00%P%x00%ct%x00%s%x00%b%x1e", ref)
    changes: list[MergedChange] = []
    for record in out.decode().split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, parents, stamp, subject, body = record.split("\x00", 4)
        parent_list = parents.split()
        if not parent_list:
            continue  # the root commit reverts to nothing
        merge = _MERGE.match(subject)
        squash = _SQUASH.search(subject)
        if merge:
            number, branch = int(merge.group(1)), merge.group(2)
            title = body.strip().splitlines()[0] if body.strip() else subject
        elif squash:
            number, branch, title = int(squash.group(1)), None, subject
        else:
            continue
        files = _git(repo, "diff", "--name-only", "--no-renames", "-z", parent_list[0], sha)
        changes.append(
            MergedChange(
                commit=sha,
                parent=parent_list[0],
                merged_at=dt.datetime.fromtimestamp(int(stamp), tz=dt.UTC),
                title=title,
                files=tuple(sorted(p.decode() for p in files.split(b"\0") if p)),
                number=number,
                branch=branch,
                body=body.strip(),
            )
        )
    return changes


def is_ancestor(repo: Path, commit: str, of: str) -> bool:
    """Whether `commit` is contained in `of`."""
    import subprocess

    return (
        subprocess.run(
            ["git", "-C", str(repo), "merge-base", "--is-ancestor", commit, of],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )


def show(repo: Path, commit: str, path: str) -> bytes | None:
    """A file's bytes at `commit`, or None when it does not exist there."""
    import subprocess

    proc = subprocess.run(
        ["git", "-C", str(repo), "show", f"{commit}:{path}"], capture_output=True, check=False
    )
    return proc.stdout if proc.returncode == 0 else None


def promoted(
    repo: Path, changes: list[MergedChange], promotions: list[tuple[str, dt.datetime]]
) -> list[tuple[MergedChange, dt.datetime]]:
    """Pair each change with when it first reached the environment: the earliest promotion whose commit
    contains it. Without any promotion recorded, a merge is taken as its own deployment."""
    if not promotions:
        return [(c, c.merged_at) for c in changes]
    ordered = sorted(promotions, key=lambda p: p[1])
    out = []
    for change in changes:
        for commit, at in ordered:
            if is_ancestor(repo, change.commit, commit):
                out.append((change, at))
                break
    return out


def resolve_branch(repo: Path, branch: str) -> str:
    """The commit `branch` points at (a local branch, else origin's)."""
    from app.errors import GitError
    from app.project.git import resolve

    try:
        return resolve(repo, branch)
    except GitError:  # CI checkouts often have only origin/<branch>
        return resolve(repo, f"origin/{branch}")
