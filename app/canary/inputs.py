"""Table inputs, parsed once. [pure]

Files read by the embedded DuckDB: `orders.parquet`, `orders.csv`, `warehouse.duckdb:schema.table` (also
written `duckdb:warehouse.duckdb:schema.table`). Tables where they live, diffed in place there:
`postgres://[user@]host[:port]/db.schema.table` (a password in the URL works but is never shown: prefer
PGPASSWORD or DATACANARY_POSTGRES_URL), `postgres:schema.table` (the database DATACANARY_POSTGRES_URL or
the PG* variables point at), `spark:schema.table` (a table of the Spark catalog), and
`spark:parquet:/path` or `spark:delta:/path` (a dataset read by Spark).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.errors import UsageError

_EXT = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".duckdb": "duckdb",
    ".db": "duckdb",
}


@dataclass(frozen=True, slots=True)
class TableSpec:
    """Where a table's rows are: a file path, its format, and for DuckDB files the table inside it; or
    a table (or a Spark dataset at `path`) on the engine `engine`, reached at `url` (Postgres; "" means
    from the environment)."""

    path: str
    format: str  # parquet | csv | duckdb | table (an engine's table) | delta
    schema: str | None = None
    table: str | None = None
    engine: str = "duckdb"  # duckdb | postgres | spark
    url: str = field(default="", repr=False)  # may hold a password: never in a repr

    def __str__(self) -> str:
        """The label reports show: never a password."""
        if self.engine == "postgres":
            where = _redact_url(self.url) if self.url else "postgres:"
            sep = "." if self.url else ""
            return f"{where}{sep}{self.schema}.{self.table}" if self.schema else f"{where}{sep}{self.table}"
        if self.engine == "spark":
            if self.format == "table":
                return f"spark:{self.schema}.{self.table}" if self.schema else f"spark:{self.table}"
            return f"spark:{self.format}:{self.path}"
        if self.format != "duckdb":
            return self.path
        inner = f"{self.schema}.{self.table}" if self.schema else str(self.table)
        return f"{self.path}:{inner}"


_PG_URL = re.compile(r"^postgres(?:ql)?://(?P<auth>[^@/]*@)?(?P<host>[^/]*)/(?P<rest>.+)$")


def _redact_url(url: str) -> str:
    return re.sub(r"^(postgres(?:ql)?://[^:/@]*):[^@]*@", r"\1:***@", url)


def _schema_table(text: str, form: str) -> tuple[str | None, str]:
    schema, _, table = text.rpartition(".")
    if not table:
        raise UsageError(f"{_redact_url(text)!r} names no table", hint=f"write it as `{form}`")
    return schema or None, table


def parse_spec(text: str, declared_format: str | None = None) -> TableSpec:
    """Parse `path[.parquet|.csv]`, `[duckdb:]file.duckdb:[schema.]table` or an engine's table (see the
    module's docstring); raises UsageError with the fix."""
    if text.startswith(("postgres://", "postgresql://")):
        m = _PG_URL.match(text)
        if not m or "." not in m["rest"]:
            raise UsageError(
                f"{_redact_url(text)!r} is not a PostgreSQL table",
                hint="write it as postgres://[user@]host[:port]/db.schema.table",
            )
        db, _, inner = m["rest"].partition(".")
        schema, table = _schema_table(inner, "postgres://host/db.schema.table")
        url = f"postgresql://{m['auth'] or ''}{m['host']}/{db}"
        return TableSpec("", "table", schema, table, engine="postgres", url=url)
    if text.startswith("postgres:"):
        schema, table = _schema_table(text.removeprefix("postgres:"), "postgres:schema.table")
        return TableSpec("", "table", schema, table, engine="postgres")
    if text.startswith("spark:"):
        inner = text.removeprefix("spark:")
        kind, colon, path = inner.partition(":")
        if colon and kind in ("parquet", "delta"):
            if not path:
                raise UsageError(f"{text!r} names no path", hint=f"write it as `spark:{kind}:/path/to/data`")
            return TableSpec(path, kind, engine="spark")
        if colon:
            raise UsageError(
                f"{text!r}: Spark reads `spark:parquet:PATH`, `spark:delta:PATH` or `spark:schema.table`"
            )
        schema, table = _schema_table(inner, "spark:schema.table")
        return TableSpec("", "table", schema, table, engine="spark")
    if text.startswith("duckdb:"):
        text = text.removeprefix("duckdb:")
        declared_format = declared_format or "duckdb"
    path, sep, inner = text.partition(":")
    if sep and len(path) == 1 and path.isalpha():  # a Windows drive letter, not a table separator
        path, sep, inner = text, "", ""
    fmt = declared_format or _format_of(path)
    if fmt is None:
        raise UsageError(
            f"cannot tell the format of {text!r}",
            hint="use a .parquet or .csv file, or `file.duckdb:schema.table`",
        )
    if fmt == "duckdb":
        if not inner:
            raise UsageError(
                f"{text!r} names a DuckDB file but no table", hint="write it as `file.duckdb:schema.table`"
            )
        schema, _, table = inner.rpartition(".")
        return TableSpec(path, "duckdb", schema or None, table)
    if sep:
        raise UsageError(f"{text!r}: only DuckDB files take a `:table` suffix")
    return TableSpec(path, fmt)


def _format_of(path: str) -> str | None:
    lower = path.lower()
    for ext, fmt in _EXT.items():
        if lower.endswith(ext) or lower.endswith(ext + ".gz"):
            return fmt
    return None
