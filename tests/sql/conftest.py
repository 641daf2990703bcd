"""Projects for SQL analysis tests, built in memory from model SQL, source columns and contracts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pytest

from app.project.load import load_project
from app.project.model import Project
from app.project.tree import MemoryTree


def contract_yaml(
    dataset: str, columns: Sequence[tuple[str, str | None, str | None]], version: str = "1.0.0"
) -> str:
    """A minimal valid ODCS v3 contract for `dataset`: columns as (name, logicalType, physicalType)."""
    props = []
    for name, logical, physical in columns:
        props.append(f"      - name: {name}")
        if logical:
            props.append(f"        logicalType: {logical}")
        if physical:
            props.append(f"        physicalType: '{physical}'")
    return (
        f"apiVersion: v3.1.0\nkind: DataContract\nid: {dataset}\nversion: {version}\nstatus: active\n"
        f"schema:\n  - name: {dataset}\n    properties:\n" + "\n".join(props) + "\n"
    )


def build_project(
    models: Mapping[str, str],
    sources: Mapping[str, Mapping[str, str]] | None = None,
    contracts: Mapping[str, str] | None = None,
    dialect: str = "duckdb",
    extra: str = "",
    label: str = "memory",
) -> Project:
    """A Project from `models` (name or path -> SQL), `sources` (name -> column types), `contracts`
    (file name -> ODCS YAML). Bare model names go under models/."""
    lines = ["name: test", f"dialect: {dialect}", "sources:" if sources else "sources: {}"]
    for name, cols in (sources or {}).items():
        inner = ", ".join(f"{c}: '{t}'" for c, t in cols.items())
        lines.append(f"  {name}:" + (f"\n    columns: {{{inner}}}" if cols else " {}"))
    files: dict[str, str | bytes] = {"datacanary.yml": "\n".join(lines) + "\n" + extra}
    for name, sql in models.items():
        files[name if "/" in name else f"models/{name}.sql"] = sql
    for name, text in (contracts or {}).items():
        files[f"contracts/{name}"] = text
    return load_project(MemoryTree(files, label=label))


@pytest.fixture
def project() -> Callable[..., Project]:
    return build_project


SHOP_SOURCES = {
    "raw_orders": {
        "id": "bigint",
        "customer_id": "bigint",
        "amount": "decimal(10, 2)",
        "status": "varchar",
        "ordered_at": "timestamp",
    },
    "raw_customers": {"id": "bigint", "name": "varchar", "country": "varchar", "signed_up": "date"},
    "raw_payments": {"id": "bigint", "order_id": "bigint", "method": "varchar"},
}
