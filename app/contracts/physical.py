"""Compare two declared physical types (`varchar(50)` vs `varchar(20)`, `int` vs `bigint`, ...) with
sqlglot's type parser, keeping sizes and precision (dbt strips them, which hides narrowing).

>>> compare_types("varchar(50)", "varchar(20)").direction
'narrowed'
>>> compare_types("decimal(10,2)", "decimal(12,2)").direction
'widened'
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Literal

Direction = Literal["same", "narrowed", "widened", "changed"]

# keyed by sqlglot's DataType.Type names, so importing this module does not import sqlglot (CLI start-up)
# value ranges as (bits, signed); an integer type is wider when its range contains the other's
_INTEGERS: dict[str, tuple[int, bool]] = {
    "TINYINT": (8, True), "SMALLINT": (16, True), "MEDIUMINT": (24, True), "INT": (32, True),
    "BIGINT": (64, True), "INT128": (128, True), "INT256": (256, True),
    "UTINYINT": (8, False), "USMALLINT": (16, False), "UMEDIUMINT": (24, False), "UINT": (32, False),
    "UBIGINT": (64, False), "UINT128": (128, False), "UINT256": (256, False),
}  # fmt: skip
_FLOATS = {"FLOAT": 24, "DOUBLE": 53}  # mantissa bits
_STRINGS = {"VARCHAR", "NVARCHAR", "CHAR", "NCHAR", "TEXT", "NAME"}
_BINARIES = {"BINARY", "VARBINARY", "BLOB"}
_DECIMALS = {"DECIMAL", "BIGDECIMAL", "DECIMAL32", "DECIMAL64", "DECIMAL128", "DECIMAL256"}
# fractional-second digits when none are declared
_TIMESTAMPS = {
    "TIMESTAMP_S": 0, "TIMESTAMP_MS": 3, "TIMESTAMP": 6, "TIMESTAMPNTZ": 6, "DATETIME": 6, "TIMESTAMP_NS": 9,
    "DATETIME2": 7, "SMALLDATETIME": 0, "DATETIME64": 3,
}  # fmt: skip
_ZONED = {"TIMESTAMPTZ": 6, "TIMESTAMPLTZ": 6}  # each its own family: tz and ltz differ in meaning
# where a dialect's defaults or synonyms differ from the generic ones above
_DIALECT_PRECISION: dict[str, dict[str, int]] = {
    "mysql": {"DATETIME": 0, "TIMESTAMP": 0},
    "tsql": {"DATETIME": 3, "TIMESTAMPTZ": 7},  # datetime: 1/300 s; datetimeoffset: 100 ns
    "snowflake": {"TIMESTAMP": 9, "TIMESTAMPNTZ": 9, "TIMESTAMPTZ": 9, "TIMESTAMPLTZ": 9},
    "clickhouse": {"DATETIME": 0},
}
# DECIMAL/NUMERIC written without precision, where the dialect's default is not sqlglot's (38, 0);
# None: unconstrained (Postgres `numeric`, Oracle `NUMBER` hold any precision and scale)
_DECIMAL_DEFAULTS: dict[str, dict[str, tuple[int, int] | None]] = {
    "bigquery": {"DECIMAL": (38, 9), "BIGDECIMAL": (76, 38)},
    "postgres": {"DECIMAL": None},
    "oracle": {"DECIMAL": None},
    "redshift": {"DECIMAL": (18, 0)},
    "tsql": {"DECIMAL": (18, 0)},
    "mysql": {"DECIMAL": (10, 0)},
    "spark": {"DECIMAL": (10, 0)},
    "databricks": {"DECIMAL": (10, 0)},
    "hive": {"DECIMAL": (10, 0)},
}
# Snowflake: every integer type is NUMBER(38,0); BigQuery: every integer type is INT64
_INTEGER_AS: dict[str, tuple[str, tuple[int, int]]] = {
    "snowflake": ("decimal", (38, 0)),
    "bigquery": ("integer", (64, 1)),
}
_DOUBLE_ONLY = {"snowflake"}  # FLOAT, REAL, DOUBLE are all 64-bit there


@dataclass(frozen=True, slots=True)
class TypeComparison:
    """How `new` relates to `old` for a reader: `narrowed` values may not fit, `changed` is unprovable."""

    direction: Direction
    old: str
    new: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class _Shape:
    family: str
    # integer: (bits, signed), decimal: (precision, scale), string: (length,), timestamp: (precision,)
    size: tuple[int | None, ...] = ()
    text: str = ""
    # nested types: array element (""), map key and value, struct fields by name
    children: tuple[tuple[str, _Shape], ...] = ()


# a trailing `COLLATE name` (`varchar(20) COLLATE nocase`, `text COLLATE "und-x-icu"`, pg_dump's
# `pg_catalog."C"`, Spark's `string collate UTF8_LCASE`): sqlglot's type parser drops it, so it is read
# apart. A name is dotted parts, each quoted or not (DuckDB chains collations: `nocase.noaccent`).
_PART = r"""(?:"[^"]+"|'[^']+'|[\w\-]+)"""
_COLLATE = re.compile(rf"\s+collate\s+({_PART}(?:\.{_PART})*)\s*$", re.IGNORECASE)
_QUOTED_PART = re.compile(_PART)
# the schemas a collation's name may be qualified with, and the names that mean the default
_QUALIFIERS = ("pg_catalog.", "system.builtin.")
_DEFAULT_COLLATIONS = {"default", "utf8_binary"}  # Spark's default is UTF8_BINARY


