"""dbt projects read from real git revisions: detection, the committed manifest, and `check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ProjectError
from app.project.dbt import load_dbt, load_manifest, load_manifest_file
from app.project.git import GitTree
from app.project.load import load_project
from tests.dbt.conftest import DEMO, demo_files


def test_dbt_project_yml_is_detected_and_the_committed_manifest_read(dbt_repo: Path) -> None:
    project = load_project(GitTree(dbt_repo, "HEAD"), "transform")
    assert project.kind == "dbt"
    assert project.models["fct_orders"].path == "transform/models/marts/fct_orders.sql"
    assert "customer_revenue" in project.models
    base = load_project(GitTree(dbt_repo, "HEAD~1"), "transform")
    assert "customer_payments" in base.models and "customer_revenue" not in base.models


def test_contract_lines_come_from_the_revision_s_own_yml(dbt_repo: Path) -> None:
    base = GitTree(dbt_repo, "HEAD~1")
    _, ds = load_project(base, "transform").contract_of("fct_orders")
    line = ds.column("discount_amount").location
    assert base.read_text(line.path).splitlines()[line.line - 1].strip() == "- name: discount_amount"


def test_manifest_file_on_disk_with_the_revision_tree(dbt_repo: Path) -> None:
    project = load_manifest_file(
        DEMO / "target-base" / "manifest.json", GitTree(dbt_repo, "HEAD~1"), "transform"
    )
    assert project.config.policy.widening == "breaking"  # datacanary.yml of that revision
    assert project.contract_of("fct_orders")[1].column("discount_amount").location.line is not None


def test_manifest_file_alone_still_loads() -> None:
    project = load_manifest_file(DEMO / "target" / "manifest.json")
    assert project.config.name == "shop" and project.config.dialect == "duckdb"
    assert project.contract_of("fct_orders")[1].location.line is None


def test_missing_manifest_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="cannot read the dbt manifest") as err:
        load_manifest_file(tmp_path / "target" / "manifest.json")
    assert "dbt compile" in err.value.hint


def test_manifest_moved_by_datacanary_yml(tmp_path: Path) -> None:
    from app.project.tree import MemoryTree

    files = demo_files("head")
    files["artifacts/manifest.json"] = files.pop("target/manifest.json")
    files["datacanary.yml"] = (
        files["datacanary.yml"].decode() + "\ndbt:\n  manifest: artifacts/manifest.json\n"
    )
    assert "fct_orders" in load_dbt(MemoryTree(files)).project.models


def test_manifest_compiled_from_other_files_than_the_revision_is_flagged(dbt_repo: Path) -> None:
    fresh = load_manifest(DEMO / "target" / "manifest.json", GitTree(dbt_repo, "HEAD"), "transform")
    assert not any("compiled from other versions" in n for n in fresh.notes)
    stale = load_manifest(DEMO / "target" / "manifest.json", GitTree(dbt_repo, "HEAD~1"), "transform")
    (note,) = [n for n in stale.notes if "compiled from other versions" in n]
    assert "transform/models/staging/stg_orders.sql" in note and "dbt compile" in note


def test_catalog_json_next_to_the_manifest_types_undeclared_source_columns(tmp_path: Path) -> None:
    import json

    doc = json.loads((DEMO / "target" / "manifest.json").read_text())
    doc["sources"]["source.shop.app.events"]["columns"] = {}  # the yml declares no columns
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    catalog = {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json"},
        "nodes": {},
        "sources": {
            "source.shop.app.events": {
                "unique_id": "source.shop.app.events",
                "columns": {
                    "OCCURRED_AT": {"type": "TIMESTAMP", "index": 4, "name": "occurred_at"},
                    "EVENT_ID": {"type": "INTEGER", "index": 1, "name": "event_id"},
                    "CUSTOMER_ID": {"type": "INTEGER", "index": 2, "name": "customer_id"},
                    "EVENT_TYPE": {"type": "VARCHAR", "index": 3, "name": "event_type"},
                },
            }
        },
    }
    assert load_manifest_file(tmp_path / "manifest.json").config.sources["events"].columns == {}
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    events = load_manifest_file(tmp_path / "manifest.json").config.sources["events"]
    assert list(events.columns.items()) == [
        ("event_id", "INTEGER"),
        ("customer_id", "INTEGER"),
        ("event_type", "VARCHAR"),
        ("occurred_at", "TIMESTAMP"),
    ]


def test_broken_catalog_json_is_named(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_bytes((DEMO / "target" / "manifest.json").read_bytes())
    (tmp_path / "catalog.json").write_text('{"nodes": {"x": {"columns": {"a": {}}}}}')
    with pytest.raises(ProjectError, match=r"nodes.x.columns.a.type: missing"):
        load_manifest_file(tmp_path / "manifest.json")


def test_datacanary_yml_can_declare_the_dbt_project_elsewhere() -> None:
    from app.project.load import load_project
    from app.project.tree import MemoryTree

    files = {f"transform/{k}": v for k, v in demo_files("head").items() if k != "datacanary.yml"}
    files["datacanary.yml"] = (
        "name: analytics\ndbt:\n  project_dir: transform\npolicy:\n  widening: breaking\n"
    )
    project = load_project(MemoryTree(files))
    assert project.kind == "dbt" and project.root == "transform" and project.config.name == "analytics"
    assert project.config.policy.widening == "breaking" and project.config_path == "datacanary.yml"
    assert project.models["fct_orders"].path == "transform/models/marts/fct_orders.sql"


def test_declared_project_dir_without_dbt_project_yml_is_a_config_error() -> None:
    from app.errors import ConfigError
    from app.project.load import load_project
    from app.project.tree import MemoryTree

    tree = MemoryTree({"datacanary.yml": "name: a\ndbt:\n  project_dir: nowhere\n"})
    with pytest.raises(ConfigError, match="has no dbt_project.yml") as err:
        load_project(tree)
    assert err.value.location.path == "datacanary.yml"
