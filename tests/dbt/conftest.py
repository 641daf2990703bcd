"""The dbt demo fixture as trees: head is fixtures/dbt_demo as committed, base is head with
`base-changes/` laid over it (the same recipe regenerate.py uses to compile the base manifest)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.project.tree import MemoryTree

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "dbt_demo"
_SKIP = ("target/", "target-base/", "base-changes/")


def demo_files(revision: str) -> dict[str, str | bytes]:
    """The dbt_demo project files of `base` or `head`, with that revision's manifest at target/."""
    files: dict[str, str | bytes] = {
        p.relative_to(DEMO).as_posix(): p.read_bytes()
        for p in DEMO.rglob("*")
        if p.is_file() and not p.relative_to(DEMO).as_posix().startswith(_SKIP)
    }
    if revision == "base":
        overlay = DEMO / "base-changes"
        for p in overlay.rglob("*"):
            rel = p.relative_to(overlay).as_posix()
            if p.is_file() and rel != "REMOVED":
                files[rel] = p.read_bytes()
        for line in (overlay / "REMOVED").read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                del files[line.strip()]
    files["target/manifest.json"] = (
        DEMO / ("target-base" if revision == "base" else "target") / "manifest.json"
    ).read_bytes()
    return files


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _write(repo: Path, files: dict[str, str | bytes], under: str) -> None:
    for rel, content in files.items():
        path = repo / under / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


@pytest.fixture(scope="session")
def dbt_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository whose `transform/` holds the dbt demo: a base commit, then a head commit."""
    repo = tmp_path_factory.mktemp("dbt_repo")
    _git(repo, "init", "-q", "-b", "main")
    _write(repo, demo_files("base"), "transform")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "rm", "-q", "-r", "transform")
    _write(repo, demo_files("head"), "transform")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "head")
    return repo


@pytest.fixture(scope="session")
def demo_base() -> MemoryTree:
    return MemoryTree(demo_files("base"), label="base")


@pytest.fixture(scope="session")
def demo_head() -> MemoryTree:
    return MemoryTree(demo_files("head"), label="head")


# --- small manifests in dbt's v12 shape, for rules and errors -----------------------------------


def rel(name: str) -> str:
    return f'"warehouse"."analytics"."{name}"'


def column(name: str, data_type: str | None = None, *constraints: str, meta: dict | None = None) -> dict:
    return {
        "name": name,
        "data_type": data_type,
        "description": "",
        "meta": meta or {},
        "constraints": [
            {"type": c, "name": None, "expression": None, "to": None, "to_columns": []} for c in constraints
        ],
        "quote": None,
        "tags": [],
    }


def model(
    name: str,
    sql: str,
    *,
    columns: list[dict] | None = None,
    enforced: bool = False,
    materialized: str = "table",
    version: int | None = None,
    latest: int | None = None,
    depends: tuple[str, ...] = (),
    constraints: list[dict] | None = None,
    compiled: bool = True,
) -> tuple[str, dict]:
    uid = f"model.shop.{name}" + (f".v{version}" if version is not None else "")
    alias = f"{name}_v{version}" if version is not None else name
    node = {
        "resource_type": "model",
        "unique_id": uid,
        "name": name,
        "package_name": "shop",
        "original_file_path": f"models/{alias}.sql",
        "patch_path": "shop://models/schema.yml",
        "database": "warehouse",
        "schema": "analytics",
        "alias": alias,
        "relation_name": rel(alias),
        "raw_code": sql,
        "language": "sql",
        "config": {
            "enabled": True,
            "materialized": materialized,
            "contract": {"enforced": enforced},
            "tags": [],
        },
        "contract": {"enforced": enforced, "alias_types": True, "checksum": None},
        "columns": {c["name"]: c for c in columns or []},
        "constraints": constraints or [],
        "depends_on": {"macros": [], "nodes": [f"model.shop.{d}" for d in depends]},
        "version": version,
        "latest_version": latest,
        "description": "",
        "future_key_dbt_adds": {"ignored": True},
    }
    if compiled:
        node["compiled_code"] = sql
    return uid, node


def manifest_doc(*nodes: tuple[str, dict], adapter: str = "duckdb", schema: int = 12, **extra: dict) -> dict:
    return {
        "metadata": {
            "dbt_schema_version": f"https://schemas.getdbt.com/dbt/manifest/v{schema}.json",
            "dbt_version": "1.10.0",
            "project_name": "shop",
            "adapter_type": adapter,
        },
        "nodes": dict(nodes),
        "sources": extra.get("sources", {}),
        "exposures": extra.get("exposures", {}),
        "macros": {},
    }


# --- fixtures/dbt_jaffle: dbt-labs/jaffle_shop_duckdb with PR scenarios, manifests compiled by dbt --------

JAFFLE = Path(__file__).resolve().parents[2] / "fixtures" / "dbt_jaffle"


def jaffle_files(scenario: str, revision: str) -> dict[str, bytes]:
    """A scenario's base or head project (as regenerate.py lays it out to compile it)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("jaffle_regenerate", JAFFLE / "regenerate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    files: dict[str, bytes] = module.revision(scenario, revision)
    return files


def jaffle_repo(root: Path, scenario: str) -> Path:
    """A git repository whose `dbt/` holds the scenario's base commit, then its head commit."""
    _git(root, "init", "-q", "-b", "main")
    for revision in ("base", "head"):
        if (root / "dbt").exists():
            _git(root, "rm", "-q", "-r", "dbt")
        _write(root, dict(jaffle_files(scenario, revision)), "dbt")
        _git(root, "add", "-A")
        _git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", revision)
    return root


def jaffle_manifest(scenario: str, revision: str) -> Path:
    return (
        JAFFLE
        / "scenarios"
        / scenario
        / ("target-base" if revision == "base" else "target")
        / "manifest.json"
    )
