"""SQL data types as datacanary compares them: one normalized spelling per type, and whether values of
one type fit into another (the SQL -> contract direction of implementation drift).

Types are parsed with sqlglot in the project's dialect, so `NUMBER(38, 0)` (Snowflake), `INT64`
(BigQuery) and `BIGINT` (DuckDB) land on the same families.
"""

from __future__ import annotations

import functools

from sqlglot import exp
from sqlglot.errors import SqlglotError

from app.contracts.physical import compare_types

T = exp.DataType.Type

_INTEGERS = {
    T.TINYINT, T.SMALLINT, T.MEDIUMINT, T.INT, T.BIGINT, T.INT128, T.INT256,
    T.UTINYINT, T.USMALLINT, T.UMEDIUMINT, T.UINT, T.UBIGINT, T.UINT128, T.UINT256,
}  # fmt: skip
_NUMERIC = {"integer", "decimal", "float"}
_NAMES = {
    T.INT: "INTEGER",
    T.INT128: "HUGEINT",
    T.UINT128: "UHUGEINT",
    T.TIMESTAMPNTZ: "TIMESTAMP",
    T.DATETIME: "TIMESTAMP",
    T.TIMESTAMPLTZ: "TIMESTAMPTZ",
}
_STRINGS = {T.TEXT, T.VARCHAR, T.CHAR, T.NCHAR, T.NVARCHAR, T.NAME}
_TIMESTAMPS = {T.TIMESTAMP, T.TIMESTAMPNTZ, T.DATETIME, T.TIMESTAMP_S, T.TIMESTAMP_MS, T.TIMESTAMP_NS}
_TIMESTAMPTZS = {T.TIMESTAMPTZ, T.TIMESTAMPLTZ}
_FLOATS = {T.FLOAT, T.DOUBLE}
_DECIMALS = {T.DECIMAL, T.BIGDECIMAL, T.DECIMAL32, T.DECIMAL64, T.DECIMAL128, T.MONEY}
_NOT_A_TYPE = {T.UNKNOWN, T.NULL}

# ODCS logicalType -> the SQL families it accepts
_LOGICAL = {
    "string": {"string", "uuid"},
    "integer": {"integer"},
    "number": {"integer", "decimal", "float"},
    "boolean": {"boolean"},
    "date": {"date"},
    "timestamp": {"timestamp", "timestamptz"},
    "time": {"time"},
    "object": {"struct", "map", "json"},
    "array": {"array"},
}
# a SQL type to assume for a column known only by its ODCS logicalType
LOGICAL_DEFAULTS = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "time": "TIME",
}


@functools.lru_cache(maxsize=4096)
def parse_type(text: str, dialect: str) -> exp.DataType | None:
    """A declared type string as a sqlglot DataType, or None when it is not a type sqlglot knows."""
    try:
        dt = exp.DataType.build(text, dialect=dialect, udt=False)
    except (SqlglotError, ValueError):
        return None
    return None if dt.this in _NOT_A_TYPE else dt


def _params(dt: exp.DataType) -> list[int]:
    out = []
    for p in dt.expressions:
        inner = p.this if isinstance(p, exp.DataTypeParam) else p
        try:
            out.append(int(inner.name))
        except (ValueError, AttributeError):
            return []
    return out


def normalize(dt: exp.DataType | None) -> str | None:
    """One spelling per type: 'BIGINT', 'VARCHAR', 'VARCHAR(20)', 'DECIMAL(10, 2)', 'TIMESTAMP', ..."""
    if dt is None or dt.this in _NOT_A_TYPE:
        return None
    if dt.this in _STRINGS:
        p = _params(dt)
        return f"VARCHAR({p[0]})" if p else "VARCHAR"
    if dt.this in _DECIMALS:
        p = _params(dt)
        if len(p) == 2:
            return f"DECIMAL({p[0]}, {p[1]})"
        return f"DECIMAL({p[0]}, 0)" if p else "DECIMAL"
    if dt.this in _NAMES:
        return _NAMES[dt.this]
    if all(not v for k, v in dt.args.items() if k != "this"):
        return _simple_name(dt.this)  # printing copies the node: worth skipping for 25,000 columns
    try:
        return dt.sql(dialect="duckdb")
    except SqlglotError:  # pragma: no cover - a type sqlglot parsed but cannot print
        return None


@functools.lru_cache(maxsize=256)
def _simple_name(this: exp.DType) -> str:
    return exp.DataType(this=this).sql(dialect="duckdb")


@functools.lru_cache(maxsize=4096)
def normalize_text(text: str | None, dialect: str) -> str | None:
    """Normalize a declared type string (e.g. a contract's physicalType); None when unknown."""
    if not text or not text.strip():
        return None
    return normalize(parse_type(text, dialect))


def family(dt: exp.DataType) -> str:
    """The family a type belongs to: integer, decimal, float, string, date, timestamp, ..."""
    this: exp.DType = dt.this
    if this in _INTEGERS:
        return "integer"
    if this in _DECIMALS:
        return "decimal"
    if this in _FLOATS:
        return "float"
    if this in _STRINGS:
        return "string"
    if this in _TIMESTAMPS:
        return "timestamp"
    if this in _TIMESTAMPTZS:
        return "timestamptz"
    simple = {T.DATE: "date", T.TIME: "time", T.BOOLEAN: "boolean", T.UUID: "uuid", T.JSON: "json"}
    if this in simple:
        return simple[this]
    if this in (T.STRUCT, T.OBJECT):
        return "struct"
    if this is T.MAP:
        return "map"
    if this in (T.ARRAY, T.LIST):
        return "array"
    name: str = this.value
    return name.lower()


def fits(src: exp.DataType | None, dst: exp.DataType | None) -> bool | None:
    """Whether every value of type `src` fits `dst` unchanged; None when it cannot be told.

    Numeric and timestamp widths follow the contract diff's rules (`app.contracts.physical`); a string
    of unknown length is not held against a bounded one (type inference rarely knows lengths).

    >>> fits(exp.DataType.build("INT"), exp.DataType.build("BIGINT"))
    True
    """
    if src is None or dst is None or src.this in _NOT_A_TYPE or dst.this in _NOT_A_TYPE:
        return None
    if normalize(src) == normalize(dst):
        return True
    sf, df = family(src), family(dst)
    if sf == df == "string":
        sp, dp = _params(src), _params(dst)
        if not dp:
            return True
        return None if not sp else sp[0] <= dp[0]
    if sf != df and not {sf, df} <= _NUMERIC | {"timestamp", "date"}:
        return False
    if sf == df and sf not in _NUMERIC | {"timestamp"}:
        return None  # the same family spelt differently (arrays, structs, ...): cannot tell cheaply
    return _widens(normalize(src) or "", normalize(dst) or "")


@functools.lru_cache(maxsize=4096)
def _widens(src: str, dst: str) -> bool:
    # normalized spellings are DuckDB's; string lengths never get here (DuckDB would drop them)
    return compare_types(src, dst, "duckdb").direction in ("same", "widened")


def fits_logical(src: exp.DataType | None, logical: str | None) -> bool | None:
    """Whether a SQL type satisfies an ODCS logicalType (string, integer, number, date, ...)."""
    if src is None or not logical or logical.lower() not in _LOGICAL:
        return None
    fam = family(src)
    if fam == "decimal" and logical.lower() == "integer":
        p = _params(src)
        return None if len(p) != 2 else p[1] == 0
    return fam in _LOGICAL[logical.lower()]
