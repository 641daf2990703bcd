"""Environments of the promotion path (dev -> staging -> prod) and their effective configuration. [pure]

The effective configuration of an environment is the project configuration with the environment's
`overrides` deep-merged over it and `parameters` set to the project defaults updated by the
environment's values. Parity (app.promotion.parity) compares two of these.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from app.errors import ConfigError, UsageError
from app.project.config import ProjectConfig, validation_error
from app.project.yamldoc import YamlDoc
from app.types import Location

# parameters datacanary itself reads; any other declared key is for the user's own tooling
DATA = "data"  # a DuckDB file with the environment's source tables (relative to the project directory)
SAMPLE_FRACTION = "sample_fraction"  # share of the environment's rows a promotion canary reads
SOURCE_SCHEMA = "source_schema"  # schema of the source tables inside `data` (default: main)
SCHEMA = "schema"  # where models are published in the environment (app.runs)
ENGINE = "engine"  # duckdb | postgres | spark: where the environment's data lives (default: `engine:`)


@dataclass(frozen=True, slots=True)
class Environment:
    """One environment: its place in the promotion order and its effective parameters."""

    name: str
    index: int
    previous: str | None  # the environment a digest must have passed before this one
    parameters: Mapping[str, Any]

    @property
    def data(self) -> str | None:
        value = self.parameters.get(DATA)
        return None if value is None else str(value)

    @property
    def sample_fraction(self) -> float:
        value = self.parameters.get(SAMPLE_FRACTION)
        return 1.0 if value is None else float(value)

    def engine(self, default: str = "duckdb") -> str:
        """The environment's engine: its `engine` parameter, else the project's `engine:` (`default`)."""
        return str(self.parameters.get(ENGINE) or default)

    @property
    def source_schema(self) -> str:
        return str(self.parameters.get(SOURCE_SCHEMA) or "main")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "index": self.index,
            "previous": self.previous,
            "parameters": dict(self.parameters),
        }


def environments(config: ProjectConfig) -> tuple[Environment, ...]:
    """All environments in promotion order (the order of `environments:` in datacanary.yml)."""
    names = list(config.environments)
    return tuple(
        Environment(
            name=name,
            index=i,
            previous=names[i - 1] if i else None,
            parameters=MappingProxyType({**config.parameters, **config.environments[name].parameters}),
        )
        for i, name in enumerate(names)
    )


def environment(
    config: ProjectConfig, name: str, config_path: str = "datacanary.yml", doc: YamlDoc | None = None
) -> Environment:
    """The environment called `name`; an unknown name is a usage error listing the declared ones, at the
    `environments:` line of datacanary.yml when `doc` (the file as read) is given."""
    for env in environments(config):
        if env.name == name:
            return env
    declared = list(config.environments)
    if not declared:
        raise ConfigError(
            f"no environments are declared, so there is no {name!r}",
            Location(config_path),
            "declare them in datacanary.yml under `environments:` (for example dev, staging, prod), "
            "in promotion order",
        )
    close = difflib.get_close_matches(name, declared, n=1)
    raise UsageError(
        f"unknown environment {name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
        doc.location(("environments",)) if doc is not None else Location(config_path),
        f"declared environments, in promotion order: {', '.join(declared)}",
    )


def effective_config(
    config: ProjectConfig, name: str, config_path: str = "datacanary.yml", doc: YamlDoc | None = None
) -> dict[str, Any]:
    """The environment's configuration as plain data, normalized by validation (so `5` equals `5.0`)."""
    return effective_project_config(config, name, config_path, doc).model_dump(
        mode="json", exclude={"environments"}
    )


def effective_project_config(
    config: ProjectConfig, name: str, config_path: str = "datacanary.yml", doc: YamlDoc | None = None
) -> ProjectConfig:
    """The environment's configuration: project config + the environment's overrides + effective parameters.

    Overrides are validated like datacanary.yml itself, so a typo in one is a ConfigError."""
    env = environment(config, name, config_path, doc)
    base = config.model_dump(mode="json")
    merged = _deep_merge(base, config.environments[name].overrides)
    merged["parameters"] = _plain(dict(env.parameters))
    merged["environments"] = base["environments"]
    try:
        return ProjectConfig.model_validate(merged)
    except ValidationError as exc:
        raise validation_error(
            exc,
            doc,
            (*environment_key(doc, name), "overrides"),
            config_path,
            "an override takes the same keys and values as the top level of datacanary.yml",
            prefix=f"environments.{name}.overrides.",
        ) from None


def environment_key(doc: YamlDoc | None, name: str) -> tuple[str | int, ...]:
    """The key path of environment `name` in datacanary.yml: `environments.NAME`, or the index of its
    `- name: NAME` item when the environments are a list."""
    declared = doc.data.get("environments") if doc is not None and isinstance(doc.data, dict) else None
    if isinstance(declared, list):
        for i, item in enumerate(declared):
            if isinstance(item, dict) and item.get("name") == name:
                return ("environments", i)
    return ("environments", name)


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    # mappings merge key by key; anything else (lists included) is replaced, as in Helm/Kustomize values
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # YAML dates and the like: compared and shown as text
