"""dbt's breaking-change rules for contracted models, through datacanary's contract gate."""

from __future__ import annotations

import datetime as dt
import json

from app.dbt.manifest import parse_manifest
from app.dbt.project import build_project
from app.dbt.rules import dbt_contract_findings
from app.findings import Finding
from app.project.dbt import load_dbt_project
from app.project.model import Project
from app.project.tree import MemoryTree
from tests.dbt.conftest import column, manifest_doc, model

TODAY = dt.date(2026, 1, 15)
SQL = "select 1 as id, 'x' as name"


def _project(
    *nodes: tuple[str, dict], yml: str | None = None, config: str | None = None, **extra: dict
) -> Project:
    manifest = parse_manifest(json.dumps(manifest_doc(*nodes, **extra)), "target/manifest.json")
    files = {k: v for k, v in {"models/schema.yml": yml, "datacanary.yml": config}.items() if v is not None}
    tree = MemoryTree(files)
    return build_project(
        manifest, root="", label="t", read=lambda p: tree.read_text(p) if tree.exists(p) else None
    ).project


def _contracted(*cols: dict, **kw) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    return model("orders", SQL, columns=list(cols), enforced=True, **kw)


def _findings(base: Project, head: Project) -> list[Finding]:
    return [f for f in dbt_contract_findings(base, head, today=TODAY) if f.rule != "version-changed"]


def _blocking(base: Project, head: Project) -> list[tuple[str, str | None]]:
    return [(f.rule, f.column) for f in _findings(base, head) if f.blocking]


def test_removed_column_is_breaking() -> None:
    base = _project(_contracted(column("id", "int"), column("name", "varchar")))
    head = _project(_contracted(column("id", "int")))
    assert _blocking(base, head) == [("column-removed", "name")]


def test_varchar_narrowed_is_breaking_although_dbt_strips_the_size() -> None:
    base = _project(_contracted(column("id", "int"), column("name", "varchar(10)")))
    head = _project(_contracted(column("id", "int"), column("name", "varchar(3)")))
    assert _blocking(base, head) == [("physical-type-narrowed", "name")]


def test_varchar_widened_is_compatible_unless_policy_breaks_widening_like_dbt() -> None:
    base = _project(_contracted(column("id", "int"), column("name", "varchar(3)")))
    head = _project(_contracted(column("id", "int"), column("name", "varchar(10)")))
    assert _blocking(base, head) == []
    strict = "policy:\n  widening: breaking\n"
    base = _project(_contracted(column("id", "int"), column("name", "varchar(3)")), config=strict)
    head = _project(_contracted(column("id", "int"), column("name", "varchar(10)")), config=strict)
    assert _blocking(base, head) == [("physical-type-widened", "name")]


def test_data_type_family_change_is_breaking() -> None:
    base = _project(_contracted(column("id", "int"), column("name", "varchar")))
    head = _project(_contracted(column("id", "int"), column("name", "date")))
    assert ("logical-type-changed", "name") in _blocking(base, head)


def test_removed_not_null_constraint_is_breaking() -> None:
    base = _project(_contracted(column("id", "int", "not_null")))
    head = _project(_contracted(column("id", "int")))
    assert _blocking(base, head) == [("required-relaxed", "id")]


def test_removed_model_level_primary_key_is_breaking() -> None:
    pk = [{"type": "primary_key", "columns": ["id"], "name": None, "expression": None}]
    base = _project(_contracted(column("id", "int"), constraints=pk))
    head = _project(_contracted(column("id", "int")))
    rules = {r for r, _ in _blocking(base, head)}
    assert rules & {"primary-key-changed", "unique-dropped", "required-relaxed"}


def test_new_model_version_accepts_the_break() -> None:
    base = _project(
        model("orders", SQL, columns=[column("id", "int"), column("name", "varchar")], enforced=True)
    )
    v1 = model(
        "orders",
        SQL,
        columns=[column("id", "int"), column("name", "varchar")],
        enforced=True,
        version=1,
        latest=2,
    )
    v2 = model("orders", "select 1 as id", columns=[column("id", "int")], enforced=True, version=2, latest=2)
    head = _project(v1, v2)
    found = _findings(base, head)
    removed = next(f for f in found if f.rule == "column-removed")
    assert removed.dataset == "orders" and not removed.blocking
    assert removed.accepted is not None and removed.accepted.by == "major-version"
    assert not any(f.blocking for f in found)
    assert any(f.rule == "dataset-added" and f.dataset == "orders_v1" for f in found)


