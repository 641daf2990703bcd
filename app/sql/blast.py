"""Blast radius: for each changed or removed column (or whole dataset), the downstream models and
columns that read it, the contracts on those models, and the datasets' declared consumers; plus a
capped mermaid graph of it for the PR comment."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.project.model import Project
from app.sql.analysis import Analysis, ColumnRef

MAX_NODES = 60


@dataclass(frozen=True, slots=True)
class Reach:
    """What one changed column (or dataset, when `column` is None) reaches downstream."""

    dataset: str
    column: str | None
    direct: tuple[str, ...]  # models whose SQL mentions it
    models: tuple[str, ...]  # every affected model, DAG order
    columns: tuple[ColumnRef, ...]  # model columns whose values derive from it
    contracts: tuple[tuple[str, str], ...]  # (affected dataset, contract path)
    consumers: tuple[tuple[str, str], ...]  # (dataset, declared consumer), the changed dataset's first

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "column": self.column,
            "direct_readers": list(self.direct),
            "models": list(self.models),
            "columns": [{"model": m, "column": c} for m, c in self.columns],
            "contracts": [{"dataset": d, "path": p} for d, p in self.contracts],
            "consumers": [{"dataset": d, "consumer": c} for d, c in self.consumers],
        }


@dataclass(frozen=True, slots=True)
class GraphNode:
    id: str
    label: str
    kind: str  # changed | model | contract | consumer | more


@dataclass(frozen=True, slots=True)
class GraphEdge:
    source: str
    target: str
    dotted: bool = False


@dataclass(frozen=True, slots=True)
class BlastRadius:
    """The blast radius of a change set: one Reach per changed column, and the graph to draw."""

    impacts: tuple[Reach, ...]
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    hidden: int = 0  # nodes left out of the graph to keep it readable

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m for i in self.impacts for m in i.models))

    def to_json(self) -> dict[str, Any]:
        return {
            "impacts": [i.to_json() for i in self.impacts],
            "models": list(self.models),
            "graph": {
                "nodes": [{"id": n.id, "label": n.label, "kind": n.kind} for n in self.nodes],
                "edges": [{"from": e.source, "to": e.target, "dotted": e.dotted} for e in self.edges],
                "hidden": self.hidden,
            },
        }

    def render(self, fmt: str, compact: bool = False) -> str:
        """The report section: `text` or `markdown` (a table and the mermaid graph)."""
        from app.report.env import render

        template = "lineage/blast.md.j2" if fmt == "markdown" else "lineage/blast.txt.j2"
        mermaid = render_mermaid(self) if fmt == "markdown" else ""
        return render(template, blast=self, compact=compact, mermaid=mermaid)


def render_mermaid(blast: BlastRadius) -> str:
    """A ```mermaid flowchart``` block of the blast radius, changed nodes highlighted."""
    from app.report.env import render

    return render("lineage/mermaid.md.j2", nodes=blast.nodes, edges=blast.edges, hidden=blast.hidden)


def blast_radius(
    analysis: Analysis,
    project: Project,
    changed: Iterable[tuple[str, str | None]],
    base: Analysis | None = None,
) -> BlastRadius:
    """The blast radius of `changed` (dataset, column-or-None) pairs over the head `analysis`.

    Pass the `base` analysis too so columns that no longer exist in head still find their readers.
    """
    views = [analysis] if base is None else [analysis, base]
    order = {m: i for i, m in enumerate(analysis.order)}
    impacts = []
    for dataset, column in dict.fromkeys(changed):
        direct: set[str] = set()
        cols: set[ColumnRef] = set()
        for view in views:
            if column is None:
                direct |= view.children(dataset)
                for c in view.relation_columns(dataset) or ():
                    cols |= view.column_downstream(dataset, c.name)
            else:
                stored = view.stored_column(dataset, column)
                direct |= view.readers(dataset, stored)
                cols |= view.column_downstream(dataset, stored)
        models = set(direct) | {m for m, _ in cols}
        for m, col in cols:
            models |= analysis.readers(m, col)
        if column is not None:  # filtered, joined or grouped on: other rows, so all downstream of it
            changed_refs = [(dataset, view.stored_column(dataset, column)) for view in views]
            models |= _row_readers_downstream(views, [*changed_refs, *cols])
        if column is None:  # a whole dataset: every model downstream of it, whatever it reads
            for view in views:
                models |= view.downstream(dataset)
        models.discard(dataset)
        ranked = sorted(models, key=lambda m: (order.get(m, len(order)), m))
        contracts = [(m, hit[0].path) for m in ranked if (hit := project.contract_of(m)) is not None]
        consumers = [(d, c) for d in [dataset, *ranked] for c in project.consumers_of(d)]
        impacts.append(
            Reach(
                dataset=dataset,
                column=column,
                direct=tuple(sorted(direct - {dataset}, key=lambda m: (order.get(m, len(order)), m))),
                models=tuple(ranked),
                columns=tuple(sorted(cols, key=lambda r: (order.get(r[0], len(order)), r))),
                contracts=tuple(contracts),
                consumers=tuple(consumers),
            )
        )
    return _with_graph(tuple(impacts), analysis)


def _row_readers_downstream(views: list[Analysis], refs: list[ColumnRef]) -> set[str]:
    """Models whose rows an affected column decides (a filter, join, grouping on it) and every model
    downstream of them: all their columns may change, not only those computed from it."""
    found: set[str] = set()
    for view in views:
        for ref in refs:
            for name in view.readers(*ref):
                model = view.models.get(name)
                if model is not None and ref in model.row_reads and name not in found:
                    found |= {name} | view.downstream(name)
    return found


def project_graph(analysis: Analysis) -> BlastRadius:
    """The whole DAG as a graph (sources, then models in DAG order), capped like any blast radius."""
    ids = _Ids()
    names = [*sorted(analysis.sources), *analysis.order]
    nodes = [GraphNode(ids("model", n), n, "model") for n in names]
    kept = nodes[:MAX_NODES]
    node_of = {n.label: n.id for n in kept}
    edges = [
        GraphEdge(node_of[up], node_of[m])
        for m in analysis.order
        if m in node_of
        for up in analysis.models[m].reads_tables
        if up in node_of
    ]
    return BlastRadius((), tuple(kept), tuple(edges), len(nodes) - len(kept))


class _Ids:
    """Mermaid node ids: letters, digits and underscores only, unique per name."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], str] = {}

    def __call__(self, kind: str, name: str) -> str:
        key = (kind, name)
        if key not in self.ids:
            prefix = {"dataset": "d", "contract": "ct", "consumer": "cs"}.get(kind, "n")
            base = re.sub(r"\W", "_", f"{prefix}_{name}", flags=re.ASCII)
            self.ids[key] = f"{base}_{len(self.ids)}"
        return self.ids[key]


