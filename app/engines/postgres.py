"""PostgreSQL through psycopg 3: one autocommit connection per Engine. The URL comes from
DATACANARY_POSTGRES_URL (a libpq URI or key=value string), else from libpq's own PG* variables."""

from __future__ import annotations

from typing import Any

from app.engines import POSTGRES_URL, EngineError

NAME = "postgres"


class PostgresEngine:
    name = NAME
    dialect = "postgres"
    byte_collation = '"C"'  # what `collated_columns` are read under to compare their bytes

    def __init__(self, url: str = "", *, connect_timeout: int = 10) -> None:
        try:
            import psycopg
        except ImportError:
            raise EngineError(
                NAME,
                "the PostgreSQL driver (psycopg 3) is not installed",
                hint="pip install 'datacanary[postgres]'",
            ) from None
        self._psycopg = psycopg
        self._url, self._connect_timeout = url, connect_timeout
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout)
        except psycopg.Error as exc:
            raise EngineError(
                NAME,
                f"cannot connect: {_first_line(exc)}",
                hint=f"check that the server is up and that {POSTGRES_URL} (or PGHOST, PGPORT, PGUSER, "
                "PGDATABASE, PGPASSWORD) points at it",
            ) from None
        _load_infinite_times(self.conn)
        info = self.conn.info
        self.where = f"{info.host}:{info.port}/{info.dbname}"  # for messages: no user, no password

    def query(self, sql: str) -> list[dict[str, Any]]:
        with self.conn.cursor() as cur:
            return self._run(cur, sql, fetch=True)

    def execute(self, sql: str) -> None:
        with self.conn.cursor() as cur:
            self._run(cur, sql)

    def create_table_as(self, name: str, select: str) -> int:
        """CREATE TABLE `name` AS `select`; its rows, as the server's command tag tells them (`SELECT n`):
        no second scan or round trip to count them."""
        with self.conn.cursor() as cur:
            self._run(cur, f"CREATE TABLE {name} AS {select}")
            return int(cur.rowcount)

    def columns(self, relation: str) -> list[tuple[str, str]]:
        """(name, PostgreSQL type) of each column of `relation` (SQL text naming a table or view)."""
        rows = self.query(
            "SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a"
            f" WHERE a.attrelid = {_literal(relation)}::regclass AND a.attnum > 0 AND NOT a.attisdropped"
            " ORDER BY a.attnum"
        )
        return [(r["name"], r["type"]) for r in rows]

    def collated_columns(self, relation: str) -> list[str]:
        """The columns of `relation` under a collation other than the database's default and "C": the
        nondeterministic ones (a case- or accent-insensitive ICU collation, PostgreSQL 12 and later),
        whose `=`, GROUP BY and hashes take values with different bytes for one (`'a' = 'A'`), and any
        other declared one, which PostgreSQL cannot combine with another table's ("no collation was
        derived" when the join's key or a compared value meets a column under a third collation). And
        the citext ones, whose `=` ignores case whatever their collation (`inplace.On.bytewise` reads them
        as text)."""
        rows = self.query(
            "SELECT a.attname AS name FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
            " LEFT JOIN pg_collation c ON c.oid = a.attcollation"
            f" WHERE a.attrelid = {_literal(relation)}::regclass AND a.attnum > 0 AND NOT a.attisdropped"
            " AND (c.collname NOT IN ('default', 'C', 'POSIX') OR t.typname = 'citext') ORDER BY a.attnum"
        )
        return [r["name"] for r in rows]

    def unique_keys(self, relation: str) -> list[tuple[str, ...]]:
        """The column sets PostgreSQL itself keeps unique in `relation`: its valid, immediate unique indexes
        (primary keys, unique constraints) over plain columns, without a WHERE. None of them for a table
        that other tables inherit from (a query of it reads their rows too, which its indexes do not cover)
        unless it is partitioned (a partitioned table's unique index holds across its partitions)."""
        rows = self.query(
            "SELECT array_agg(a.attname::text ORDER BY a.attnum) AS cols FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indrelid"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)"
            f" WHERE i.indrelid = {_literal(relation)}::regclass AND i.indisunique AND i.indisvalid"
            " AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL"
            " AND (c.relkind = 'p' OR NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhparent = c.oid))"
            " GROUP BY i.indexrelid"
        )
        return [tuple(r["cols"]) for r in rows]

    def fork(self) -> PostgresEngine:
        """Another connection to the same database, for statements run alongside this one's (in another
        thread: a psycopg connection runs one statement at a time), with every setting this session made
        (SET statement_timeout, TimeZone, search_path, ...): the canary's time limit holds there too."""
        made = self.query(
            "SELECT name, current_setting(name) AS value FROM pg_settings WHERE source = 'session'"
        )
        other = PostgresEngine(self._url, connect_timeout=self._connect_timeout)
        try:
            for s in made:
                other.query(f"SELECT set_config({_literal(s['name'])}, {_literal(s['value'])}, false)")
        except BaseException:
            other.close()
            raise
        return other

    def shared(self, relation: str) -> bool:
        """Whether another session sees `relation` (not one of this session's temporary tables or views)."""
        rows = self.query(
            f"SELECT c.relpersistence <> 't' AS shared FROM pg_class c WHERE c.oid = {_literal(relation)}::regclass"
        )
        return bool(rows and rows[0]["shared"])

    def cancel(self) -> None:
        """Ask the server to cancel the statement this connection is running (from any thread)."""
        try:
            self.conn.cancel_safe(timeout=5)
        except self._psycopg.Error:
            pass  # the statement ended meanwhile, or the server is gone: nothing left to cancel

    def close(self) -> None:
        self.conn.close()

    def _run(self, cur: Any, sql: str, fetch: bool = False) -> list[dict[str, Any]]:
        """Runs `sql`; with `fetch`, its rows as dicts. Any error of the server or of reading its values
        (a value the driver cannot load) is an EngineError."""
        errors = self._psycopg.errors
        try:
            cur.execute(sql.encode())  # bytes: run as written, no client-side placeholders
            if not fetch or cur.description is None:
                return []
            names = [d.name for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        except errors.UndefinedTable as exc:
            raise EngineError(
                NAME,
                f"{_first_line(exc)} (on {self.where})",
                hint="check the schema and table name, and that the connection's database is the right one",
            ) from None
        except errors.InsufficientPrivilege as exc:
            raise EngineError(
                NAME,
                f"{_first_line(exc)} (on {self.where})",
                hint="grant the role what docs/engines/postgres.md lists (USAGE and SELECT on the sources; "
                "CREATE on the scratch schema)",
            ) from None
        except errors.QueryCanceled as exc:  # statement_timeout, or pg_cancel_backend()
            raise EngineError(
                NAME,
                f"{_first_line(exc)} (on {self.where})",
                hint="raise the role's statement_timeout (ALTER ROLE ... SET statement_timeout, or PGOPTIONS="
                "'-c statement_timeout=...'), or diff less: --no-profile skips the column profiles",
            ) from None
        except self._psycopg.OperationalError as exc:
            if exc.sqlstate and exc.sqlstate.startswith("54"):  # class 54: too many columns, too complex
                raise EngineError(
                    NAME,
                    f"the query is beyond a limit of the server on {self.where}: {_first_line(exc)}",
                    hint="diff fewer columns, or pass --no-profile",
                ) from None
            if self.conn.broken or self.conn.closed:
                raise EngineError(NAME, f"lost the connection to {self.where}: {_first_line(exc)}") from None
            # an error of the server that left the session usable (out of memory or disk, a lock)
            raise EngineError(NAME, f"query failed on {self.where}: {_first_line(exc)}") from None
        except self._psycopg.Error as exc:
            raise EngineError(NAME, f"query failed on {self.where}: {_first_line(exc)}") from None


def _load_infinite_times(conn: Any) -> None:
    """Reads PostgreSQL's 'infinity' and '-infinity' dates and timestamps as the latest and earliest
    values Python has (date.max, datetime.min, ...), where psycopg raises "date too large": DuckDB's
    Python client reads its own infinities so too, so a profile's min or max, an example row or a key
    reads the same from either engine, and sorts and compares with the other values of its column (a
    string would not). The recipe of psycopg's documentation ("Handling infinity date")."""
    import datetime as dt

    from psycopg.types.datetime import DateLoader, TimestampLoader, TimestamptzLoader

    utc = dt.UTC
    ends = {  # type name -> (psycopg's loader, the latest value, the earliest value)
        "date": (DateLoader, dt.date.max, dt.date.min),
        "timestamp": (TimestampLoader, dt.datetime.max, dt.datetime.min),
        "timestamptz": (
            TimestamptzLoader,
            dt.datetime.max.replace(tzinfo=utc),
            dt.datetime.min.replace(tzinfo=utc),
        ),
    }
    for name, (base, latest, earliest) in ends.items():
        infinite = {b"infinity": latest, b"-infinity": earliest}

        def load(self: Any, data: Any, infinite: dict[bytes, Any] = infinite, base: Any = base) -> Any:
            value = infinite.get(bytes(data))
            return value if value is not None else base.load(self, data)

        conn.adapters.register_loader(name, type(f"Infinite_{name}", (base,), {"load": load}))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
