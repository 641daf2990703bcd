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


def bound_process_memory(limit: int) -> int:
    """Cap the whole process's address space at `limit` bytes (the soft RLIMIT_AS, lowered only), so
    Python-side work on the sandbox's output cannot exhaust the machine either; DuckDB and Python then
    fail with out-of-memory errors that the canary reports. Returns the soft limit in force."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    target = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    if soft == resource.RLIM_INFINITY or soft > target:
        resource.setrlimit(resource.RLIMIT_AS, (target, hard))
        return target
    return soft


class QueryFailed(Exception):
    """A statement failed (`kind` = error), ran past its time limit (`timeout`), out of memory (`memory`),
    or was refused by the engine's lockdown (`refused`: a file, a write, a second statement)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Sandbox:
    """A DuckDB connection (in memory unless `path` is given). Load data, then `lock_down()`, then run."""

    dialect = "duckdb"  # the SQL it runs (app.canary.warehouse.Warehouse: a warehouse engine's)

    def __init__(self, path: str = ":memory:", *, threads: int | None = None) -> None:
        self.conn = duckdb.connect(path)
        # the same answers on every machine: a TIMESTAMP cast to TIMESTAMPTZ (a key retyped between the
        # sides, a model's ::timestamptz) is read in UTC, not in the zone of whoever runs the diff
        self.conn.execute("SET TimeZone = 'UTC'")
        self.inputs: Path | None = None  # the one folder the locked engine may read (Sandbox.locked)
        self.memory_limit: str | None = None
        if threads:
            self.conn.execute(f"SET threads = {int(threads)}")

    def session(self) -> Sandbox:
        """Another session on the same database, for another thread: same tables, same locked
        configuration, its own temp tables and its own interrupt (DuckDB runs them in parallel)."""
        other = object.__new__(type(self))
        other.conn = self.conn.cursor()
        other.inputs, other.memory_limit = self.inputs, self.memory_limit
        return other

    @classmethod
    def locked(cls, work: Path, *, memory_limit: str, threads: int, max_temp_size: str) -> Sandbox:
        """The canary's sandbox, locked down before anything of the pull request is read: the engine may
        read only `work/inputs` (where the sample files are copied; see `inputs`) and spill only to
        `work/spill`, both private to this run."""
        inputs, spill = work / "inputs", work / "spill"
        inputs.mkdir(mode=0o700, parents=True, exist_ok=True)
        box = cls(threads=threads)
        box.lock_down(
            memory_limit=memory_limit,
            threads=threads,
            allowed_directories=[inputs],
            temp_directory=spill,
            max_temp_size=max_temp_size,
        )
        box.inputs = inputs
        return box

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
        file = Path(spec.path)
        if not file.is_file():
            raise QueryFailed("error", f"{spec.path}: no such file")
        size = file.stat().st_size
        if size == 0:
            raise QueryFailed("error", "the file is empty (0 bytes)")
        if spec.format == "csv" and size < 4096 and not file.read_bytes().strip():
            raise QueryFailed("error", "the file is empty (only blank lines, no header)")
        if spec.format == "parquet":
            with file.open("rb") as fh:
                head = fh.read(4)
                fh.seek(max(size - 4, 0))
                tail = fh.read(4)
            if head != b"PAR1" or tail != b"PAR1":
                raise QueryFailed(
                    "error", "not a Parquet file (it lacks the PAR1 markers; truncated or another format?)"
                )
        if spec.format == "duckdb":
            self.execute(f"ATTACH {t.lit(spec.path)} AS {t.ident(alias)} (READ_ONLY)")
            schema, table = spec.schema or "main", spec.table or ""
            kind = self._kind_of(alias, schema, table)
            if kind != "table":
                self.execute(f"DETACH {t.ident(alias)}")
                what = (
                    f"is a {kind}: only plain tables are read from a sample database (a view or macro would "
                    "run its own SQL while the data is loaded)"
                    if kind
                    else "does not exist in it"
                )
                raise QueryFailed("refused" if kind else "error", f"{schema}.{table} {what}")
            return f"{t.ident(alias)}.{t.table(table, schema)}"
        if spec.format == "csv":
            return self._csv_reader(spec.path)
        return f"read_parquet({t.lit(spec.path)})"

    def _csv_reader(self, path: str) -> t.Sql:
        """read_csv of `path` with the dialect and column types DuckDB's sniffer finds, sniffed once: the
        relation is read several times (its columns, its rows counted, sampled), and each plain
        read_csv sniffs again (75 ms for a 2,000-row file of four columns, a third of a small canary).
        The sniffed names are quoted as literals, never pasted (its own read_csv `Prompt` is not
        escaped: a header cell `a'b` would be SQL). A file the sniffer cannot read is read plainly, so
        that the read reports it as it always did."""
        plain = f"read_csv({t.lit(path)})"
        try:
            found = self.query(f"SELECT * FROM sniff_csv({t.lit(path)})")
        except QueryFailed:
            return plain
        if len(found) != 1 or not found[0].get("Columns"):
            return plain
        s = found[0]

        def char(v: Any) -> t.Sql:
            return t.lit("" if v in (None, "(empty)") else str(v))

        columns = ", ".join(f"{t.lit(str(c['name']))}: {t.lit(str(c['type']))}" for c in s["Columns"])
        options = [
            "auto_detect = false",
            f"delim = {char(s['Delimiter'])}",
            f"quote = {char(s['Quote'])}",
            f"escape = {char(s['Escape'])}",
            f"new_line = {char(s['NewLineDelimiter'])}",
            f"comment = {char(s['Comment'])}",
            f"skip = {int(s['SkipRows'] or 0)}",
            f"header = {'true' if s['HasHeader'] else 'false'}",
            f"columns = {{{columns}}}",
        ]
        for option, key in (("dateformat", "DateFormat"), ("timestampformat", "TimestampFormat")):
            if s.get(key):
                options.append(f"{option} = {t.lit(str(s[key]))}")
        return f"read_csv({t.lit(path)}, {', '.join(options)})"

    def view(self, name: str, spec: TableSpec) -> t.Sql:
        """A view named `name` over the file (no copy: the diff reads the file directly); returns its name."""
        rel = self.source(spec, f"{name}_db")
        target = t.table(name)
        self.execute(f"CREATE OR REPLACE VIEW {target} AS SELECT * FROM {rel}")
        return target

    def lock_down(
        self,
        *,
        memory_limit: str,
        threads: int,
        allowed_directories: Sequence[Path] = (),
        temp_directory: Path | None = None,
        max_temp_size: str | None = None,
    ) -> None:
        """No file or network access (but to `allowed_directories`, the private folder holding the sample
        data), no extension installs or loads, spill files only in `temp_directory` (DuckDB allows its
        temp folder implicitly, so it must be private too), limits set, then the configuration locked."""
        dirs = ", ".join(t.lit(str(d).rstrip("/") + "/") for d in allowed_directories)
        settings: list[tuple[str, str]] = [("allowed_directories", f"[{dirs}]")] if dirs else []
        if temp_directory is not None:
            settings.append(("temp_directory", t.lit(str(temp_directory))))
            # `~` and the settings a query can read point into the private folder, not the real home
            settings.append(("home_directory", t.lit(str(temp_directory))))
            settings.append(("secret_directory", t.lit(str(temp_directory / "secrets"))))
            settings.append(("allow_persistent_secrets", "false"))
        if max_temp_size is not None:
            settings.append(("max_temp_directory_size", t.lit(max_temp_size)))
        settings += [*LOCKDOWN, ("memory_limit", t.lit(memory_limit)), ("threads", str(int(threads)))]
        lock(self.conn, settings)
        self.memory_limit = memory_limit

    def create_select(
        self, target: t.Sql, select: str, timeout: float | None = None, dialect: str = "duckdb"
    ) -> int:
        """CREATE TABLE `target` AS `select`, where `select` is untrusted SQL: DuckDB's own parser must see
        exactly one SELECT in it (the engine-side twin of the static check in guard.py), so no DDL, macro
        definition, ATTACH, SET or second statement ever reaches execution, whatever sqlglot made of it.
        Returns the rows written (DuckDB's CREATE TABLE AS answers with them: no second query).
        `dialect` is always DuckDB's here (app.canary.warehouse takes the others)."""
        assert dialect == "duckdb", dialect
        _one_select(select)
        (written,) = self._run(f"CREATE TABLE {target} AS {select}", timeout).fetchall()[0]
        return int(written)

    def select(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        """Rows of untrusted `sql` (a contract's quality rule), admitted as create_select admits models."""
        _one_select(sql)
        return self.query(sql, timeout)

    # -- sources, read-only to the models --------------------------------------------------------------
    def open_catalog(self, path: Path, name: str) -> None:
        """Attach a new database file (inside an allowed directory) for writing, as catalog `name`."""
        self.execute(f"ATTACH {t.lit(str(path))} AS {t.ident(name)}")

    def seal_catalog(self, path: Path, name: str) -> None:
        """Re-attach catalog `name` read-only: from here on no statement can change or drop its tables."""
        self.execute(f"DETACH {t.ident(name)}")
        self.execute(f"ATTACH {t.lit(str(path))} AS {t.ident(name)} (READ_ONLY)")

    def _kind_of(self, catalog: str, schema: str, name: str) -> str | None:
        """`table`, `view`, or None: what `catalog.schema.name` is (names match as DuckDB resolves them,
        case-insensitively)."""
        found = self.conn.execute(
            "SELECT kind FROM (SELECT 'table' AS kind, database_name, schema_name, table_name AS name "
            "FROM duckdb_tables() UNION ALL SELECT 'view', database_name, schema_name, view_name "
            "FROM duckdb_views()) WHERE lower(database_name) = lower(?) AND lower(schema_name) = lower(?) "
            "AND lower(name) = lower(?) LIMIT 1",
            [catalog, schema, name],
        ).fetchone()
        return str(found[0]) if found else None

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
            raise _translate(exc, getattr(self, "memory_limit", None)) from None
        finally:
            if timer is not None:
                timer.cancel()


def _one_select(sql: str) -> None:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        from app.canary.guard import redact  # imports sqlglot: only on an error (see _translate)

        raise QueryFailed("error", redact(_first_line(str(exc)))) from None
    if len(statements) != 1:
        raise QueryFailed("refused", f"holds {len(statements)} statements; only one SELECT may run")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        name = str(kind).rsplit(".", 1)[-1]
        raise QueryFailed("refused", f"is a {name} statement; only a SELECT may run")


def _translate(exc: duckdb.Error, memory_limit: str | None) -> QueryFailed:
    """The engine's error in the user's terms; what the lockdown refused says so, without the path."""
    if isinstance(exc, duckdb.PermissionException):
        return QueryFailed(
            "refused", "tried to reach a file, a database or the network outside its sample data"
        )
    if isinstance(exc, duckdb.OutOfMemoryException):
        limit = f" {memory_limit}" if memory_limit else ""
        return QueryFailed("memory", f"ran out of memory at the canary's{limit} limit")
    text = _first_line(str(exc))
    if "read-only" in text or "attached in read-only mode" in text:
        return QueryFailed("refused", "tried to change a read-only source table")
    from app.canary.guard import redact  # sqlglot, via guard: a tenth of data-diff's start-up

    return QueryFailed("error", redact(text))


def _first_line(message: str) -> str:
    # DuckDB quotes the statement after "LINE n:"; it is datacanary's SQL, not the user's
    lines = [ln for ln in message.strip().splitlines() if ln.strip() and not ln.lstrip().startswith("LINE ")]
    lines = [ln for ln in lines if set(ln.strip()) != {"^"}]
    return " ".join(lines[:2]) if lines else "failed"
