"""Table inputs: `orders.parquet`, `orders.csv`, or `warehouse.duckdb:schema.table`, parsed once. [pure]"""

from __future__ import annotations

from dataclasses import dataclass

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
    """Where a table's rows are: a file path, its format, and for DuckDB files the table inside it."""

    path: str
    format: str  # parquet | csv | duckdb
    schema: str | None = None
    table: str | None = None

    def __str__(self) -> str:
        if self.format != "duckdb":
            return self.path
        inner = f"{self.schema}.{self.table}" if self.schema else str(self.table)
        return f"{self.path}:{inner}"


def parse_spec(text: str, declared_format: str | None = None) -> TableSpec:
    """Parse `path[.parquet|.csv]` or `file.duckdb:[schema.]table`; raises UsageError with the fix."""
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
