"""DuckDB, embedded: the canary's sandbox (app.canary.runner.Sandbox) as an Engine."""

from __future__ import annotations

from app.canary.runner import Sandbox


class DuckDBEngine(Sandbox):
    name = "duckdb"
    dialect = "duckdb"
