"""An environment's database on its engine (a DuckDB file, a PostgreSQL database, a Spark catalog): the
few statements write-audit-publish, restore and the SLIs need that SQL alone does not make portable
(catalog lookups, a data version of a table, the view swap, privileges). Everything else is the DuckDB
SQL datacanary generates, transpiled by sqlglot (`Warehouse.sql`).

Each method names tables as `schema.table`; the connection decides the database (PostgreSQL), the
catalog (Spark) or the file (DuckDB)."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from app.engines import Engine, EngineError, transpile


def ref(name: str) -> exp.Table:
    """`schema.table` (or `table`) as a quoted table reference."""
    schema, _, table = name.rpartition(".")
    return exp.table_(table, db=schema or None, quoted=True)


def _lit(text: str) -> str:
    return exp.Literal.string(text).sql("duckdb")


class Warehouse:
    """One engine connection used as an environment's database. The base class speaks SQL every engine
    understands once transpiled; subclasses replace what is engine-specific."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def name(self) -> str:
        return self.engine.name

    @property
    def dialect(self) -> str:
        return self.engine.dialect

    @property
    def where(self) -> str:
        """Where the data is, for messages (host, port, database; never a user or password)."""
        return str(getattr(self.engine, "where", ""))

    def sql(self, duckdb_sql: str) -> str:
        """DuckDB SQL (what datacanary generates) in this engine's dialect."""
        return transpile(duckdb_sql, self.dialect)

    def quote(self, name: str) -> str:
        return ref(name).sql(dialect=self.dialect)

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Run SQL already in this engine's dialect."""
        return self.engine.query(sql)

    def execute(self, sql: str) -> None:
        self.engine.execute(sql)

    def first(self, sql: str) -> dict[str, Any]:
        rows = self.query(sql)
        return rows[0] if rows else {}

    def columns(self, relation: str) -> list[str]:
        return [name for name, _ in self.engine.columns(self.quote(relation))]

    def column_types(self, relation: str) -> list[tuple[str, str]]:
        """(name, type as this engine names it) of each column of `relation`, in order."""
        return self.engine.columns(self.quote(relation))

    def enum_types(self) -> set[str]:
        """Names of user-defined enum types, as `column_types` spells them (none but PostgreSQL's: a
        DuckDB ENUM says so in its type, Spark has none)."""
        return set()

    def rows(self, relation: str) -> int:
        return int(self.first(f"SELECT COUNT(*) AS n FROM {self.quote(relation)}")["n"])

    def create_schema(self, schema: str) -> None:
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}")

    def create_table_as(self, relation: str, duckdb_sql: str) -> None:
        self.execute(f"CREATE TABLE {self.quote(relation)} AS {self.sql(duckdb_sql)}")

    def drop_table(self, relation: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {self.quote(relation)}")

    def use(self, *schemas: str) -> None:
        """Resolve unqualified names in `schemas` (the SQL datacanary builds is qualified anyway)."""

    def may_publish(self, schema: str) -> None:
        """Raise EngineError when the connection may not create tables and views in `schema`."""

    def kind(self, schema: str, name: str) -> str | None:  # pragma: no cover - every engine has its own
        """'table', 'view' or None (absent) for `schema.name`."""
        raise NotImplementedError

    def source_version(self, relation: str) -> str:  # pragma: no cover - every engine has its own
        """A data version of a table: its row count and an order-independent sum of row hashes."""
        raise NotImplementedError

    def replace_view(self, schema: str, dataset: str, relation: str) -> None:
        """Point the view `schema.dataset` at `relation`, atomically for readers."""
        self.execute(
            f"CREATE OR REPLACE VIEW {self.quote(schema + '.' + dataset)} AS SELECT * FROM {self.quote(relation)}"
        )

    def close(self) -> None:
        self.engine.close()


class DuckDBWarehouse(Warehouse):
    """An environment's DuckDB file on a locked-down connection (app.runs.envdb.open_env)."""

    def __init__(self, conn: Any) -> None:
        self._duckdb = _DuckDBConnection(conn)
        super().__init__(self._duckdb)
        self.conn = conn

    def kind(self, schema: str, name: str) -> str | None:
        found = self.conn.execute(
            "SELECT (SELECT COUNT(*) FROM duckdb_tables() WHERE database_name = current_database()"
            "   AND schema_name = ? AND table_name = ?),"
            " (SELECT COUNT(*) FROM duckdb_views() WHERE database_name = current_database()"
            "   AND schema_name = ? AND view_name = ?)",
            [schema, name, schema, name],
        ).fetchone()
        return "table" if found[0] else "view" if found[1] else None

    def source_version(self, relation: str) -> str:
        row = self.first(f"SELECT COUNT(*) AS n, SUM(HASH(t)::HUGEINT) AS h FROM {self.quote(relation)} AS t")
        return f"{row['n']}:{row['h']}"

    def column_types(self, relation: str) -> list[tuple[str, str]]:
        # the result's types as DuckDB's Python client spells them (what stored health profiles hold)
        return [(d[0], str(d[1])) for d in self._duckdb.columns_described(self.quote(relation))]

    def use(self, *schemas: str) -> None:
        from app.runs.envdb import search_path

        search_path(self.conn, *schemas)

    def replace_view(self, schema: str, dataset: str, relation: str) -> None:
        # the view names the table unqualified (DuckDB binds it in the view's own schema), so it reads the
        # same whatever catalog name the file is opened under: `prod.duckdb` opened directly is `prod`
        table = relation.rpartition(".")[2]
        self.execute(
            f"CREATE OR REPLACE VIEW {self.quote(schema + '.' + dataset)} AS SELECT * FROM {self.quote(table)}"
        )

    def close(self) -> None:
        self.conn.close()


class _DuckDBConnection:
    """A raw DuckDB connection as an Engine whose errors are EngineErrors, like the other engines'."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def query(self, sql: str) -> list[dict[str, Any]]:
        cur = self._run(sql)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def execute(self, sql: str) -> None:
        self._run(sql)

    def columns(self, relation: str) -> list[tuple[str, str]]:
        return [(r["column_name"], r["column_type"]) for r in self.query(f"DESCRIBE {relation}")]

    def columns_described(self, relation: str) -> list[Any]:
        """The cursor description of `relation`'s columns (name, DuckDBPyType, ...)."""
        return list(self._run(f"SELECT * FROM {relation} LIMIT 0").description or ())

    def close(self) -> None:
        self.conn.close()

    def _run(self, sql: str) -> Any:
        import duckdb

        try:
            return self.conn.execute(sql)
        except duckdb.Error as exc:
            raise EngineError("duckdb", (str(exc).strip().splitlines() or [type(exc).__name__])[0]) from None


class PostgresWarehouse(Warehouse):
    """A PostgreSQL database (app.engines.postgres). DDL is transactional there, so a view swap that
    must drop the view (its columns changed) is still one transaction: readers wait on its lock and
    then see the new version, never no view."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        # SLIs compare times as UTC, as DuckDB does, whatever the role's or the server's TimeZone
        self.execute("SET TIME ZONE 'UTC'")

    def kind(self, schema: str, name: str) -> str | None:
        row = self.first(
            "SELECT c.relkind AS k FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
            f" ON n.oid = c.relnamespace WHERE n.nspname = {_lit(schema)} AND c.relname = {_lit(name)}"
        )
        k = row.get("k")
        return "table" if k in ("r", "p") else "view" if k in ("v", "m") else None

    def enum_types(self) -> set[str]:
        rows = self.query(
            "SELECT format_type(t.oid, NULL) AS name FROM pg_catalog.pg_type t WHERE t.typtype = 'e'"
        )
        return {r["name"] for r in rows}

    def source_version(self, relation: str) -> str:
        # hashtextextended of the row's text form: 64 bits per row, summed exactly as numeric
        row = self.first(
            "SELECT COUNT(*) AS n, SUM(hashtextextended(t::text, 0)::numeric) AS h"
            f" FROM {self.quote(relation)} AS t"
        )
        return f"{row['n']}:{row['h']}"

    def create_schema(self, schema: str) -> None:
        # CREATE SCHEMA IF NOT EXISTS checks CREATE on the database before it checks existence: a role
        # with CREATE on an existing schema only must not need it
        if not self.first(f"SELECT 1 AS x FROM pg_catalog.pg_namespace WHERE nspname = {_lit(schema)}"):
            super().create_schema(schema)

    def use(self, *schemas: str) -> None:
        self.execute("SET search_path TO " + ", ".join(self.quote(s) for s in dict.fromkeys(schemas)))

    def may_publish(self, schema: str) -> None:
        row = self.first(
            "SELECT current_user AS role, EXISTS (SELECT 1 FROM pg_catalog.pg_namespace"
            f" WHERE nspname = {_lit(schema)}) AS present"
        )
        if row["present"]:
            ok = self.first(f"SELECT has_schema_privilege({_lit(schema)}, 'CREATE') AS ok")["ok"]
            grant = f"GRANT USAGE, CREATE ON SCHEMA {self.quote(schema)} TO {row['role']}"
        else:
            ok = self.first("SELECT has_database_privilege(current_database(), 'CREATE') AS ok")["ok"]
            grant = f"CREATE SCHEMA {self.quote(schema)} AUTHORIZATION {row['role']} (as an owner)"
        if not ok:
            raise EngineError(
                "postgres",
                f"role {row['role']} may not create the versioned tables and views of schema {schema!r}"
                f" (on {self.where}); nothing was written",
                hint=f"{grant}; see docs/engines/postgres.md",
            )

    def replace_view(self, schema: str, dataset: str, relation: str) -> None:
        view, body = self.quote(schema + "." + dataset), f"SELECT * FROM {self.quote(relation)}"
        if self.kind(schema, dataset) is None or self._same_columns(schema, dataset, relation):
            self.execute(f"CREATE OR REPLACE VIEW {view} AS {body}")
            return
        # CREATE OR REPLACE VIEW cannot drop or retype a view's columns: drop and create in ONE
        # statement string, which PostgreSQL runs as one implicit transaction. DROP without CASCADE, so
        # a view somebody built on ours is never dropped silently: the publish fails naming it.
        dependents = self._dependents(schema, dataset)
        if dependents:
            raise EngineError(
                "postgres",
                f"{schema}.{dataset} changes its columns, and views depend on it: {', '.join(dependents)}"
                f" (on {self.where})",
                hint="drop or update those views, then run again (CREATE OR REPLACE VIEW keeps a view's"
                " columns; a changed column needs the view dropped)",
            )
        self.execute(f"DROP VIEW {view}; CREATE VIEW {view} AS {body}")

    def _same_columns(self, schema: str, dataset: str, relation: str) -> bool:
        def described(rel: str) -> list[tuple[str, str]]:
            return self.engine.columns(self.quote(rel))

        old, new = described(f"{schema}.{dataset}"), described(relation)
        return new[: len(old)] == old  # same names and types in order; new ones may only be appended

    def _dependents(self, schema: str, dataset: str) -> list[str]:
        rows = self.query(
            "SELECT DISTINCT dn.nspname || '.' || dc.relname AS name"
            " FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid"
            " JOIN pg_catalog.pg_class dc ON dc.oid = r.ev_class"
            " JOIN pg_catalog.pg_namespace dn ON dn.oid = dc.relnamespace"
            f" WHERE d.refobjid = {_lit(schema + '.' + dataset)}::regclass AND dc.oid <> d.refobjid"
            " ORDER BY 1"
        )
        return [r["name"] for r in rows]


class SparkWarehouse(Warehouse):
    """A database (schema) of the Spark session's catalog (app.engines.spark). Versioned tables are
    managed tables in `spark.sql.sources.default` (Parquet unless configured, Delta on Databricks)
    under `spark.sql.warehouse.dir`; views live in the catalog."""

    def kind(self, schema: str, name: str) -> str | None:
        pattern = _lit(name)
        try:
            tables = self.query(f"SHOW TABLES IN {self.quote(schema)} LIKE {pattern}")
        except EngineError:
            return None  # no such database
        if not [t for t in tables if not t.get("isTemporary")]:
            return None
        views = self.query(f"SHOW VIEWS IN {self.quote(schema)} LIKE {pattern}")
        return "view" if [v for v in views if not v.get("isTemporary")] else "table"

    def source_version(self, relation: str) -> str:
        # xxhash64 over every column of the row; summed as a decimal, which cannot overflow like a BIGINT
        row = self.first(
            f"SELECT COUNT(*) AS n, SUM(CAST(xxhash64(*) AS DECIMAL(38, 0))) AS h FROM {self.quote(relation)}"
        )
        return f"{row['n']}:{row['h']}"


def wrap(conn: Any) -> Warehouse:
    """`conn` as a Warehouse: a Warehouse as is, an Engine by its name, a raw DuckDB connection (what
    `open_env` returns, and what callers of `app.runs.wap` passed before engines existed)."""
    if isinstance(conn, Warehouse):
        return conn
    name = getattr(conn, "name", None)
    if name == "postgres":
        return PostgresWarehouse(conn)
    if name == "spark":
        return SparkWarehouse(conn)
    if name == "duckdb" and hasattr(conn, "conn"):  # app.engines.duckdb's sandbox
        return DuckDBWarehouse(conn.conn)
    return DuckDBWarehouse(conn)
