"""Where the generated SQL runs. DuckDB is embedded and the default; PostgreSQL (psycopg 3) and Spark
(pyspark) run the same SQL where the data already is, so that only results cross the network.

datacanary.yml names the engine (`engine: duckdb | postgres | spark`); the connection comes from the
environment and never from a file (see `settings`), and no credential ever appears in a message.

Every engine speaks the `Engine` protocol (the `Database` protocol of app.canary.diff plus its name, its
sqlglot dialect and `close`). SQL is generated once, in DuckDB's dialect, and transpiled by sqlglot with
`Engine.sql`; where an engine needs other SQL than a transpile gives, the query builder asks
`engine.dialect` and says why in a comment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Protocol

from app.errors import DatacanaryError

ENGINES = ("duckdb", "postgres", "spark")
# The environment variables each engine reads its connection from (documented in docs/engines/).
POSTGRES_URL = "DATACANARY_POSTGRES_URL"  # a libpq URI or key=value string; else libpq's PG* variables
SPARK_MASTER = "DATACANARY_SPARK_MASTER"  # default local[*]


class EngineError(DatacanaryError):
    """An engine cannot be reached or used: missing driver, unreachable server, missing privilege,
    missing table. Always names the engine and says what to do; exit 2."""

    def __init__(self, engine: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"{engine}: {redact(message)}", hint=redact(hint) if hint else None)
        self.engine = engine


class Engine(Protocol):
    """A connection to one engine, for one thread."""

    name: str  # duckdb | postgres | spark
    dialect: str  # the sqlglot dialect of the SQL it runs

    def query(self, sql: str) -> list[dict[str, Any]]: ...

    def execute(self, sql: str) -> None: ...

    def columns(self, relation: str) -> list[tuple[str, str]]: ...

    def close(self) -> None: ...


def transpile(sql: str, dialect: str) -> str:
    """DuckDB SQL (what datacanary generates) in `dialect`; unchanged for DuckDB itself."""
    if dialect == "duckdb":
        return sql
    from app.engines.shapes import transpiled_by_shape

    return transpiled_by_shape(sql, dialect, transpile_whole)


def transpile_whole(sql: str, dialect: str) -> str:
    """`transpile` without the kept shapes (app.engines.shapes): sqlglot on the whole statement."""
    import sqlglot

    return ";\n".join(sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=False))


_SECRET_IN_URL = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@", re.I)
_SECRET_KV = re.compile(r"\b(password|passwd|pwd|sslpassword|token|secret)\s*=\s*('[^']*'|\S+)", re.I)


def redact(text: str) -> str:
    """`text` with any password in a connection URL or key=value string replaced by ***."""
    text = _SECRET_IN_URL.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _SECRET_KV.sub(lambda m: f"{m[1]}=***", text)


def check_kind(kind: str) -> str:
    if kind not in ENGINES:
        raise DatacanaryError(f"unknown engine {kind!r}", hint=f"use one of: {', '.join(ENGINES)}")
    return kind


def settings(kind: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The connection settings of `kind` read from the environment (never from datacanary.yml)."""
    env = os.environ if environ is None else environ
    if kind == "postgres":
        return {"url": env.get(POSTGRES_URL, "")}
    if kind == "spark":
        return {"master": env.get(SPARK_MASTER, "local[*]")}
    return {}


def connect(kind: str, environ: Mapping[str, str] | None = None) -> Engine:
    """A connection to the engine `kind`, configured from the environment. DuckDB: an in-memory
    sandbox (app.canary.runner); the others are imported only when asked for."""
    check_kind(kind)
    conf = settings(kind, environ)
    if kind == "postgres":
        from app.engines.postgres import PostgresEngine

        return PostgresEngine(conf["url"])
    if kind == "spark":
        from app.engines.spark import SparkEngine

        return SparkEngine(conf["master"])
    from app.engines.duckdb import DuckDBEngine

    return DuckDBEngine()
