"""Culprit search: the most recent promoted change that touched the breached dataset or anything
upstream of it in the lineage, since the last good evaluation, with the evidence. [pure]"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MergedChange:
    """A pull request as it landed on the default branch (a merge or squash commit)."""

    commit: str  # the merge (or squash) commit on the default branch
    parent: str  # the default branch before it (first parent)
    merged_at: dt.datetime
    title: str
    files: tuple[str, ...]
    number: int | None = None  # the pull request, when the commit message names it
    branch: str | None = None
    body: str = ""

    @property
    def label(self) -> str:
        return f"#{self.number}" if self.number is not None else self.commit[:7]


@dataclass(frozen=True, slots=True)
class Lineage:
    """What the culprit search needs from the lineage: models' files, what each reads, contracts' files."""

    upstream: Mapping[str, tuple[str, ...]]  # model -> models and sources it reads
    files: Mapping[str, tuple[str, ...]]  # dataset -> files that define it (model SQL, contract)
    shared: tuple[str, ...] = ()  # files that affect every dataset (datacanary.yml)

    def path_to(self, start: str, target: str) -> tuple[str, ...] | None:
        """The lineage path `start -> ... -> target` (start upstream of target), or None."""
        frontier: list[tuple[str, ...]] = [(target,)]
        seen = {target}
        while frontier:
            nxt: list[tuple[str, ...]] = []
            for path in frontier:
                if path[0] == start:
                    return path
                for up in sorted(self.upstream.get(path[0], ())):
                    if up not in seen:
                        seen.add(up)
                        nxt.append((up, *path))
            frontier = nxt
        return None


@dataclass(frozen=True, slots=True)
class Culprit:
    change: MergedChange
    promoted_at: dt.datetime
    dataset: str  # the breached dataset it reaches
    touched: tuple[str, ...]  # the datasets it changed, upstream of (or equal to) `dataset`
    files: tuple[str, ...]  # the files of the change that define those datasets
    path: tuple[str, ...]  # lineage path from the touched dataset to the breached one
    considered: int  # changes promoted in the search window

    def to_json(self) -> dict[str, Any]:
        c = self.change
        return {
            "pull_request": c.number,
            "commit": c.commit,
            "title": c.title,
            "merged_at": c.merged_at.isoformat(),
            "promoted_at": self.promoted_at.isoformat(),
            "dataset": self.dataset,
            "touched": list(self.touched),
            "files": list(self.files),
            "lineage_path": list(self.path),
            "considered": self.considered,
        }


def find(
    breached: Sequence[str],
    changes: Sequence[tuple[MergedChange, dt.datetime]],
    lineage: Lineage,
    since: dt.datetime | None,
    until: dt.datetime,
) -> Culprit | None:
    """The newest change promoted in (`since`, `until`] whose files define a breached dataset or one of
    its upstreams. `changes` pairs each change with when it was promoted to the environment."""
    window = [(c, at) for c, at in changes if (since is None or at > since) and at <= until]
    window.sort(key=lambda pair: (pair[1], pair[0].merged_at), reverse=True)
    for change, promoted_at in window:
        for dataset in breached:
            hit = _touches(change, dataset, lineage)
            if hit is not None:
                touched, files, path = hit
                return Culprit(change, promoted_at, dataset, touched, files, path, len(window))
    return None


def _touches(
    change: MergedChange, dataset: str, lineage: Lineage
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None:
    changed = set(change.files)
    best: tuple[str, ...] | None = None
    touched: list[str] = []
    files: list[str] = []
    for name, defining in sorted(lineage.files.items()):
        hit = changed & set(defining)
        if not hit:
            continue
        path = lineage.path_to(name, dataset)
        if path is None:
            continue
        touched.append(name)
        files.extend(sorted(hit))
        if best is None or len(path) > len(best):
            best = path  # the farthest upstream change explains the most of the path
    shared = sorted(changed & set(lineage.shared))
    if best is None and shared:
        return (), tuple(shared), (dataset,)
    if best is None:
        return None
    return tuple(touched), tuple(dict.fromkeys(files + shared)), best