def split_collation(text: str) -> tuple[str, str | None]:
    """The type without its trailing COLLATE clause, and the collation (lower case, unquoted, without a
    `pg_catalog.` or Spark `SYSTEM.BUILTIN.` qualifier; None for none, or for the name of the default).

    >>> split_collation('varchar(20) COLLATE pg_catalog."NoCase"')
    ('varchar(20)', 'nocase')
    """
    found = _COLLATE.search(text)
    if found is None:
        return text, None
    name = ".".join(p.strip("\"'") for p in _QUOTED_PART.findall(found.group(1))).lower()
    for qualifier in _QUALIFIERS:
        name = name.removeprefix(qualifier)
    return text[: found.start()], None if name in _DEFAULT_COLLATIONS else name


def compare_types(old: str, new: str, dialect: str | None = None) -> TypeComparison:
    """Classify a physical type change (a collation aside: `split_collation`). Unparseable types compare
    by their normalized text."""
    old, new = split_collation(old)[0], split_collation(new)[0]
    if " ".join(old.lower().split()) == " ".join(new.lower().split()):
        return TypeComparison("same", old, new)  # the common case, without parsing
    a, b = _shape(old, dialect), _shape(new, dialect)
    if a.text == b.text:
        return TypeComparison("same", old, new)
    direction, detail = _compare(a, b)
    return TypeComparison(direction, old, new, detail)


def _build(text: str, dialect: str | None) -> Any:
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        return exp.DataType.build(text, dialect=dialect)
    except (ParseError, ValueError, TypeError):
        return None


def _params(dtype: Any) -> list[int | None]:
    from sqlglot import exp

    out: list[int | None] = []
    for p in dtype.expressions:
        inner = p.this if isinstance(p, exp.DataTypeParam) else p
        out.append(int(inner.name) if isinstance(inner, exp.Literal) and inner.name.isdigit() else None)
    return out


@functools.lru_cache(maxsize=4096)
def _shape(text: str, dialect: str | None) -> _Shape:
    dtype = _build(text, dialect)
    if dtype is None or dtype.this.name == "USERDEFINED":
        return _Shape("unknown", (), " ".join(text.lower().split()))
    return _shape_of(dtype, text, dialect)


