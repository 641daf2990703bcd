"""Output changes of models without a contract, base SQL vs head SQL: a model removed or renamed, an
output column removed, added, renamed (same expression, new alias) or retyped, columns reordered.

Contracted models are covered by the contract diff and by drift; this is what their uncontracted
neighbours do to the models and dashboards that read them. Model classification (equivalent changes,
canary selection) lives in `app.sql.classify` and is re-exported here.
"""

from __future__ import annotations

from app.contracts.rules import Change, ChangeKind
from app.project.model import Project
from app.sql.analysis import Analysis, ModelAnalysis, OutputColumn
from app.sql.classify import (
    ModelChange,
    change_renames,
    changed_models,
    classify_models,
    selected_for_canary,
)
from app.sql.renames import Renames, match_column_renames
from app.types import Location

__all__ = [
    "ModelChange",
    "change_renames",
    "changed_models",
    "classify_models",
    "output_changes",
    "selected_for_canary",
]

K = ChangeKind


def output_changes(
    base: Analysis | None, head: Analysis, base_project: Project | None, head_project: Project
) -> list[Change]:
    """Changes to the outputs of uncontracted models (source="sql"), removals and renames first."""
    if base is None:
        return []
    kinds = classify_models(base, head)
    renames = change_renames(base, head)
    out: list[Change] = []
    for name, change in kinds.items():
        if change.kind == "removed" and not _contracted(base_project, name):
            m = base.models[name]
            out.append(
                Change.of(
                    K.MODEL_REMOVED,
                    name,
                    f"model {name} was removed; {_readers(base, name)}",
                    location=Location(m.path, 1),
                    base_location=Location(m.path, 1),
                    old=name,
                    source="sql",
                )
            )
        elif change.kind == "renamed" and change.renamed_from and not _contracted(head_project, name):
            old, new = base.models[change.renamed_from], head.models[name]
            out.append(
                Change.of(
                    K.DATASET_RENAMED,
                    name,
                    f"model {old.name} renamed to {name} ({old.path} -> {new.path}); "
                    f"readers of {old.name} fail",
                    location=Location(new.path, 1),
                    base_location=Location(old.path, 1),
                    old=old.name,
                    new=name,
                    source="sql",
                )
            )
            out.extend(column_changes(old, new, renames))
        elif change.kind in ("changed", "equivalent") and not _contracted(head_project, name):
            out.extend(column_changes(base.models[name], head.models[name], renames))
    return out


def _contracted(project: Project | None, name: str) -> bool:
    return project is not None and project.contract_of(name) is not None


def _readers(analysis: Analysis, name: str) -> str:
    readers = sorted(analysis.children(name))
    if not readers:
        return "no model read it"
    return f"read by {', '.join(readers[:5])}" + (f" and {len(readers) - 5} more" if len(readers) > 5 else "")


def column_changes(base: ModelAnalysis, head: ModelAnalysis, renames: Renames | None = None) -> list[Change]:
    """Output column changes of one model (matched by name, then renames by expression or lineage,
    with the change's upstream `renames` followed)."""
    old = {c.name: c for c in base.columns}
    new = {c.name: c for c in head.columns}
    removed = [n for n in old if n not in new]
    added = [n for n in new if n not in old]
    renamed = match_column_renames(base, head, removed, added, renames)
    change = _Changes(head)
    for a, b in renamed.items():
        change(K.COLUMN_RENAMED, f"column {a} of {head.name} renamed to {b}", new[b], old[a], a, b)
    for n in removed:
        if n not in renamed:
            change(
                K.MODEL_OUTPUT_COLUMN_REMOVED, f"column {n} removed from {head.name}", None, old[n], n, None
            )
    for n in added:
        if n not in renamed.values():
            change(K.MODEL_OUTPUT_COLUMN_ADDED, f"column {n} added to {head.name}", new[n], None, None, n)
    for n in old.keys() & new.keys():
        a_t, b_t = old[n].type, new[n].type
        if a_t and b_t and a_t != b_t:
            message = f"column {n} of {head.name}: type {a_t} -> {b_t}"
            change(K.MODEL_OUTPUT_TYPE_CHANGED, message, new[n], old[n], a_t, b_t)
    kept_old = [n for n in old if n in new]
    kept_new = [n for n in new if n in old]
    if kept_old != kept_new:
        message = f"output columns of {head.name} reordered (same data; matters to positional readers)"
        change(K.COLUMN_REORDERED, message, None, None, kept_old, kept_new)
    return sorted(change.found, key=lambda c: (list(ChangeKind).index(c.kind), c.column or ""))


class _Changes:
    """Collects column changes of one head model, located at the column (else the SELECT)."""

    def __init__(self, head: ModelAnalysis) -> None:
        self.head = head
        self.found: list[Change] = []

    def __call__(
        self,
        kind: ChangeKind,
        message: str,
        col: OutputColumn | None,
        base_col: OutputColumn | None,
        old: object,
        new: object,
    ) -> None:
        either = col or base_col
        self.found.append(
            Change.of(
                kind,
                self.head.name,
                message,
                column=either.name if either else None,
                location=col.location if col else Location(self.head.path, self.head.select_line),
                base_location=base_col.location if base_col else None,
                old=old,
                new=new,
                source="sql",
            )
        )
