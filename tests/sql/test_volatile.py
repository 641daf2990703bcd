"""Columns whose values differ on every run, found from the SQL: directly, through CTEs and through
upstream models (app.sql.volatile)."""

from __future__ import annotations

from app.project.config import ProjectConfig, SourceConfig
from app.project.model import ModelFile, Project, freeze_models
from app.project.yamldoc import YamlDoc
from app.sql.analyze import analyze
from app.sql.volatile import volatile_columns


def _project(**models: str) -> Project:
    config = ProjectConfig(
        name="t",
        dialect="duckdb",
        sources={"raw": SourceConfig(columns={"id": "bigint", "ts": "timestamp"})},
    )
    files = {n: ModelFile(name=n, path=f"models/{n}.sql", sql=sql) for n, sql in models.items()}
    return Project(
        root="",
        label="t",
        config=config,
        config_doc=YamlDoc(path="datacanary.yml", data={}, lines={(): 1}),
        models=freeze_models(files),
        contracts=(),
    )


def test_volatile_functions_through_ctes_and_upstream_models() -> None:
    an = analyze(
        _project(
            stg="with s as (select id, now() as loaded, ts from raw) select id, loaded, ts, random() as r from s",
            mart=(
                "select id, date_diff('day', ts, current_date) as age, loaded, ts,\n"
                "gen_random_uuid() as row_uuid, '0b5c1e2a-6f1d-4f8e-9c1a-2b3c4d5e6f70' as run_id,\n"
                "'2026-12-06 21:03:47.442248+00:00' as started\nfrom stg"
            ),
        )
    )
    found = volatile_columns(an)
    assert set(found["stg"]) == {"loaded", "r"}
    assert found["mart"] == {
        "age": "current_date",
        "loaded": "stg.loaded: now()",
        "row_uuid": "uuid()",
        "run_id": "dbt's invocation_id",
        "started": "dbt's run_started_at",
    }


def test_deterministic_columns_and_dates_written_as_constants_are_not_volatile() -> None:
    an = analyze(
        _project(m="select id, ts, '2024-01-01' as since, cast(ts as date) as d from raw where ts < now()")
    )
    assert volatile_columns(an) == {}  # a filter on now() changes rows, not a column's values
