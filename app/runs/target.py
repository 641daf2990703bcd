"""Where a safe run (or an SLO evaluation) happens: the environment's DuckDB file and schemas from
datacanary.yml `environments:` parameters, and the project to build (the live artifact, else the
working tree)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from app.contracts.model import Dataset
from app.errors import ConfigError
from app.project.model import Project
from app.promotion.environments import SCHEMA, environment
from app.runs.envdb import ALIAS
from app.runs.plan import Graph
from app.types import Location

RETENTION = "retention"  # published versions kept per dataset
DEFAULT_RETENTION = 5
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Target:
    env: str
    database: Path
    schema: str  # versioned tables and the published views
    source_schema: str
    retention: int


def target(project: Project, project_dir: Path, env_name: str) -> Target:
    """The environment `env_name` of `project` (ConfigError naming datacanary.yml when incomplete)."""
    env = environment(project.config, env_name, project.config_path)
    where = Location(project.config_path, project.config_doc.line(("environments", env_name)))
    if not env.data:
        raise ConfigError(
            f"environment {env_name!r} declares no `data` parameter",
            where,
            f"set environments.{env_name}.parameters.data to the environment's DuckDB file",
        )
    database = Path(env.data) if Path(env.data).is_absolute() else project_dir / env.data
    schema = str(env.parameters.get(SCHEMA) or "main")
    for name in (schema, env.source_schema):
        if name.lower() == ALIAS:  # the catalog alias the file is attached under (app/runs/envdb.py)
            raise ConfigError(
                f"environment {env_name!r}: schema {name!r} is the name datacanary attaches the database as",
                where,
                "choose another schema name",
            )
        if not _IDENT.match(name):
            raise ConfigError(
                f"environment {env_name!r}: schema {name!r} is not a plain SQL identifier",
                where,
                "use letters, digits and underscores",
            )
    keep = env.parameters.get(RETENTION, DEFAULT_RETENTION)
    if not isinstance(keep, int) or keep < 1:
        raise ConfigError(
            f"environment {env_name!r}: `retention` must be a positive integer, not {keep!r}", where
        )
    return Target(env_name, database, schema, env.source_schema, keep)


def graph(project: Project, tgt: Target, windowed: str | None = None) -> Graph:
    """The project's models in build order, each as DuckDB SQL reading the published views of its
    upstream models (`schema.model`) and the environment's sources (`source_schema.source`). Window
    placeholders are bound to the unbounded window, except in the model `windowed` (a backfill's)."""
    from app.runs.window import unbounded
    from app.sql.analyze import analyze
    from app.sql.transpile import to_duckdb

    analysis = analyze(project)
    tables = {m: f"{tgt.schema}.{m}" for m in analysis.models}
    tables.update({s: f"{tgt.source_schema}.{s}" for s in analysis.sources})
    models = analysis.models
    return Graph(
        order=analysis.order,
        sql={
            m: (unbounded if m != windowed else str)(to_duckdb(models[m], analysis.dialect, tables))
            for m in analysis.order
        },
        upstream={m: tuple(models[m].upstream) for m in analysis.order},
        sources={m: tuple(models[m].sources) for m in analysis.order},
    )


def contracts(project: Project) -> dict[str, Dataset]:
    """Every contracted dataset by name."""
    return {d.name: d for c in project.contracts for d in c.datasets}
