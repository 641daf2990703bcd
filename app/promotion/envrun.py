"""The promotion canary's execution: an artifact's models on a sample of one environment's data.

Runs in the canary's sandbox (app.canary.runner): the environment's DuckDB file is attached read-only,
each declared source is copied in as a deterministic hash sample (app.canary.sampling: same key and seed
keep the same rows in every environment, so joins survive), then the connection is locked down (no file
or network access, no extensions, configuration frozen) and only then does the artifact's SQL run, in
DAG order, each model statically checked and under a time limit (app.canary.models). Each built model
is fingerprinted (app.promotion.fingerprint) and its contract's quality rules evaluated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlglot import exp

from app.errors import ConfigError
from app.project.config import ProjectConfig
from app.project.model import Project
from app.promotion.environments import Environment
from app.promotion.fingerprint import fingerprint_from_row, fingerprint_query
from app.types import Location

ENV_DB = "envdata"
SOURCES = "source"  # schema of the sampled sources in the sandbox
MODELS = "head"  # schema of the built models (the canary's quality rules read `head.<model>`)


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
    progress: Callable[[str], None] | None = None,
) -> EnvRun:
    """Build `order` (model names in DAG order) of `project` on `env`'s data, fingerprint each model and
    evaluate its contract's quality rules. `config` is the environment's effective configuration."""
    from app.canary.models import BuildStep, build
    from app.canary.runner import Sandbox

    data = _data_file(env, project_dir, project.config_path)
    limits = config.canary.limits
    db = Sandbox(threads=limits.threads)
    try:
        db.execute(f"ATTACH {exp.Literal.string(str(data)).sql('duckdb')} AS {_ident(ENV_DB)} (READ_ONLY)")
        db.create_schema(SOURCES)
        db.create_schema(MODELS)
        sampled = {name: _sample(db, config, env, name, project.config_path) for name in config.sources}
        db.execute(f"DETACH {_ident(ENV_DB)}")
        db.lock_down(memory_limit=limits.memory_limit, threads=limits.threads)
        targets = {**{s: (SOURCES, s) for s in config.sources}, **{m: (MODELS, m) for m in order}}
        steps = [BuildStep(project.models[name], MODELS, config.dialect, targets) for name in order]
        built, _ = build(db, steps, timeout=limits.timeout_seconds, progress=progress)
        runs = []
        for name in order:
            run = built[(MODELS, name)]
            if run.status == "skipped":
                runs.append(ModelRun(name, run.path, None, skipped=run.message))
            elif not run.ok:
                runs.append(ModelRun(name, run.path, None, error=f"{run.status}: {run.message}"))
            else:
                fp = _fingerprint(db, name, env.sample_fraction)
                fp["quality"] = _quality(db, project, name, targets, config)
                runs.append(ModelRun(name, run.path, fp))
        return EnvRun(env.name, env.sample_fraction, sampled, tuple(runs))
    finally:
        db.close()


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


def sample_query(config: ProjectConfig, env: Environment, source: str) -> str:
    """SELECT the environment's sample of `source` (its sample key, the canary seed, the env's fraction)."""
    from app.canary.sampling import sample_select

    reader = exp.Table(
        this=exp.to_identifier(source, quoted=True),
        db=exp.to_identifier(env.source_schema, quoted=True),
        catalog=exp.to_identifier(ENV_DB, quoted=True),
    )
    key = config.sources[source].sample.key
    select = sample_select(
        reader, key=key, fraction=env.sample_fraction, max_rows=None, seed=config.canary.seed
    )
    return select.sql("duckdb")


def _sample(db: Any, config: ProjectConfig, env: Environment, source: str, config_path: str) -> int:
    from app.canary.runner import QueryFailed

    target = f"{_ident(SOURCES)}.{_ident(source)}"
    try:
        db.execute(f"CREATE TABLE {target} AS {sample_query(config, env, source)}")
    except QueryFailed as exc:
        raise ConfigError(
            f"environment {env.name!r}: cannot read source {source!r} from {env.data} "
            f"(schema {env.source_schema}): {exc.message}",
            Location(config_path),
            "load the source into the environment's DuckDB file, or set the `source_schema` parameter",
        ) from None
    return int(db.query(f"SELECT count(*) AS n FROM {target}")[0]["n"])


def _fingerprint(db: Any, name: str, fraction: float) -> dict[str, Any]:
    rel = exp.Table(this=exp.to_identifier(name, quoted=True), db=exp.to_identifier(MODELS, quoted=True))
    columns = [(str(c), str(t)) for c, t in db.columns(rel)]
    row = list(db.query(fingerprint_query(rel, columns))[0].values())  # columns in SELECT order
    return fingerprint_from_row(row, columns, fraction)


def _quality(
    db: Any, project: Project, name: str, targets: dict[str, tuple[str, str]], config: ProjectConfig
) -> list[dict[str, Any]]:
    """The model's contract quality results, in the shape the fingerprint keeps."""
    from app.canary.run import run_quality

    hit = project.contract_of(name)
    if hit is None:
        return []
    results = run_quality(db, hit[1], name, targets, config.dialect, config.canary.limits.timeout_seconds)
    return [
        {
            "rule": r.check.name,
            "passed": r.passed,
            "severity": r.check.severity,
            "observed": r.observed,
            "detail": r.error or f"observed {r.observed}, {r.check.operator} {r.check.value} {r.check.unit}",
        }
        for r in results
    ]


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")
