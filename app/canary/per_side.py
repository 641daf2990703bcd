"""Sources whose data is the pull request's change: a dbt seed whose CSV was edited. Every other source
is loaded once, from the head revision, and both sides read it; for these the base versions of their
readers read the base revision's rows (`base_source.<name>`), so the diff shows what the edited rows do
downstream instead of nothing. The loading is sources.py's; this decides which, and what it says.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from app.canary.inputs import parse_spec
from app.canary.models import ModelRun
from app.canary.sampling import SourceCoverage
from app.canary.sources import BASE_SCHEMA
from app.findings import Finding
from app.project.model import Project
from app.project.tree import Tree, join

if TYPE_CHECKING:
    from app.canary.runner import Sandbox


@dataclass(frozen=True, slots=True)
class BaseVersions:
    """`loaded`: the sources the base side reads from `base_source`; `unbuilt`: those whose base file
    could not be loaded (their base readers are skipped); a note per source, a finding per bad file."""

    loaded: tuple[str, ...] = ()
    unbuilt: Mapping[tuple[str, str], ModelRun] = field(default_factory=lambda: MappingProxyType({}))
    notes: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()


def load_base_versions(
    db: Sandbox,
    base: Project,
    base_tree: Tree,
    inputs: Path,
    head_coverage: Sequence[SourceCoverage],
    names: Collection[str],
    seed: int,
    read: Mapping[str, tuple[str, ...]] | None = None,
) -> BaseVersions:
    """Load the base revision's rows of the sources `names` whose head file loaded (one that did not
    keeps its head finding, and its readers stay not checked on both sides)."""
    from app.canary.config_check import base_unloadable_findings, unloadable_location
    from app.canary.sources import load_base_versions as load

    head = {c.name: c for c in head_coverage}
    wanted = [n for n in sorted(names) if n in base.config.sources and n in head and head[n].note is None]
    if not wanted:
        return BaseVersions()
    coverage, refused = load(db, base, base_tree, inputs, wanted, seed, read)
    unbuilt: dict[tuple[str, str], ModelRun] = {}
    notes: list[str] = []
    for c in coverage:
        path = join(base.root, parse_spec(c.path or "").path)
        if c.name in refused:
            loc = base.config_doc.location(("sources", c.name, "path"))
            unbuilt[(BASE_SCHEMA, c.name)] = ModelRun(
                c.name, BASE_SCHEMA, loc.path, "refused", refused[c.name], loc
            )
        elif c.missing:  # not in the base revision after all: both sides read the head's rows
            wanted.remove(c.name)
        elif c.unloadable is not None:
            loc = unloadable_location(base, c)
            unbuilt[(BASE_SCHEMA, c.name)] = ModelRun(
                c.name, BASE_SCHEMA, loc.path, "unloadable", c.unloadable, loc
            )
        else:
            notes.append(
                f"{c.name}: its data changed in this pull request ({path}); the base versions of its "
                f"readers read the base revision's {c.rows_sampled:,} row(s), the head versions the "
                f"head's {head[c.name].rows_sampled:,}"
            )
    findings = base_unloadable_findings(base, coverage)
    return BaseVersions(tuple(wanted), MappingProxyType(unbuilt), tuple(notes), tuple(findings))


def warehouse_note(names: Collection[str], engine: str) -> tuple[str, ...]:
    """What a warehouse canary cannot show: both sides read the seed's table as the warehouse has it."""
    if not names:
        return ()
    return (
        f"{', '.join(sorted(names))}: data changed in this pull request, but on {engine} the base and "
        "head versions of the readers both read the warehouse's table, so the diff does not show it",
    )
