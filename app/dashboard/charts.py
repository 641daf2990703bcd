"""Geometry of the dashboard's SVG drawings (templates/dashboard/_*.svg.j2 draw them): the burn-rate
chart of an SLI and the lineage graph of a gate result. [pure] Server-side SVG: no script to load,
nothing to build, and a page prints and screenshots as it shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.dashboard.reads import Point

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_Y = 640, 170, 44, 12, 18
NODE_W, NODE_H, COL_GAP, ROW_GAP = 190, 34, 70, 16


@dataclass(frozen=True, slots=True)
class BurnChart:
    width: int
    height: int
    line: str  # SVG polyline points
    dots: tuple[tuple[float, float, str, str], ...]  # x, y, status, tooltip
    rules: tuple[tuple[float, str], ...]  # y, label: burn rate 1 (budget spent over the period), page
    ticks: tuple[tuple[float, str], ...]  # y, label on the axis
    first: str
    last: str


def burn_chart(points: Sequence[Point], page_factor: float) -> BurnChart | None:
    """The burn rate at each evaluation; None when no evaluation was measured."""
    measured = [p for p in points if p.burn is not None]
    if not measured:
        return None
    start, end = measured[0].at.timestamp(), measured[-1].at.timestamp()
    span = max(end - start, 1.0)
    top = max(2.0, max(p.burn or 0.0 for p in measured)) * 1.1
    inner_w, inner_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - 2 * PAD_Y

    def x(p: Point) -> float:
        if len(measured) == 1:
            return PAD_LEFT + inner_w / 2
        return round(PAD_LEFT + (p.at.timestamp() - start) / span * inner_w, 1)

    def y(burn: float) -> float:
        return round(PAD_Y + inner_h - burn / top * inner_h, 1)

    dots = tuple(
        (x(p), y(p.burn or 0.0), p.status, f"{p.at:%Y-%m-%d %H:%M} burn {p.burn:.2f} ({p.status})")
        for p in measured
    )
    rules = [(y(1.0), "1× budget")]
    if page_factor <= top:
        rules.append((y(page_factor), f"{page_factor:g}× page"))
    ticks = tuple((y(v), f"{v:g}") for v in _ticks(top))
    return BurnChart(
        WIDTH,
        HEIGHT,
        " ".join(f"{dx},{dy}" for dx, dy, _, _ in dots),
        dots,
        tuple(rules),
        ticks,
        f"{measured[0].at:%Y-%m-%d %H:%M}",
        f"{measured[-1].at:%Y-%m-%d %H:%M}",
    )


def _ticks(top: float) -> list[float]:
    step = next(s for s in (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, float("inf")) if top / s <= 5)
    if step == float("inf"):
        return [0.0, top]
    return [i * step for i in range(int(top / step) + 1)]


@dataclass(frozen=True, slots=True)
class Graph:
    width: int
    height: int
    nodes: tuple[dict[str, Any], ...]  # id, label, kind, x, y, href (a model's diff page, or None)
    edges: tuple[dict[str, Any], ...]  # d (SVG path), dotted
    hidden: int


def lineage_graph(graph: dict[str, Any] | None, hrefs: dict[str, str]) -> Graph | None:
    """Left-to-right layers of the report's blast-radius graph (nodes, edges, hidden); each node in
    the column of its longest path from a source. `hrefs`: label -> link of nodes that have a page."""
    if not graph or not graph.get("nodes"):
        return None
    nodes = [n for n in graph["nodes"] if isinstance(n, dict) and "id" in n]
    ids = {n["id"] for n in nodes}
    edges = [e for e in graph.get("edges") or [] if e.get("from") in ids and e.get("to") in ids]
    depth = {n["id"]: 0 for n in nodes}
    for _ in range(len(nodes)):  # longest path by relaxation; a cycle stops after len(nodes) rounds
        changed = False
        for e in edges:
            if depth[e["to"]] < depth[e["from"]] + 1:
                depth[e["to"]] = depth[e["from"]] + 1
                changed = True
        if not changed:
            break
    columns: dict[int, list[dict[str, Any]]] = {}
    for n in nodes:
        columns.setdefault(depth[n["id"]], []).append(n)
    placed: dict[str, dict[str, Any]] = {}
    for col, members in sorted(columns.items()):
        for row, n in enumerate(members):
            placed[n["id"]] = {
                "id": n["id"],
                "label": str(n.get("label", n["id"])),
                "kind": str(n.get("kind", "model")),
                "x": 10 + col * (NODE_W + COL_GAP),
                "y": 10 + row * (NODE_H + ROW_GAP),
                "href": hrefs.get(str(n.get("label"))),
            }
    paths = []
    for e in edges:
        a, b = placed[e["from"]], placed[e["to"]]
        x1, y1 = a["x"] + NODE_W, a["y"] + NODE_H / 2
        x2, y2 = b["x"], b["y"] + NODE_H / 2
        if x2 <= x1:  # a back edge (cycle): go around below
            x2, y2 = b["x"] + NODE_W / 2, b["y"] + NODE_H
        mid = (x1 + x2) / 2
        paths.append({"d": f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}", "dotted": bool(e.get("dotted"))})
    width = 20 + (max(columns) + 1) * (NODE_W + COL_GAP) - COL_GAP
    height = 20 + max(len(m) for m in columns.values()) * (NODE_H + ROW_GAP) - ROW_GAP
    return Graph(width, height, tuple(placed.values()), tuple(paths), int(graph.get("hidden") or 0))
