"""The DAG: every model after what it reads, deterministic, and cycles named by a real cycle."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import ProjectError
from app.sql.dag import closure, topological_order


@st.composite
def dags(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 25))
    names = [f"m{i}" for i in range(n)]
    # edges only from later to earlier models: acyclic by construction
    return {
        names[i]: set(draw(st.lists(st.sampled_from(names[:i]), max_size=4))) if i else set()
        for i in range(n)
    }


@settings(max_examples=60, deadline=None)
@given(dags())
def test_order_puts_every_model_after_what_it_reads(graph):  # type: ignore[no-untyped-def]
    order = topological_order(graph, {m: f"models/{m}.sql" for m in graph})
    position = {m: i for i, m in enumerate(order)}
    assert sorted(order) == sorted(graph)
    assert all(position[u] < position[m] for m, ups in graph.items() for u in ups)
    assert order == topological_order(
        dict(reversed(list(graph.items()))), {m: m for m in graph}
    )  # deterministic


@settings(max_examples=60, deadline=None)
@given(dags(), st.data())
def test_a_back_edge_is_reported_as_a_cycle_that_exists(graph, data):  # type: ignore[no-untyped-def]
    reachable = {m: closure([m], graph) for m in graph}
    candidates = [(m, u) for m in graph for u in reachable[m]]
    if not candidates:
        return
    reader, read = data.draw(st.sampled_from(candidates))  # reader already reads `read` (maybe indirectly)
    graph[read].add(reader)  # ... so `read` reading `reader` closes a cycle
    with pytest.raises(ProjectError) as info:
        topological_order(graph, {m: f"models/{m}.sql" for m in graph})
    path = info.value.message.split(": ", 1)[1].split(" (", 1)[0].split(" -> ")
    assert path[0] == path[-1]
    assert all(
        b in graph[a] for a, b in zip(path, path[1:], strict=False)
    )  # each step is a real "reads" edge
