"""The one module that imports duckdb: a connection that loads data first, is then locked down, and runs
untrusted SQL with a per-statement time limit. Everything else talks to it through `Sandbox`'s methods.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from app.canary import sqltext as t
from app.canary.inputs import TableSpec

# Settings applied, in this order, before any SQL from a pull request runs. lock_configuration must come
# last: after it no SET can undo the others (DuckDB's documented way to secure an untrusted session).
LOCKDOWN = (
    ("enable_external_access", "false"),
    ("autoinstall_known_extensions", "false"),
    ("autoload_known_extensions", "false"),
    ("allow_community_extensions", "false"),
)


def lock(conn: duckdb.DuckDBPyConnection, settings: Sequence[tuple[str, str]] = LOCKDOWN) -> None:
    """Apply `settings` (by default only the LOCKDOWN ones) and lock the configuration: no file or
    network access or extension loads from here on, for any connection datacanary opened itself."""
    for name, value in settings:
        conn.execute(f"SET {name} = {value}")
    conn.execute("SET lock_configuration = true")


class QueryFailed(Exception):
    """A statement failed (`kind` = error) or ran past its time limit (`kind` = timeout)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Sandbox:
    """A DuckDB connection (in memory unless `path` is given). Load data, then `lock_down()`, then run."""

    def __init__(self, path: str = ":memory:", *, threads: int | None = None) -> None:
        self.conn = duckdb.connect(path)
        if threads:
            self.conn.execute(f"SET threads = {int(threads)}")

    # -- the Database protocol (app.canary.diff) ------------------------------------------------------
    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        cur = self._run(sql, timeout)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def execute(self, sql: str, timeout: float | None = None) -> None:
        self._run(sql, timeout)

    def columns(self, relation: t.Sql) -> list[tuple[str, str]]:
        """(name, DuckDB type) of each column of `relation` (SQL text naming a table or view)."""
        rows = self.query(f"DESCRIBE {relation}")
        return [(r["column_name"], r["column_type"]) for r in rows]

    # -- setup ----------------------------------------------------------------------------------------
    def create_schema(self, name: str) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {t.ident(name)}")

    def source(self, spec: TableSpec, alias: str) -> t.Sql:
        """SQL text of a FROM-able relation reading `spec` (only before `lock_down`); DuckDB files are
        attached read-only under `alias`. Raises QueryFailed when the file cannot be read."""
        if not Path(spec.path).is_file():
            raise QueryFailed("error", f"{spec.path}: no such file")
        if spec.format == "duckdb":
            self.execute(f"ATTACH {t.lit(spec.path)} AS {t.ident(alias)} (READ_ONLY)")
            return f"{t.ident(alias)}.{t.table(spec.table or '', spec.schema or 'main')}"
        reader = {"parquet": "read_parquet", "csv": "read_csv"}[spec.format]
        return f"{reader}({t.lit(spec.path)})"

    def view(self, name: str, spec: TableSpec) -> t.Sql:
        """A view named `name` over the file (no copy: the diff reads the file directly); returns its name."""
        rel = self.source(spec, f"{name}_db")
        target = t.table(name)
        self.execute(f"CREATE OR REPLACE VIEW {target} AS SELECT * FROM {rel}")
        return target

    def lock_down(self, *, memory_limit: str, threads: int) -> None:
        """No file or network access, no extension installs or loads, limits set, then configuration locked."""
        settings: Sequence[tuple[str, str]] = (
            *LOCKDOWN,
            ("memory_limit", t.lit(memory_limit)),
            ("threads", str(int(threads))),
        )
        lock(self.conn, settings)

    def close(self) -> None:
        self.conn.close()

    # -- execution ------------------------------------------------------------------------------------
    def _run(self, sql: str, timeout: float | None) -> duckdb.DuckDBPyConnection:
        timer = None
        fired = threading.Event()
        if timeout is not None:

            def stop() -> None:
                fired.set()
                self.conn.interrupt()

            timer = threading.Timer(timeout, stop)
            timer.daemon = True
            timer.start()
        try:
            return self.conn.execute(sql)
        except duckdb.InterruptException:
            raise QueryFailed("timeout", f"stopped after the {timeout:g} s time limit") from None
        except duckdb.Error as exc:
            if fired.is_set():
                raise QueryFailed("timeout", f"stopped after the {timeout:g} s time limit") from None
            raise QueryFailed("error", _first_line(str(exc))) from None
        finally:
            if timer is not None:
                timer.cancel()


def _first_line(message: str) -> str:
    lines = [ln for ln in message.strip().splitlines() if ln.strip()]
    return " ".join(lines[:2]) if lines else "failed"
