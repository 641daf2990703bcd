"""Findings about datacanary.yml itself that only the canary can see: a declared sample file missing from the
revision, and `canary.tolerance` / `canary.intent` / `canary.keys` naming a model or column that does not
exist. Each is reported at its datacanary.yml line instead of silently doing nothing. And a sample file
(a dbt seed) that is there but cannot be loaded, at the file (and the bad row's line): its readers are
not checked, the rest of the canary still runs. [pure]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from app.canary.sampling import SourceCoverage
from app.errors import did_you_mean
from app.findings import Finding
from app.project.model import Project
from app.types import Location, Severity

if TYPE_CHECKING:
    from app.sql.analysis import Analysis

_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")


def config_findings(
    project: Project,
    analysis: Analysis,
    sources: Iterable[SourceCoverage],
    outputs: Mapping[str, Iterable[str]] = MappingProxyType({}),
) -> list[Finding]:
    """Missing sample files (error) and unknown names in canary.tolerance/intent/keys (warning).
    `outputs` adds the columns the run actually saw per model, for models the analysis cannot list."""
    columns: dict[str, set[str]] = {n: {c.name for c in m.columns} for n, m in analysis.models.items()}
    for name in analysis.broken:  # it exists, with columns unknown: its own finding says why
        columns.setdefault(name, set())
    for name, cols in outputs.items():
        columns.setdefault(name, set()).update(cols)
    sources = tuple(sources)
    return [
        *_missing_sources(project, sources),
        *_unloadable_sources(project, analysis, sources),
        *_unknown_names(project, columns),
    ]


def _missing_sources(project: Project, sources: Iterable[SourceCoverage]) -> Iterator[Finding]:
    for s in sources:
        if s.missing:
            yield Finding(
                gate="canary",
                rule="canary-source-missing",
                severity=Severity.ERROR,
                message=f"source {s.name}: sample file {s.path} is not in the revision; the canary ran on "
                "an empty table, so its row counts and diffs say nothing about this source",
                dataset=s.name,
                location=project.config_doc.location(("sources", s.name, "path")),
                hint="fix the `path:` (relative to the project directory) or commit the sample file",
            )


def base_unloadable_findings(base: Project, sources: Iterable[SourceCoverage]) -> list[Finding]:
    """The base revision's sample files (of a dbt seed the pull request edited) that cannot be loaded:
    warnings, as the base revision's file is not this change's fault (the change may be its fix)."""
    return list(_unloadable_sources(base, None, sources))


def _unloadable_sources(
    project: Project, analysis: Analysis | None, sources: Iterable[SourceCoverage]
) -> Iterator[Finding]:
    """Head files (`analysis`: the head's, to name the readers) are errors, base files warnings."""
    for s in sources:
        why = s.unloadable
        if why is None:
            continue
        loc = unloadable_location(project, s)
        if analysis is None:
            severity = Severity.WARNING
            message = (
                f"source {s.name}: the base revision's sample file {s.path} cannot be loaded ({why}); "
                "the base versions of its readers are not built, so their data is not compared"
            )
            hint = "nothing to do when this pull request fixes the file: the head revision's rows loaded"
        else:
            down = analysis.downstream(s.name)
            readers = [m for m in analysis.order if m in down]
            shown = ", ".join(readers[:5]) + (f" and {len(readers) - 5} more" if len(readers) > 5 else "")
            who = f"its readers ({shown}) are" if readers else "its readers are"
            row = f"the row on line {loc.line}" if loc.line else "the row that does not fit"
            severity = Severity.ERROR
            message = (
                f"source {s.name}: sample file {s.path} cannot be loaded ({why}); {who} not checked "
                "by the canary (their SQL and contracts still are)"
            )
            hint = (
                f"fix {row} (`duckdb -c \"from '{s.path}'\"` shows it), or declare the column's type "
                "(a dbt seed's `column_types`, `sources.<name>.columns` in datacanary.yml)"
            )
        yield Finding(
            gate="canary",
            rule="canary-source-invalid",
            severity=severity,
            message=message,
            dataset=s.name,
            location=loc,
            hint=hint,
        )


def unloadable_location(project: Project, s: SourceCoverage) -> Location:
    """The sample file of a source that cannot be loaded, at the bad row's line when DuckDB names it."""
    from app.canary.inputs import parse_spec
    from app.project.tree import join

    line = _CSV_LINE.search(s.unloadable or "")
    return Location(join(project.root, parse_spec(s.path or "").path), int(line[1]) if line else None)


def _unknown_names(project: Project, columns: Mapping[str, set[str]]) -> Iterator[Finding]:
    cfg = project.config.canary
    every_column = set().union(*columns.values()) if columns else set()

    def problem(entry: str, bare_column_ok: bool) -> tuple[str, str] | None:
        """What is wrong with a `model`, `model.*`, `model.column` (or bare `column`) entry, and a suggestion."""
        model, dot, column = entry.rpartition(".")
        if not dot:
            if entry in columns or (bare_column_ok and (entry in every_column or not columns)):
                return None
            what = "model or column" if bare_column_ok else "model"
            return f"no {what} named {entry!r}", did_you_mean(entry, [*columns, *every_column])
        if model not in columns:
            return f"no model named {model!r}", did_you_mean(model, columns)
        known = columns[model]
        if column == "*" or not known or column in known:
            return None
        return f"model {model} has no column {column!r}", did_you_mean(column, known)

    entries: list[tuple[tuple[str | int, ...], str, tuple[str, str] | None]] = []
    entries += [(("canary", "tolerance", k), "tolerance", problem(k, True)) for k in cfg.tolerance]
    entries += [(("canary", "intent", i), "intent", problem(e, True)) for i, e in enumerate(cfg.intent)]
    for model, key in cfg.keys.items():
        if ("canary", "keys", model) not in project.config_doc.lines:
            continue  # a key the project derived itself (dbt's unique + not_null tests): nobody wrote it
        entries.append((("canary", "keys", model), "keys", problem(model, False)))
        if model in columns:
            for i, k in enumerate(key):
                entries.append((("canary", "keys", model, i), "keys", problem(f"{model}.{k}", False)))
    for path, section, found in entries:
        if found is not None:
            message, suggestion = found
            yield Finding(
                gate="canary",
                rule="canary-unknown-name",
                severity=Severity.WARNING,
                message=f"canary.{section}: {message} in the head revision; the entry has no effect",
                location=project.config_doc.location(path),
                hint=f"{suggestion}fix or remove the entry",
            )


def missing_sample_files(project: Project, exists: Callable[[str], bool]) -> list[Finding]:
    """Declared sources whose sample file is not in the revision, without running anything: `check`
    says so even when no model changed and the canary is skipped."""
    from app.canary.inputs import parse_spec
    from app.project.tree import join

    missing = [
        SourceCoverage(name, spec.path, None, 1.0, None, 0, 0, "", True)
        for name, spec in sorted(project.config.sources.items())
        if spec.path is not None and not exists(join(project.root, parse_spec(spec.path, spec.format).path))
    ]
    return list(_missing_sources(project, missing))