def _nested(dtype: Any, dialect: str | None) -> _Shape | None:
    """An array, map or struct with its element types as shapes; None for a flat type."""
    from sqlglot import exp

    if not dtype.args.get("nested") or not dtype.expressions:
        return None
    children: list[tuple[str, _Shape]] = []
    names = ("key", "value") if dtype.this.name == "MAP" else ("",) * len(dtype.expressions)
    for name, part in zip(names, dtype.expressions, strict=False):
        if isinstance(part, exp.ColumnDef) and isinstance(part.args.get("kind"), exp.DataType):
            name, part = part.name.lower(), part.args["kind"]
        if not isinstance(part, exp.DataType):
            return None
        children.append((name, _shape_of(part, part.sql(dialect=dialect), dialect)))
    return _Shape(dtype.this.name.lower(), (), dtype.sql(dialect=dialect), tuple(children))


def _shape_of(dtype: Any, text: str, dialect: str | None) -> _Shape:
    nested = _nested(dtype, dialect)
    if nested is not None:
        return nested
    kind = dtype.this.name
    if kind in _STRINGS and not dtype.expressions:
        # some dialects (duckdb) drop `varchar(n)`; the declared length is still a promise to readers
        generic = _build(text, None)
        if generic is not None and generic.this.name in _STRINGS:
            dtype = generic
    params = _params(dtype)
    rendered = dtype.sql(dialect=dialect)
    name = (dialect or "").split(",")[0].strip().lower()
    if kind in _INTEGERS:
        bits, signed = _INTEGERS[kind]
        if signed and name in _INTEGER_AS:
            family, size = _INTEGER_AS[name]
            if family == "decimal":
                return _Shape("decimal", size, f"DECIMAL({size[0]}, {size[1]})")
            return _Shape(family, size, f"INT{size[0]}")
        return _Shape("integer", (bits, int(signed)), rendered)
    if kind in _DECIMALS:
        fallback = (76 if kind == "BIGDECIMAL" else 38, 0)
        default = _DECIMAL_DEFAULTS.get(name, {}).get(kind, fallback)
        if default is None and not params:
            return _Shape("decimal", (None, None), "NUMERIC")  # unconstrained
        default = default or fallback
        precision = params[0] if params else default[0]
        scale = params[1] if len(params) > 1 else (default[1] if not params else 0)
        return _Shape("decimal", (precision, scale), f"DECIMAL({precision}, {scale})")
    if kind in _FLOATS:
        if name in _DOUBLE_ONLY:
            return _Shape("float", (_FLOATS["DOUBLE"],), "DOUBLE")
        return _Shape("float", (_FLOATS[kind],), rendered)
    if dtype.this.name in _STRINGS:
        return _Shape("string", (params[0] if params else None,), rendered)
    if kind in _BINARIES:
        return _Shape("binary", (params[0] if params else None,), rendered)
    if kind in _TIMESTAMPS or kind in _ZONED:
        digits = _DIALECT_PRECISION.get(name, {}).get(kind, {**_TIMESTAMPS, **_ZONED}[kind])
        precision = params[0] if params else digits
        family = "timestamp" if kind in _TIMESTAMPS else kind.lower()
        # the precision spelled out, so `datetime2` and `datetime2(7)` read as the same type
        return _Shape(family, (precision,), f"{rendered.split('(')[0]}({precision})")
    if kind == "DATE":
        return _Shape("date", (), rendered)
    return _Shape(kind.lower(), tuple(params), rendered)


def _int_range(bits: int, signed: int) -> tuple[int, int]:
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)


def _digits(bits: int, signed: int) -> int:
    return len(str(max(abs(v) for v in _int_range(bits, signed))))


