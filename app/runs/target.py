"""Where a safe run (or an SLO evaluation) happens: the environment's engine (a DuckDB file, PostgreSQL,
Spark), its schemas from datacanary.yml `environments:` parameters, and the connection (from the
environment variables, never from the file)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.contracts.model import Dataset
from app.errors import ConfigError
from app.project.model import Project
from app.promotion.environments import SCHEMA, SOURCE_SCHEMA, environment
from app.runs.envdb import ALIAS
from app.runs.plan import Graph
from app.types import Location

if TYPE_CHECKING:
    from app.runs.warehouse import Warehouse

RETENTION = "retention"  # published versions kept per dataset
DEFAULT_RETENTION = 5
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# each engine's own default schema, used when an environment names none
DEFAULT_SCHEMA = {"duckdb": "main", "postgres": "public", "spark": "default"}


@dataclass(frozen=True, slots=True)
class Target:
    env: str
    database: Path | None  # the DuckDB file (engine duckdb only)
    schema: str  # versioned tables and the published views
    source_schema: str
    retention: int
    engine: str = "duckdb"

    @property
    def place(self) -> str:
        """Where, for messages: the DuckDB file's name, or the engine (never a connection string)."""
        return self.database.name if self.database is not None else self.engine

    def postgres_url(self, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
        """(variable, URL): DATACANARY_POSTGRES_URL_<ENV> when set, else DATACANARY_POSTGRES_URL."""
        from app.engines import POSTGRES_URL

        env = os.environ if environ is None else environ
        own = f"{POSTGRES_URL}_{re.sub(r'[^A-Za-z0-9]', '_', self.env).upper()}"
        return (own, env[own]) if env.get(own) else (POSTGRES_URL, env.get(POSTGRES_URL, ""))


def open_warehouse(
    tgt: Target, read_only: bool = False, environ: Mapping[str, str] | None = None
) -> Warehouse:
    """A connection to the environment's database on its engine. DuckDB: the file must exist (connect
    would create an empty one); `read_only` opens it so, and a PostgreSQL session so."""
    from app.errors import UsageError
    from app.runs.warehouse import DuckDBWarehouse, wrap

    if tgt.engine == "duckdb":
        from app.runs.envdb import open_env

        assert tgt.database is not None
        if not tgt.database.is_file():
            raise UsageError(
                f"environment {tgt.env!r}: database {tgt.database} does not exist",
                hint=f"point environments.{tgt.env}.parameters.data at the environment's DuckDB file",
            )
        return DuckDBWarehouse(open_env(tgt.database, read_only=read_only))
    if tgt.engine == "postgres":
        from app.engines.postgres import PostgresEngine

        _, url = tgt.postgres_url(environ)
        wh = wrap(PostgresEngine(url))
        if read_only:  # an SLO evaluation cannot write, whatever the role may do
            wh.execute("SET default_transaction_read_only = on")
        return wh
    from app.engines import connect

    return wrap(connect(tgt.engine, environ))


def target(project: Project, project_dir: Path, env_name: str) -> Target:
    """The environment `env_name` of `project` (ConfigError naming datacanary.yml when incomplete)."""
    env = environment(project.config, env_name, project.config_path, project.config_doc)
    where = Location(project.config_path, project.config_doc.line(("environments", env_name)))
    engine = env.engine(project.config.engine)
    if engine not in DEFAULT_SCHEMA:
        raise ConfigError(
            f"environment {env_name!r}: unknown engine {engine!r}", where, "use duckdb, postgres or spark"
        )
    database: Path | None = None
    if engine == "duckdb":
        if not env.data:
            raise ConfigError(
                f"environment {env_name!r} declares no `data` parameter",
                where,
                f"set environments.{env_name}.parameters.data to the environment's DuckDB file"
                " (or its `engine` to postgres or spark)",
            )
        database = Path(env.data) if Path(env.data).is_absolute() else project_dir / env.data
    default = DEFAULT_SCHEMA[engine]
    schema = str(env.parameters.get(SCHEMA) or default)
    source_schema = str(env.parameters.get(SOURCE_SCHEMA) or default)
    for name in (schema, source_schema):
        if (
            engine == "duckdb" and name.lower() == ALIAS
        ):  # the catalog alias the file is attached under (app/runs/envdb.py)
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
    return Target(env_name, database, schema, source_schema, keep, engine)


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
