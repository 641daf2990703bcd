"""Projects built from datacanary.yml text alone (no contracts), and environment databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from app.contracts.model import Contract
from app.project.config import parse_config
from app.project.model import Project, freeze_models
from tests.runs.conftest import project  # noqa: F401  (a project with a prod environment)

NOW = dt.datetime(2026, 11, 25, 12, 0, 0, tzinfo=dt.UTC)


def make_project(yml: str, contracts: tuple[Contract, ...] = ()) -> Project:
    config, doc = parse_config(yml, "datacanary.yml")
    return Project(
        root="", label="test", config=config, config_doc=doc, models=freeze_models({}), contracts=contracts
    )


@pytest.fixture
def env_db(tmp_path: Path) -> Callable[[str], str]:
    """A DuckDB file for an environment, created with the given SQL; returns its path."""
    import duckdb

    def build(sql: str) -> str:
        path = str(tmp_path / "prod.duckdb")
        conn = duckdb.connect(path)
        conn.execute(sql)
        conn.close()
        return path

    return build