def test_breaking_edit_of_an_existing_version_in_place_is_not_accepted() -> None:
    def v1(*cols: dict) -> tuple[str, dict]:
        return model("orders", SQL, columns=list(cols), enforced=True, version=1, latest=2)

    v2 = model("orders", SQL, columns=[column("id", "int")], enforced=True, version=2, latest=2)
    base = _project(v1(column("id", "int"), column("name", "varchar")), v2)
    head = _project(v1(column("id", "int")), v2)
    assert _blocking(base, head) == [("column-removed", "name")]
    assert _findings(base, head)[0].dataset == "orders_v1"


def test_contract_no_longer_enforced_is_breaking_and_says_so() -> None:
    base = _project(_contracted(column("id", "int")))
    head = _project(model("orders", SQL, columns=[column("id", "int")], enforced=False))
    found = [f for f in _findings(base, head) if f.blocking]
    assert len(found) == 1 and found[0].dataset == "orders"
    assert "no longer enforced" in found[0].message


def test_table_with_constraints_becoming_a_view_is_breaking() -> None:
    base = _project(_contracted(column("id", "int", "not_null"), materialized="table"))
    head = _project(_contracted(column("id", "int", "not_null"), materialized="view"))
    found = [f for f in _findings(base, head) if f.blocking]
    assert [(f.rule, f.old, f.new) for f in found] == [("materialization-changed", "table", "view")]


def test_table_without_constraints_becoming_a_view_is_not_breaking() -> None:
    base = _project(_contracted(column("id", "int"), materialized="table"))
    head = _project(_contracted(column("id", "int"), materialized="view"))
    assert _blocking(base, head) == []


def test_accepted_value_added_is_breaking_where_dbt_sees_nothing() -> None:
    def proj(*values: str) -> Project:
        uid, node = _contracted(column("id", "int"), column("status", "varchar"))
        test = {
            "resource_type": "test",
            "unique_id": f"test.shop.av{len(values)}",
            "name": "av",
            "attached_node": uid,
            "column_name": "status",
            "config": {"severity": "ERROR"},
            "test_metadata": {
                "name": "accepted_values",
                "namespace": None,
                "kwargs": {"column_name": "status", "values": list(values), "model": "x"},
            },
            "depends_on": {"nodes": [uid]},
        }
        return _project((uid, node), (test["unique_id"], test))

    assert _blocking(proj("a", "b"), proj("a", "b", "c")) == [("enum-value-added", "status")]
    assert _blocking(proj("a", "b", "c"), proj("a", "b")) == []


def test_unit_meta_change_is_breaking() -> None:
    base = _project(_contracted(column("id", "int"), column("amount", "decimal(12,2)", meta={"unit": "EUR"})))
    head = _project(_contracted(column("id", "int"), column("amount", "decimal(12,2)", meta={"unit": "USD"})))
    assert _blocking(base, head) == [("semantics-changed", "amount")]


def test_breaking_findings_name_the_exposures_that_read_the_dataset() -> None:
    exposure = {
        "exposure.shop.board": {
            "name": "board",
            "label": "Board",
            "type": "dashboard",
            "owner": {"email": "cfo@example.com"},
            "depends_on": {"nodes": ["model.shop.orders"]},
        }
    }
    base = _project(_contracted(column("id", "int"), column("name", "varchar")), exposures=exposure)
    head = _project(_contracted(column("id", "int")), exposures=exposure)
    (finding,) = [f for f in _findings(base, head) if f.blocking]
    assert finding.data["exposures"] == ['dashboard "Board" (cfo@example.com)']


def test_demo_manifests_report_dbt_and_datacanary_breaks_and_accept_the_new_version(
    demo_base: MemoryTree, demo_head: MemoryTree
) -> None:
    found = dbt_contract_findings(load_dbt_project(demo_base), load_dbt_project(demo_head), today=TODAY)
    blocking = sorted((f.dataset, f.rule, f.column) for f in found if f.blocking)
    assert blocking == [
        ("fct_orders", "column-removed", "discount_amount"),
        ("fct_orders", "enum-value-added", "status"),
        ("fct_orders", "physical-type-narrowed", "status"),
        ("fct_orders", "required-relaxed", "customer_id"),
    ]
    accepted = {(f.dataset, f.rule) for f in found if f.accepted is not None}
    assert ("dim_customers", "column-removed") in accepted
    removed = next(f for f in found if f.column == "discount_amount")
    assert removed.location.path == "models/marts/schema.yml"
    # annotated in head at its model (its own line in base is another line there), base line kept
    schema = "models/marts/schema.yml"
    assert demo_head.read_text(schema).splitlines()[removed.location.line - 1].strip() == "- name: fct_orders"
    assert demo_base.read_text(schema).splitlines()[removed.data["base_line"] - 1].strip() == (
        "- name: discount_amount"
    )


