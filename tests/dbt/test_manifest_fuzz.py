"""Whatever a broken manifest holds, datacanary answers with a DatacanaryError, never a traceback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.dbt.manifest import parse_manifest
from app.dbt.project import build_project
from app.errors import DatacanaryError
from tests.dbt.conftest import column, manifest_doc, model
from tests.support.trees import paths

_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


def _doc() -> dict[str, Any]:
    test = {
        "resource_type": "test",
        "unique_id": "test.shop.nn",
        "name": "nn",
        "attached_node": "model.shop.b",
        "column_name": "id",
        "config": {"severity": "warn"},
        "test_metadata": {"name": "not_null", "namespace": None, "kwargs": {"column_name": "id"}},
        "depends_on": {"nodes": ["model.shop.b"]},
    }
    doc = manifest_doc(
        model("a", "select 1 as id"),
        model(
            "b",
            'select id from "warehouse"."analytics"."a"',
            depends=("a",),
            enforced=True,
            columns=[column("id", "int", "not_null")],
        ),
        ("test.shop.nn", test),
        exposures={
            "exposure.shop.e": {"name": "e", "type": "dashboard", "depends_on": {"nodes": ["model.shop.b"]}}
        },
    )
    return doc


_ALL_PATHS = [p for p in paths(_doc()) if p]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_ALL_PATHS), _values)
def test_any_value_anywhere_loads_or_fails_with_a_datacanary_error(path: tuple[Any, ...], value: Any) -> None:
    doc = _doc()
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    try:
        manifest = parse_manifest(json.dumps(doc), "target/manifest.json")
        build_project(manifest, root="", label="t", read=lambda p: None)
    except DatacanaryError as exc:
        assert exc.message


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_order_of_nodes_in_the_manifest_does_not_matter(rnd: Any) -> None:
    from tests.dbt.conftest import DEMO

    doc = json.loads((DEMO / "target" / "manifest.json").read_text())
    shuffled = dict(doc)
    for section in ("nodes", "sources", "exposures"):
        items = list(doc[section].items())
        rnd.shuffle(items)
        shuffled[section] = dict(items)

    def load(d: dict[str, Any]) -> Any:
        return build_project(
            parse_manifest(json.dumps(d), "m.json"), root="", label="t", read=lambda p: None
        ).project

    a, b = load(doc), load(shuffled)
    assert dict(a.models) == dict(b.models)
    assert a.contracts == b.contracts
    assert a.config == b.config


@pytest.mark.parametrize("group", [[], ["finance"], {"name": "x"}, 3, True])
def test_a_group_that_is_not_a_name_is_no_owner_not_a_crash(group: Any) -> None:
    """Found by tests/fuzz: `config: {group: []}` made parse_manifest raise TypeError (unhashable list)."""
    doc = _doc()
    doc["nodes"]["model.shop.b"].setdefault("config", {})["group"] = group
    manifest = parse_manifest(json.dumps(doc), "target/manifest.json")
    assert manifest.models["model.shop.b"].owner is None


@pytest.mark.parametrize("values", [None, "placed", 3])
def test_accepted_values_without_a_list_is_not_a_crash(values: Any) -> None:
    """Found by tests/fuzz: `accepted_values` with `values: null` raised TypeError building the contract."""
    doc = _doc()
    test = doc["nodes"]["test.shop.nn"]
    test["test_metadata"] = {"name": "accepted_values", "namespace": None, "kwargs": {"values": values}}
    try:
        build_project(parse_manifest(json.dumps(doc), "m.json"), root="", label="t", read=lambda p: None)
    except DatacanaryError as exc:
        assert exc.message
