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
    order, stuck = _order({m: set(u) for m, u in upstream.items()})
    if stuck:
        raise _cycle_error(find_cycle(stuck), paths)
    return order


def order_without_cycles(
    upstream: Mapping[str, Iterable[str]], paths: Mapping[str, str]
) -> tuple[tuple[str, ...], dict[str, ProjectError]]:
    """Like topological_order, for a lenient analysis: the models on a cycle are left out of the order,
    each with the error naming its cycle from itself; the models reading them are still ordered."""
    ups = {m: set(u) for m, u in upstream.items()}
    cyclic: dict[str, ProjectError] = {}
    while True:
        order, stuck = _order(ups)
        if not stuck:
            return order, cyclic
        cycle = find_cycle(stuck)
        for i, m in enumerate(cycle):
            cyclic[m] = _cycle_error(cycle[i:] + cycle[:i], paths)
        ups = {m: us.difference(cycle) for m, us in ups.items() if m not in cyclic}


def _order(ups: Mapping[str, set[str]]) -> tuple[tuple[str, ...], dict[str, set[str]]]:
    """(the models that can be ordered, in order; the rest: each still waiting on an upstream)."""
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
    return tuple(order), {m: us for m, us in ups.items() if waiting[m] > 0}


def _cycle_error(cycle: list[str], paths: Mapping[str, str]) -> ProjectError:
    files = ", ".join(dict.fromkeys(paths[m] for m in cycle))
    return ProjectError(
        f"the models form a cycle: {' -> '.join(cycle + [cycle[0]])} ({files})",
        Location(paths[cycle[0]], 1),
        "a model cannot (indirectly) read itself; break the cycle by reading a source instead",
    )


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