def test_hint_says_to_add_a_model_version_not_to_bump_a_contract_version() -> None:
    base = _project(_contracted(column("id", "int"), column("name", "varchar")))
    head = _project(_contracted(column("id", "int")))
    (finding,) = [f for f in _findings(base, head) if f.blocking]
    assert "new model version" in finding.hint and "latest_version" in finding.hint
    assert "version: 2.0.0" not in finding.hint


def test_changing_a_contracted_model_s_alias_renames_its_table_for_readers() -> None:
    base = _project(_contracted(column("id", "int")))
    uid, node = _contracted(column("id", "int"))
    node["alias"], node["relation_name"] = "orders_v2025", '"warehouse"."analytics"."orders_v2025"'
    head = _project((uid, node))
    (finding,) = [f for f in _findings(base, head) if f.blocking]
    assert finding.rule == "dataset-renamed" and "orders_v2025" in finding.message


def test_renamed_contracted_model_is_one_rename_with_old_and_new_name() -> None:
    cols = [column("id", "int", "not_null"), column("name", "varchar")]
    base = _project(model("orders", SQL, columns=cols, enforced=True))
    head = _project(model("fct_orders", SQL, columns=cols, enforced=True))
    found = _findings(base, head)
    assert [(f.rule, f.old, f.new) for f in found if f.blocking] == [
        ("dataset-renamed", "orders", "fct_orders")
    ]
    assert not any(f.rule in ("dataset-removed", "dataset-added") for f in found)


def test_two_vanished_models_with_one_shape_are_not_guessed_as_renames() -> None:
    cols = [column("id", "int")]
    base = _project(
        model("a", SQL, columns=cols, enforced=True), model("b", SQL, columns=cols, enforced=True)
    )
    head = _project(model("c", SQL, columns=cols, enforced=True))
    assert {f.rule for f in _findings(base, head)} == {"dataset-removed", "dataset-added"}


def test_model_level_not_null_and_unique_constraints_count_per_column() -> None:
    def constraints(*kinds: tuple[str, list[str]]) -> list[dict]:
        return [{"type": k, "columns": cols, "name": None, "expression": None} for k, cols in kinds]

    both = constraints(("not_null", ["id", "name"]), ("unique", ["id"]), ("unique", ["id", "name"]))
    base = _project(_contracted(column("id", "int"), column("name", "varchar"), constraints=both))
    _, ds = base.contract_of("orders")
    assert ds.column("id").required and ds.column("id").unique and ds.column("name").required
    assert any(q.key == "constraint:unique:id,name" for q in ds.quality)
    head = _project(_contracted(column("id", "int"), column("name", "varchar"), constraints=both[1:]))
    assert sorted(_blocking(base, head)) == [("required-relaxed", "id"), ("required-relaxed", "name")]


def test_removing_a_model_version_after_its_deprecation_date_is_accepted() -> None:
    def v1(deprecation: str | None) -> tuple[str, dict]:
        uid, node = model("orders", SQL, columns=[column("id", "int")], enforced=True, version=1, latest=2)
        node["deprecation_date"] = deprecation
        return uid, node

    v2 = model("orders", SQL, columns=[column("id", "int")], enforced=True, version=2, latest=2)
    head = _project(v2)
    (gone,) = [
        f for f in _findings(_project(v1("2026-01-01 00:00:00+00:00"), v2), head) if f.dataset == "orders_v1"
    ]
    assert gone.rule == "dataset-removed" and gone.accepted is not None and gone.accepted.by == "deprecation"
    (early,) = [f for f in _findings(_project(v1("2026-06-30"), v2), head) if f.dataset == "orders_v1"]
    assert early.blocking
    (undated,) = [f for f in _findings(_project(v1(None), v2), head) if f.dataset == "orders_v1"]
    assert undated.blocking