def _with_graph(impacts: tuple[Reach, ...], analysis: Analysis) -> BlastRadius:
    ids = _Ids()
    changed = {i.dataset for i in impacts}
    wanted: dict[str, GraphNode] = {}
    # one node per dataset: changed ones first (and highlighted even when also downstream of another)
    for name in [*(i.dataset for i in impacts), *(m for i in impacts for m in i.models)]:
        nid = ids("dataset", name)
        wanted.setdefault(nid, GraphNode(nid, name, "changed" if name in changed else "model"))
    for i in impacts:
        for _, path in i.contracts:
            wanted.setdefault(ids("contract", path), GraphNode(ids("contract", path), path, "contract"))
        for _, c in i.consumers:
            wanted.setdefault(ids("consumer", c), GraphNode(ids("consumer", c), c, "consumer"))
    kept = list(wanted.values())[:MAX_NODES]
    hidden = len(wanted) - len(kept)
    keep = {n.id for n in kept}
    node_of = {n.label: n.id for n in kept if n.kind in ("changed", "model")}
    edges: dict[tuple[str, str], GraphEdge] = {}
    for name, nid in node_of.items():
        model = analysis.models.get(name)
        for up in model.reads_tables if model else ():
            if up in node_of and node_of[up] != nid:
                edges.setdefault((node_of[up], nid), GraphEdge(node_of[up], nid))
    for i in impacts:
        for d, path in i.contracts:
            a, b = node_of.get(d), ids("contract", path)
            if a and b in keep:
                edges.setdefault((a, b), GraphEdge(a, b, dotted=True))
        for d, c in i.consumers:
            a, b = node_of.get(d), ids("consumer", c)
            if a and b in keep:
                edges.setdefault((a, b), GraphEdge(a, b))
    return BlastRadius(impacts, tuple(kept), tuple(edges.values()), hidden)