def _contains(outer: tuple[int, int], inner: tuple[int, int]) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def _compare(a: _Shape, b: _Shape) -> tuple[Direction, str]:
    if a.children or b.children:
        return _compare_nested(a, b)
    if a.family == b.family == "integer":
        ra, rb = _int_range(*a.size), _int_range(*b.size)  # type: ignore[arg-type]
        if _contains(rb, ra):
            return "widened", "the new integer type holds every old value"
        lost = []  # which old values the new range misses: int -> uint loses the negatives
        if rb[0] > ra[0]:
            lost.append("negative values" if rb[0] == 0 else f"values below {rb[0]}")
        if rb[1] < ra[1]:
            lost.append(f"values above {rb[1]}")
        if len(lost) == 2 and rb[0] < 0:
            lost = [f"values outside {rb[0]}..{rb[1]}"]
        return "narrowed", f"{' and '.join(lost)} no longer fit"
    if a.family == b.family == "decimal" and None in (a.size[0], b.size[0]):
        if b.size[0] is None:
            return "widened", "the unconstrained numeric holds every value"
        return "narrowed", f"values beyond {b.text} no longer fit the constrained type"
    if a.family == b.family == "decimal":
        (pa, sa), (pb, sb) = a.size, b.size
        int_a, int_b = (pa or 0) - (sa or 0), (pb or 0) - (sb or 0)
        if (sb or 0) < (sa or 0):
            return "narrowed", f"scale reduced {sa} -> {sb}: digits after the point are lost"
        if int_b < int_a:
            # what shrank is the room before the point: decimal(10,2) -> decimal(10,4) keeps precision 10
            return "narrowed", f"integer digits {int_a} -> {int_b}: large values no longer fit"
        return "widened", "precision or scale raised"
    if a.family == b.family and a.family in ("string", "binary"):
        la, lb = a.size[0], b.size[0]
        if la == lb:
            return "changed", f"{a.text} -> {b.text}"
        if lb is None or (la is not None and lb > la):
            return "widened", f"length {la or 'unbounded'} -> {lb or 'unbounded'}"
        return "narrowed", f"length {la or 'unbounded'} -> {lb}: longer values no longer fit"
    if a.family == b.family == "float":
        return ("widened", "more precision") if b.size > a.size else ("narrowed", "precision lost")
    if a.family == b.family and a.family in ("timestamp", *(z.lower() for z in _ZONED)):
        (xa,), (xb,) = a.size, b.size
        if xa == xb:
            return "changed", f"{a.text} -> {b.text}"
        if (xb or 0) > (xa or 0):
            return "widened", f"fractional-second digits {xa} -> {xb}"
        return "narrowed", f"fractional-second digits {xa} -> {xb}: sub-second precision lost"
    if a.family == "timestamp" and b.family == "date":
        return "narrowed", "the time of day is lost"
    if a.family == "integer" and b.family == "decimal":
        pb, sb = b.size
        if pb is None:
            return "widened", "the unconstrained numeric holds every integer value"
        if (pb or 0) - (sb or 0) >= _digits(*a.size):  # type: ignore[arg-type]
            return "widened", "the decimal holds every integer value"
        return "narrowed", "large integers no longer fit"
    if a.family == "decimal" and b.family == "integer":
        if a.size[0] is None or a.size[1]:
            return "narrowed", "the fraction is lost"
        if _digits(*b.size) > (a.size[0] or 0):  # type: ignore[arg-type]
            return "widened", "the integer holds every value"
        return "narrowed", "large values no longer fit"
    if a.family == "integer" and b.family == "float":
        if (a.size[0] or 0) < (b.size[0] or 0):  # the mantissa holds every integer of that width
            return "widened", "the float holds every integer value exactly"
        return "changed", "large integers lose precision as floats"
    return "changed", f"{a.text} -> {b.text}"


def _compare_nested(a: _Shape, b: _Shape) -> tuple[Direction, str]:
    """Element by element: any element narrowed is narrowed, all widened (or the same) is widened."""
    if a.family != b.family or [n for n, _ in a.children] != [n for n, _ in b.children]:
        return "changed", f"{a.text} -> {b.text}"
    found: dict[Direction, list[str]] = {}
    for (name, x), (_, y) in zip(a.children, b.children, strict=True):
        if x.text == y.text:
            continue
        direction, detail = _compare(x, y)
        where = f"field {name}" if a.family == "struct" else (name or "element")
        found.setdefault(direction, []).append(f"{where}: {x.text} -> {y.text} ({detail})")
    if not found:
        return "changed", f"{a.text} -> {b.text}"  # same elements, other spelling: cannot tell
    # one narrowed element is enough for old values not to fit; an unprovable one makes the rest unknown
    overall: Direction = next(d for d in ("narrowed", "changed", "widened") if d in found)
    return overall, "; ".join(d for details in found.values() for d in details)
