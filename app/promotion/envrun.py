"""The promotion canary's execution: an artifact's models on a sample of one environment's data.

The edge that talks to DuckDB for promotion. The environment's DuckDB file is attached read-only,
each declared source is copied in as a deterministic hash sample (same key + seed -> same rows in
every environment, so joins survive), the file is detached, the connection is locked down (no file or
network access, no extensions, configuration frozen), and only then does the artifact's SQL run, in
DAG order, each model under a time limit. Each model's output is fingerprinted (app.promotion.fingerprint).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from app.errors import ConfigError, DatacanaryError
from app.project.config import ProjectConfig
from app.project.model import Project
from app.promotion.environments import Environment
from app.promotion.fingerprint import fingerprint_from_row, fingerprint_query
from app.types import Location

ENV_DB = "envdata"


@dataclass(frozen=True, slots=True)
class ModelRun:
    """One model's outcome in the environment: a fingerprint, or why there is none."""

    name: str
    path: str
    fingerprint: dict[str, Any] | None
    error: str | None = None
    skipped: str | None = None  # an upstream model failed


@dataclass(frozen=True, slots=True)
class EnvRun:
    environment: str
    sample_fraction: float
    sources: dict[str, int] = field(default_factory=dict)  # sampled rows per source
    models: tuple[ModelRun, ...] = ()


