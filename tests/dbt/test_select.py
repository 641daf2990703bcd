"""state:modified+ over manifests, with app/sql deciding which compiled SQL changes keep the output."""

from __future__ import annotations

import json

import pytest

from app.dbt.manifest import parse_manifest
from app.dbt.project import DbtProject, build_project
from app.dbt.select import state_modified
from app.project.dbt import load_dbt
from app.project.tree import MemoryTree
from app.sql.analyze import analyze
from app.sql.classify import classify_models
from tests.dbt.conftest import column, manifest_doc, model, rel


@pytest.fixture(scope="module")
def demo(demo_base: MemoryTree, demo_head: MemoryTree) -> tuple[DbtProject, DbtProject]:
    return load_dbt(demo_base), load_dbt(demo_head)


def _kinds(base: DbtProject, head: DbtProject) -> dict[str, str]:
    return {k: v.kind for k, v in classify_models(analyze(base.project), analyze(head.project)).items()}


def test_reordered_columns_and_comments_in_compiled_sql_are_equivalent(demo) -> None:  # type: ignore[no-untyped-def]
    base, head = demo
    changes = classify_models(analyze(base.project), analyze(head.project))
    assert changes["orders_daily"].kind == "equivalent"
    selection = state_modified(base, head, _kinds(base, head))
    assert "orders_daily" not in selection.modified


def test_renamed_model_is_recognised_through_the_manifest(demo) -> None:  # type: ignore[no-untyped-def]
    base, head = demo
    change = classify_models(analyze(base.project), analyze(head.project))["customer_revenue"]
    assert change.kind == "renamed" and change.renamed_from == "customer_payments"


def test_modified_plus_children_in_dag_order(demo) -> None:  # type: ignore[no-untyped-def]
    base, head = demo
    selection = state_modified(base, head, _kinds(base, head))
    assert selection.modified["stg_orders"] == ("sql changed",)
    assert selection.modified["fct_orders"] == ("sql changed", "contract changed")
    assert selection.modified["customer_revenue"] == ("sql renamed",)
    assert selection.selected[:2] == ("stg_orders", "fct_orders")
    assert set(selection.selected) == {
        "stg_orders",
        "fct_orders",
        "customer_revenue",
        "dim_customers",
        "dim_customers_v1",
        "orders_daily",
    }
    assert "stg_payments" not in selection.selected


def test_without_sql_classification_any_compiled_text_change_counts(demo) -> None:  # type: ignore[no-untyped-def]
    base, head = demo
    assert state_modified(base, head).modified["orders_daily"] == ("sql changed",)


def _dbt(*nodes: tuple[str, dict]) -> DbtProject:
    manifest = parse_manifest(json.dumps(manifest_doc(*nodes)), "m.json")
    return build_project(manifest, root="", label="t", read=lambda p: None)


def test_config_change_alone_selects_the_model_and_its_children() -> None:
    a_sql, b_sql = "select 1 as id", f"select id from {rel('a')}"
    base = _dbt(
        model("a", a_sql, materialized="view"), model("b", b_sql, depends=("a",)), model("c", "select 2 as x")
    )
    head = _dbt(
        model("a", a_sql, materialized="table"),
        model("b", b_sql, depends=("a",)),
        model("c", "select 2 as x"),
    )
    selection = state_modified(base, head)
    assert selection.modified == {"a": ("config changed: materialized",)}
    assert selection.selected == ("a", "b")


def test_contract_change_alone_selects_the_model() -> None:
    # dbt writes the contract's checksum; the two sides get different ones, as dbt would
    base_doc = manifest_doc(model("a", "select 1 as id", columns=[column("id", "int")], enforced=True))
    head_doc = manifest_doc(model("a", "select 1 as id", columns=[column("id", "bigint")], enforced=True))
    base_doc["nodes"]["model.shop.a"]["contract"]["checksum"] = "aaa"
    head_doc["nodes"]["model.shop.a"]["contract"]["checksum"] = "bbb"
    base = build_project(parse_manifest(json.dumps(base_doc), "m"), root="", label="b", read=lambda p: None)
    head = build_project(parse_manifest(json.dumps(head_doc), "m"), root="", label="h", read=lambda p: None)
    assert state_modified(base, head).modified == {"a": ("contract changed",)}


def test_python_model_code_change_selects_it_and_its_sql_children() -> None:
    def py(code: str) -> tuple[str, dict]:
        uid, node = model("scores", code, columns=[column("id", "bigint")], compiled=False)
        node["language"] = "python"
        return uid, node

    child = model("b", f"select id from {rel('scores')}", depends=("scores",))
    base, head = (
        _dbt(py("def model(dbt, s): return 1"), child),
        _dbt(py("def model(dbt, s): return 2"), child),
    )
    selection = state_modified(base, head, {"b": "unchanged"})
    assert selection.modified == {"scores": ("code changed",)}
    assert selection.selected == ("scores", "b")


