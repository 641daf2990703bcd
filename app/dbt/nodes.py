"""What datacanary keeps of a dbt manifest: frozen values, one per node kind (app.dbt.manifest reads them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Constraint:
    """A dbt constraint, column- or model-level: not_null, unique, primary_key, foreign_key, check, custom."""

    type: str
    name: str | None = None
    expression: str | None = None
    columns: tuple[str, ...] = ()  # model-level constraints only
    to: str | None = None  # foreign_key target relation
    to_columns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DbtColumn:
    name: str
    data_type: str | None = None
    description: str = ""
    meta: tuple[tuple[str, Any], ...] = ()
    constraints: tuple[Constraint, ...] = ()


@dataclass(frozen=True, slots=True)
class Relation:
    """Where a node lives in the warehouse; `rendered` is dbt's `relation_name` as compiled SQL spells it."""

    database: str | None
    schema: str | None
    identifier: str
    rendered: str | None


@dataclass(frozen=True, slots=True)
class DbtModel:
    """A model (or snapshot) node. `version` is set for versioned models."""

    unique_id: str
    name: str
    package: str
    resource_type: str
    path: str  # original_file_path, relative to the dbt project
    patch_path: str | None  # the schema yml that documents it, relative to the dbt project
    relation: Relation
    materialized: str
    compiled_code: str | None
    raw_code: str
    contract_enforced: bool
    contract_checksum: str | None
    columns: tuple[DbtColumn, ...]
    constraints: tuple[Constraint, ...]
    depends_on: tuple[str, ...]
    version: str | None = None
    latest_version: str | None = None
    description: str = ""
    config: tuple[tuple[str, Any], ...] = ()  # the model's config, for state:modified's config check
    language: str = "sql"  # python models have no SQL: datacanary reads them as sources
    owner: str | None = None  # the model's group owner (name or email), else `meta.owner`
    owners: tuple[str, ...] = ()  # GitHub handles from `meta.owners` (or the group owner's `github`)
    deprecation_date: str | None = None  # dbt model governance: after it, removing the model is fine
    file_sha256: str | None = None  # dbt's checksum of the model file (stripped text)
    macros: tuple[str, ...] = ()  # depends_on.macros: the macros its Jinja calls

    @property
    def base_id(self) -> str:
        """The unique id without the `.v<N>` suffix: the same for every version of a model."""
        return (
            self.unique_id.removesuffix(f".v{self.version}") if self.version is not None else self.unique_id
        )

    @property
    def is_latest(self) -> bool:
        return self.version is None or self.latest_version is None or self.version == self.latest_version


@dataclass(frozen=True, slots=True)
class DbtSource:
    unique_id: str
    source_name: str
    name: str
    relation: Relation
    path: str
    columns: tuple[DbtColumn, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class DbtSeed:
    unique_id: str
    name: str
    path: str  # the CSV, relative to the dbt project
    patch_path: str | None
    relation: Relation
    columns: tuple[DbtColumn, ...]
    column_types: tuple[tuple[str, str], ...] = ()
    delimiter: str = ","
    file_sha256: str | None = None  # dbt's checksum of the CSV (None for big seeds: dbt hashes the path)


@dataclass(frozen=True, slots=True)
class DbtTest:
    """A generic data test (not_null, unique, accepted_values, relationships, or a package's test)."""

    unique_id: str
    test_name: str
    namespace: str | None
    attached_node: str | None
    column_name: str | None
    kwargs: tuple[tuple[str, Any], ...]
    severity: str  # "error" | "warning"
    compiled_code: str | None
    depends_on: tuple[str, ...]
    where: str | None = None  # config.where: the test looks at these rows only
    error_if: str = "!= 0"  # config.error_if: the failing-row count that fails the test

    def kwarg(self, name: str, default: Any = None) -> Any:
        return dict(self.kwargs).get(name, default)


@dataclass(frozen=True, slots=True)
class DbtExposure:
    unique_id: str
    name: str
    label: str | None
    type: str
    owner: str | None
    url: str | None
    depends_on: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    path: str
    schema_version: int
    dbt_version: str | None
    project_name: str
    adapter_type: str | None
    models: Mapping[str, DbtModel]
    seeds: Mapping[str, DbtSeed]
    sources: Mapping[str, DbtSource]
    tests: tuple[DbtTest, ...]
    exposures: tuple[DbtExposure, ...]
    # macro unique_id -> (a digest of its macro_sql, the macros it calls): dbt's state:modified.macros
    macros: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    def tests_by_node(self) -> dict[str, list[DbtTest]]:
        """The tests attached to each node (model unique_id -> its tests, in manifest order)."""
        out: dict[str, list[DbtTest]] = {}
        for t in self.tests:
            if t.attached_node:
                out.setdefault(t.attached_node, []).append(t)
        return out
