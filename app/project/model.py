"""A loaded data project: configuration, model SQL files and parsed contracts of one revision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from app.contracts.model import Contract, Dataset
from app.project.config import ProjectConfig
from app.project.yamldoc import YamlDoc
from app.types import Location


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One model: a SELECT in `models/**/<name>.sql`; the file name is the dataset name."""

    name: str
    path: str  # repository-relative
    sql: str
    # dbt extras (None for plain projects)
    materialized: str | None = None
    version: str | None = None

    @property
    def location(self) -> Location:
        return Location(self.path, 1)


@dataclass(frozen=True, slots=True)
class Project:
    """Everything datacanary knows about one revision of a data project, before any SQL analysis."""

    root: str  # project directory, repository-relative ("" for the repository root)
    label: str  # which revision this is, for messages
    config: ProjectConfig
    config_doc: YamlDoc
    models: Mapping[str, ModelFile]
    contracts: tuple[Contract, ...]
    kind: str = "datacanary"  # or "dbt"

    @property
    def config_path(self) -> str:
        return self.config_doc.path

    def contract_of(self, dataset: str) -> tuple[Contract, Dataset] | None:
        """The contract and schema object that describe `dataset`, if any."""
        for c in self.contracts:
            d = c.dataset(dataset)
            if d is not None:
                return c, d
        return None

    def consumers_of(self, dataset: str) -> tuple[str, ...]:
        found = list(self.config.consumers.get(dataset, []))
        hit = self.contract_of(dataset)
        if hit:
            found.extend(c for c in hit[1].consumers if c not in found)
        return tuple(found)


def freeze_models(models: dict[str, ModelFile]) -> Mapping[str, ModelFile]:
    return MappingProxyType(dict(sorted(models.items())))