def test_changed_seed_data_selects_the_models_reading_it() -> None:
    def seed(checksum: str) -> tuple[str, dict]:
        return "seed.shop.countries", {
            "resource_type": "seed",
            "unique_id": "seed.shop.countries",
            "name": "countries",
            "original_file_path": "seeds/countries.csv",
            "database": "warehouse",
            "schema": "analytics",
            "alias": "countries",
            "relation_name": rel("countries"),
            "columns": {},
            "checksum": {"name": "sha256", "checksum": checksum},
        }

    reader = model("geo", f"select * from {rel('countries')}")
    reader[1]["depends_on"]["nodes"] = ["seed.shop.countries"]
    other = model("other", "select 1 as x")
    base, head = _dbt(seed("aaa"), reader, other), _dbt(seed("bbb"), reader, other)
    selection = state_modified(base, head, {"geo": "unchanged", "other": "unchanged"})
    assert selection.modified == {"geo": ("reads seed countries, whose data changed",)}
    assert selection.selected == ("geo",)
    assert state_modified(base, base, {"geo": "unchanged", "other": "unchanged"}).modified == {}


def _incremental(
    compiled: str, raw: str = "{{ config(materialized='incremental') }} ..."
) -> tuple[str, dict]:
    uid, node = model("inc", compiled, materialized="incremental", depends=("events",))
    node["raw_code"] = raw
    node["depends_on"]["macros"] = ["macro.shop.cents"]
    return uid, node


def _with_macro(doc: dict, sql: str) -> dict:
    doc["macros"] = {"macro.shop.cents": {"macro_sql": sql, "depends_on": {"macros": []}}}
    return doc


def _pair(base: dict, head: dict) -> tuple[DbtProject, DbtProject]:
    def build(doc: dict, label: str) -> DbtProject:
        return build_project(parse_manifest(json.dumps(doc), "m"), root="", label=label, read=lambda p: None)

    return build(base, "b"), build(head, "h")


# the anti-join form of an incremental filter: it cannot be left out, so head reads `inc__this`
_FULL = f"select e.id from {rel('events')} e"
_BRANCH = f"select e.id from {rel('events')} e left join {rel('inc')} t on t.id = e.id where t.id is null"
_EVENTS = model("events", "select 1 as id")


def test_same_raw_code_compiled_with_the_incremental_branch_is_not_modified() -> None:
    base, head = _pair(
        _with_macro(manifest_doc(_EVENTS, _incremental(_FULL)), "x"),
        _with_macro(manifest_doc(_EVENTS, _incremental(_BRANCH)), "x"),
    )
    assert "inc__this" in head.project.config.sources
    kinds = _kinds(base, head)
    assert kinds["inc"] == "changed"  # the compiled SQL differs ...
    assert "inc" not in state_modified(base, head, kinds).modified  # ... but dbt's state does not


def test_raw_code_or_a_called_macro_changed_is_modified() -> None:
    raw_changed = _pair(
        manifest_doc(_EVENTS, _incremental(_FULL)),
        manifest_doc(_EVENTS, _incremental(_FULL + " where e.id > 0", "v2")),
    )
    assert state_modified(*raw_changed, _kinds(*raw_changed)).modified["inc"] == ("sql changed",)
    macro_changed = _pair(
        _with_macro(manifest_doc(_EVENTS, _incremental(_FULL)), "x"),
        _with_macro(manifest_doc(_EVENTS, _incremental(_FULL + " where e.id > 1")), "y"),
    )
    why = state_modified(*macro_changed, _kinds(*macro_changed)).modified["inc"]
    assert why == ("sql changed: macro cents changed",)


def test_same_raw_code_and_macros_but_other_compiled_sql_says_why() -> None:
    pair = _pair(
        manifest_doc(_EVENTS, _incremental(_FULL)),
        manifest_doc(_EVENTS, _incremental(_FULL + " where e.id > 1")),
    )
    why = state_modified(*pair, _kinds(*pair)).modified["inc"]
    assert why == ("compiled sql changed (its raw code did not: a var, env var or target differs)",)


def test_a_called_macro_changed_is_not_same_code_for_the_verdicts_either() -> None:
    """The verdicts leave out incremental models dbt would not call modified; a macro edit makes them
    modified in both places (state_modified and same_code_incremental follow one rule)."""
    from app.project.properties import same_code_incremental

    same = _pair(
        _with_macro(manifest_doc(_EVENTS, _incremental(_FULL)), "x"),
        _with_macro(manifest_doc(_EVENTS, _incremental(_FULL)), "x"),
    )
    assert "inc" in same_code_incremental(same)
    macro_changed = _pair(
        _with_macro(manifest_doc(_EVENTS, _incremental(_FULL)), "x"),
        _with_macro(manifest_doc(_EVENTS, _incremental(_FULL + " where e.id > 1")), "y"),
    )
    assert "inc" in state_modified(*macro_changed, _kinds(*macro_changed)).modified
    assert "inc" not in same_code_incremental(macro_changed)