def run_in_environment(
    project: Project,
    order: list[str],
    env: Environment,
    config: ProjectConfig,
    project_dir: Path,
    quality: Callable[[Any, str], list[dict[str, Any]]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> EnvRun:
    """Build `order` (model names in DAG order) of `project` on `env`'s data and fingerprint each model.

    `config` is the environment's effective configuration (sources, canary limits); `quality(conn,
    model)` returns the contract's quality results for a built model, when given."""
    import duckdb

    data = _data_file(env, project_dir, project.config_path)
    conn = duckdb.connect(":memory:")
    try:
        conn.execute(f"ATTACH {_quote_literal(str(data))} AS {ENV_DB} (READ_ONLY)")
        sampled = {name: _sample(conn, config, env, name, project.config_path) for name in config.sources}
        conn.execute(f"DETACH {ENV_DB}")
        _lock_down(conn, config)
        runs: list[ModelRun] = []
        failed: set[str] = set()
        for name in order:
            model = project.models[name]
            blocked = sorted(_reads(model.sql, config.dialect) & failed)
            if blocked:
                failed.add(name)
                runs.append(ModelRun(name, model.path, None, skipped=f"upstream {', '.join(blocked)} failed"))
                continue
            if progress:
                progress(f"{env.name}: building {name}")
            try:
                _build(conn, name, model.sql, config.dialect, config.canary.limits.timeout_seconds)
                fp = _fingerprint(conn, name, env.sample_fraction)
                if quality is not None:
                    fp["quality"] = quality(conn, name)
                runs.append(ModelRun(name, model.path, fp))
            except (duckdb.Error, sqlglot.errors.SqlglotError, DatacanaryError) as exc:
                failed.add(name)
                runs.append(ModelRun(name, model.path, None, error=str(exc).splitlines()[0]))
        return EnvRun(env.name, env.sample_fraction, sampled, tuple(runs))
    finally:
        conn.close()


def _data_file(env: Environment, project_dir: Path, config_path: str) -> Path:
    if not env.data:
        raise ConfigError(
            f"environment {env.name!r} declares no `data` parameter, "
            "so there is nothing to run the promotion canary on",
            Location(config_path),
            f"set environments.{env.name}.parameters.data to the DuckDB file with {env.name}'s source tables",
        )
    path = Path(env.data) if Path(env.data).is_absolute() else project_dir / env.data
    if not path.is_file():
        raise ConfigError(
            f"environment {env.name!r}: data file {path} does not exist",
            Location(config_path),
            "point the `data` parameter at the environment's DuckDB file (relative to the project directory)",
        )
    return path


def _quote_literal(text: str) -> str:
    return exp.Literal.string(text).sql("duckdb")


def sample_query(config: ProjectConfig, env: Environment, source: str) -> str:
    """SELECT the environment's sample of `source`: rows whose hashed key (or whole row, without a key)
    falls under the environment's sample fraction; md5 keeps it stable across machines and versions."""
    rel = exp.to_table(f"{ENV_DB}.{env.source_schema}.{source}", dialect="duckdb")
    for part in ("this", "db", "catalog"):
        node = rel.args.get(part)
        if isinstance(node, exp.Identifier):
            node.set("quoted", True)
    query = exp.select(exp.Star()).from_(exp.alias_(rel, "s", table=True))
    fraction = min(env.sample_fraction, config.sources[source].sample.fraction)
    if fraction >= 1.0:
        return query.sql("duckdb")
    key = config.sources[source].sample.key
    value = exp.column(key, "s", quoted=True) if key else exp.column("s")
    text = exp.func("concat", exp.Literal.string(f"{config.canary.seed}|"), exp.cast(value, "VARCHAR"))
    bucket = exp.Mod(
        this=exp.cast(
            exp.func(
                "concat",
                exp.Literal.string("0x"),
                exp.func("substr", exp.func("md5", text), exp.Literal.number(1), exp.Literal.number(8)),
            ),
            "UBIGINT",
            dialect="duckdb",
        ),
        expression=exp.Literal.number(1_000_000),
    )
    return query.where(exp.LT(this=bucket, expression=exp.Literal.number(int(fraction * 1_000_000)))).sql(
        "duckdb"
    )


def _sample(conn: Any, config: ProjectConfig, env: Environment, source: str, config_path: str) -> int:
    import duckdb

    try:
        conn.execute(f"CREATE TABLE {_ident(source)} AS {sample_query(config, env, source)}")
    except duckdb.CatalogException:
        raise ConfigError(
            f"environment {env.name!r}: source {source!r} is not a table in {env.data} "
            f"(schema {env.source_schema})",
            Location(config_path),
            "load the source into the environment's DuckDB file, or set the `source_schema` parameter",
        ) from None
    row = conn.execute(f"SELECT count(*) FROM {_ident(source)}").fetchone()
    return int(row[0]) if row else 0


def _lock_down(conn: Any, config: ProjectConfig) -> None:
    # the artifact's SQL is code from a pull request: no files, no network, no extensions from here on
    limits = config.canary.limits
    for statement in (
        "SET enable_external_access = false",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        f"SET memory_limit = {_quote_literal(limits.memory_limit)}",
        f"SET threads = {int(limits.threads)}",
        "SET lock_configuration = true",
    ):
        conn.execute(statement)


def _reads(sql: str, dialect: str) -> set[str]:
    tree = sqlglot.parse_one(sql, read=dialect)
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name not in ctes}


def _build(conn: Any, name: str, sql: str, dialect: str, timeout: float) -> None:
    tree = sqlglot.parse_one(sql, read=dialect)
    if not isinstance(tree, exp.Query):
        raise DatacanaryError(f"model {name} is not a query")
    for table in tree.find_all(exp.Table):  # models and sources live unqualified in this database
        table.set("db", None)
        table.set("catalog", None)
    target = _ident(name)
    statement = f"CREATE TABLE {target} AS {tree.sql('duckdb')}"
    timer = threading.Timer(timeout, conn.interrupt)  # a runaway model is interrupted, the run goes on
    timer.start()
    try:
        conn.execute(statement)
    finally:
        timer.cancel()


def _fingerprint(conn: Any, name: str, fraction: float) -> dict[str, Any]:
    columns = [(str(r[0]), str(r[1])) for r in conn.execute(f"DESCRIBE {_ident(name)}").fetchall()]
    row = conn.execute(fingerprint_query(name, columns)).fetchone()
    return fingerprint_from_row(row, columns, fraction)


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")
