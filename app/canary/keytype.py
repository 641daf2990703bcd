"""The type both sides of a retyped key are cast to before they are joined. [pure]

Text is the last resort: INTEGER 1 and DOUBLE 1.0 print as '1' and '1.0', DECIMAL(10,2) and
DECIMAL(10,3) as '1.50' and '1.500', so a key compared as text makes every row added and removed.
"""

from __future__ import annotations

import re

from app.canary.sqltext import PG_NUMERIC

# Integer digits each integer type can hold (what a DECIMAL needs before its point to hold it too).
_INTEGER_DIGITS = {
    "TINYINT": 3,
    "SMALLINT": 5,
    "INTEGER": 10,
    "BIGINT": 19,
    "HUGEINT": 39,
    "UTINYINT": 3,
    "USMALLINT": 5,
    "UINTEGER": 10,
    "UBIGINT": 20,
    "UHUGEINT": 39,
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")
# PostgreSQL's NUMERIC without a precision holds any number exactly, integers and every NUMERIC(p,s) too:
# keys are cast to it (`sqltext.PG_NUMERIC`, not a bare DECIMAL, which would round them to DuckDB's 3
# places). Only PostgreSQL reports a NUMERIC without one (DuckDB and Spark always give both numbers).
_UNBOUNDED = "NUMERIC"
_FLOAT = {"FLOAT", "DOUBLE", "REAL"}
_TIMESTAMP = re.compile(r"^(DATE|TIMESTAMP(_S|_MS|_NS)?|TIMESTAMP WITH TIME ZONE)$")
_MAX_DECIMAL = 38


def common_key_type(left: str, right: str) -> str | None:
    """The DuckDB type to cast both key columns to: None when the types are the same, a numeric or
    timestamp supertype when one holds both, VARCHAR otherwise."""
    if left.upper().strip() == right.upper().strip():
        return None
    a, b = canonical(left), canonical(right)
    if a == b:
        return None
    if _numeric(a) and _numeric(b):
        return _numeric_supertype(a, b)
    ta, tb = _TIMESTAMP.match(a), _TIMESTAMP.match(b)
    if ta and tb:
        if "TIME ZONE" in a + b:
            return "TIMESTAMPTZ"
        return "TIMESTAMP_NS" if "TIMESTAMP_NS" in (a, b) else "TIMESTAMP"
    return "VARCHAR"


# PostgreSQL (format_type) and Spark (simpleString) names of the types above, as DuckDB spells them.
_ALIASES = {
    "INT": "INTEGER",
    "INT4": "INTEGER",
    "INT8": "BIGINT",
    "INT2": "SMALLINT",
    "LONG": "BIGINT",
    "SHORT": "SMALLINT",
    "BYTE": "TINYINT",
    "DOUBLE PRECISION": "DOUBLE",
    "FLOAT8": "DOUBLE",
    "FLOAT4": "REAL",
    "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
    "TIMESTAMP_NTZ": "TIMESTAMP",
    "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE",
}
_NUMERIC = re.compile(r"^(?:NUMERIC|DECIMAL)\((\d+),\s*(\d+)\)$")
_PRECISION = re.compile(r"^(TIMESTAMP)\(\d\)( WITH(OUT)? TIME ZONE)?$")


def canonical(type_name: str) -> str:
    """A type name of DuckDB, PostgreSQL or Spark as DuckDB spells it (for the numeric and timestamp
    types this module casts between); other names upper-cased as they are."""
    t = type_name.upper().strip()
    m = _NUMERIC.match(t)
    if m:
        return f"DECIMAL({m.group(1)},{m.group(2)})"
    m = _PRECISION.match(t)
    if m:
        t = m.group(1) + (m.group(2) or "")
    return _ALIASES.get(t, t)


def _numeric(t: str) -> bool:
    return t in _INTEGER_DIGITS or t in _FLOAT or t == _UNBOUNDED or bool(_DECIMAL.match(t))


def _numeric_supertype(a: str, b: str) -> str:
    if a in _FLOAT or b in _FLOAT:
        return "DOUBLE"
    if _UNBOUNDED in (a, b):
        return PG_NUMERIC
    if a in _INTEGER_DIGITS and b in _INTEGER_DIGITS:
        if max(_INTEGER_DIGITS[a], _INTEGER_DIGITS[b]) <= _INTEGER_DIGITS["BIGINT"]:
            return "BIGINT"
        return "HUGEINT" if "UHUGEINT" not in (a, b) else "VARCHAR"  # integers print exactly
    digits, scale = zip(*(_digits_and_scale(t) for t in (a, b)), strict=True)
    precision = max(digits) + max(scale)
    return f"DECIMAL({precision},{max(scale)})" if precision <= _MAX_DECIMAL else "DOUBLE"


def _digits_and_scale(t: str) -> tuple[int, int]:
    """Digits before the point and after it that `t` can hold."""
    m = _DECIMAL.match(t)
    if m:
        return int(m.group(1)) - int(m.group(2)), int(m.group(2))
    return _INTEGER_DIGITS[t], 0
