"""Geometry of the dashboard's SVG drawings (templates/dashboard/_*.svg.j2 draw them): the burn-rate
chart of an SLI, the row-count chart and column sparklines of a dataset's data health, and the lineage
graph of a gate result. [pure] Server-side SVG: no script to load,
nothing to build, and a page prints and screenshots as it shows."""

from __future__ import annotations

import datetime as dt
import math
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


def _time_x(times: Sequence[dt.datetime], left: float, width: float) -> list[float]:
    """x of each time on an axis from `left`, `width` wide (one point: the middle)."""
    if len(times) == 1:
        return [round(left + width / 2, 1)]
    start = times[0].timestamp()
    span = max(times[-1].timestamp() - start, 1.0)
    return [round(left + (t.timestamp() - start) / span * width, 1) for t in times]


def burn_chart(points: Sequence[Point], page_factor: float) -> BurnChart | None:
    """The burn rate at each evaluation; None when no evaluation was measured."""
    measured = [p for p in points if p.burn is not None]
    if not measured:
        return None
    top = max(2.0, max(p.burn or 0.0 for p in measured)) * 1.1
    inner_w, inner_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - 2 * PAD_Y
    xs = _time_x([p.at for p in measured], PAD_LEFT, inner_w)

    def y(burn: float) -> float:
        return round(PAD_Y + inner_h - burn / top * inner_h, 1)

    dots = tuple(
        (x, y(p.burn or 0.0), p.status, f"{p.at:%Y-%m-%d %H:%M} burn {p.burn:.2f} ({p.status})")
        for x, p in zip(xs, measured, strict=True)
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


def _ticks(top: float, bottom: float = 0.0) -> list[float]:
    """Round values from `bottom` up to `top`, at most about six of them."""
    span = top - bottom
    if span <= 0:
        return [bottom]
    magnitude = 10 ** math.floor(math.log10(span))
    step = next(m * magnitude for m in (0.1, 0.2, 0.5, 1, 2, 5, 10) if span / (m * magnitude) <= 5)
    first = math.ceil(bottom / step) * step
    return [first + i * step for i in range(int((top - first) / step + 1e-9) + 1)]


@dataclass(frozen=True, slots=True)
class VolumeChart:
    """A dataset's row count at each stored profile, dots by the volume check's status then, and the
    band the last volume check expected (None while it is still learning)."""

    width: int
    height: int
    line: str
    dots: tuple[tuple[float, float, str, str], ...]  # x, y, status, tooltip
    band: tuple[float, float] | None  # y of the expected band's top and bottom
    ticks: tuple[tuple[float, str], ...]
    first: str
    last: str


def volume_chart(history: Sequence[dict[str, Any]], expected: Sequence[float] | None) -> VolumeChart | None:
    """From `app.slo.health_store.history` (oldest first) and the last volume check's expected
    [low, high] row counts; None when no profile is stored."""
    if not history:
        return None
    times = [dt.datetime.fromisoformat(h["at"]) for h in history]
    rows = [int(h["rows"]) for h in history]
    band = [float(v) for v in expected] if expected and len(expected) == 2 else None
    values: list[float] = [float(n) for n in rows] + (band or [])
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or max(high * 0.1, 1.0)
    bottom, top = max(low - pad, 0.0), high + pad
    inner_w, inner_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - 2 * PAD_Y

    def y(v: float) -> float:
        return round(PAD_Y + inner_h - (v - bottom) / (top - bottom) * inner_h, 1)

    xs = _time_x(times, PAD_LEFT, inner_w)
    dots = []
    for x, at, n, h in zip(xs, times, rows, history, strict=True):
        status = str((h.get("statuses") or {}).get("health.volume") or "unknown")
        dots.append((x, y(n), status, f"{at:%Y-%m-%d %H:%M} {n:,} rows ({status})"))
    return VolumeChart(
        WIDTH,
        HEIGHT,
        " ".join(f"{x},{dy}" for x, dy, _, _ in dots),
        tuple(dots),
        (y(band[1]), y(band[0])) if band else None,
        tuple((y(v), _compact(v)) for v in _ticks(top, bottom)),
        f"{times[0]:%Y-%m-%d %H:%M}",
        f"{times[-1]:%Y-%m-%d %H:%M}",
    )


def _compact(v: float) -> str:
    """12, 3.4k, 1.2M: an axis label."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:g}"


@dataclass(frozen=True, slots=True)
class Sparkline:
    width: int
    height: int
    line: str  # SVG polyline points; one value is a flat line
    last: float
    low: float
    high: float


def sparkline(values: Sequence[float | None], width: int = 120, height: int = 26) -> Sparkline | None:
    """A small line of one column statistic over the stored profiles (gaps left out); None without
    values."""
    known = [(i, float(v)) for i, v in enumerate(values) if v is not None and math.isfinite(float(v))]
    if not known:
        return None
    low, high = min(v for _, v in known), max(v for _, v in known)
    span = high - low or 1.0
    last = max(len(values) - 1, 1)
    points = [
        (round(2 + i / last * (width - 4), 1), round(height - 3 - (v - low) / span * (height - 6), 1))
        for i, v in known
    ]
    if len(points) == 1:
        points = [(2.0, points[0][1]), (float(width - 2), points[0][1])]
    return Sparkline(width, height, " ".join(f"{x},{y}" for x, y in points), known[-1][1], low, high)


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
