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
