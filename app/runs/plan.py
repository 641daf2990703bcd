"""What a safe run will do, decided before anything is written: per-model input fingerprints, the
double-apply refusal, versioned table names, and which old versions retention drops. [pure]"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the ledger module does I/O; this one only reads its values
    from app.runs.ledger import VersionRecord


@dataclass(frozen=True, slots=True)
class Graph:
    """The models to build, in build order, with what each reads (from `app.sql.analyze`)."""

    order: tuple[str, ...]
    sql: Mapping[str, str]
    upstream: Mapping[str, tuple[str, ...]]  # models read
    sources: Mapping[str, tuple[str, ...]]  # sources read

    def downstream_closure(self, name: str) -> set[str]:
        out: set[str] = set()
        for m in self.order:
            if name in self.upstream[m] or out & set(self.upstream[m]):
                out.add(m)
        return out


@dataclass(frozen=True, slots=True)
class Refusal:
    """A dataset whose exact input was already applied by an earlier run. `live`: the version the
    environment shows now, when a restore moved it off the earlier run's (re-applying the same input
    would publish again what was restored away)."""

    dataset: str
    earlier: VersionRecord
    live: int | None = None


def fingerprints(graph: Graph, source_versions: Mapping[str, str], window: str) -> dict[str, str]:
    """Each model's input fingerprint: its SQL, the run window, and (recursively) the fingerprints of
    what it reads, down to the sources' data versions. Same fingerprint = same data would be applied."""
    out: dict[str, str] = {}
    for m in graph.order:
        h = hashlib.sha256()
        h.update(graph.sql[m].strip().encode())
        h.update(b"\0window\0" + window.encode())
        for up in sorted(graph.upstream[m]):
            h.update(b"\0model\0" + up.encode() + b"=" + out[up].encode())
        for src in sorted(graph.sources[m]):
            h.update(b"\0source\0" + src.encode() + b"=" + source_versions[src].encode())
        out[m] = "sha256:" + h.hexdigest()
    return out


def relation(schema: str, dataset: str, version: int) -> str:
    """The versioned physical table of one run of a dataset."""
    return f"{schema}.{dataset}__v{version}"


def to_drop(versions: Sequence[VersionRecord], live: int | None, keep: int) -> list[int]:
    """Versions whose tables retention removes: published ones beyond the newest `keep` (never the live
    one) and failed audits except the newest (kept so a person can inspect what failed)."""
    alive = [v for v in versions if not v.dropped]
    published = sorted((v.version for v in alive if v.status == "published"), reverse=True)
    failed = sorted((v.version for v in alive if v.status == "audit-failed"), reverse=True)
    drop = [v for v in published[keep:] if v != live] + failed[1:]
    return sorted(drop)
