"""The model DAG: deterministic topological order, cycles as errors naming the path, closures."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

from app.errors import ProjectError
from app.types import Location


def topological_order(upstream: Mapping[str, Iterable[str]], paths: Mapping[str, str]) -> tuple[str, ...]:
    """Models ordered so every model comes after the models it reads (ties broken by name).

    `upstream` maps each model to the models it reads (sources excluded). A cycle raises ProjectError
    with the cycle's path and files.
    """
    ups = {m: set(u) for m, u in upstream.items()}
    downs: dict[str, set[str]] = {m: set() for m in ups}
    for m, us in ups.items():
        for u in us:
            downs[u].add(m)
    waiting = {m: len(us) for m, us in ups.items()}
    ready = [m for m, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        m = heapq.heappop(ready)
        order.append(m)
        for d in downs[m]:
            waiting[d] -= 1
            if waiting[d] == 0:
                heapq.heappush(ready, d)
    if len(order) < len(ups):
        cycle = find_cycle({m: us for m, us in ups.items() if waiting[m] > 0})
        files = ", ".join(dict.fromkeys(paths[m] for m in cycle))
        raise ProjectError(
            f"the models form a cycle: {' -> '.join(cycle + [cycle[0]])} ({files})",
            Location(paths[cycle[0]], 1),
            "a model cannot (indirectly) read itself; break the cycle by reading a source instead",
        )
    return tuple(order)


def find_cycle(graph: Mapping[str, set[str]]) -> list[str]:
    """One cycle in `graph` (edges model -> upstream), starting at its smallest name."""
    for start in sorted(graph):
        path: list[str] = []
        on_path: dict[str, int] = {}
        node: str | None = start
        # every remaining node has an unresolved upstream, so following the smallest one must loop
        while node is not None and node not in on_path:
            on_path[node] = len(path)
            path.append(node)
            nexts = sorted(u for u in graph.get(node, ()) if u in graph)
            node = nexts[0] if nexts else None
        if node is not None:
            cycle = path[on_path[node] :]
            pivot = cycle.index(min(cycle))
            return cycle[pivot:] + cycle[:pivot]
    raise AssertionError("no cycle found in a graph that could not be ordered")  # pragma: no cover


def closure(start: Iterable[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
    """Every node reachable from `start` along `edges` (excluding the start nodes themselves
    unless they are reachable again)."""
    seen: set[str] = set()
    stack = [n for s in start for n in edges.get(s, ())]
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(edges.get(n, ()))
    return seen
