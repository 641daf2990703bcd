"""Row digests that are identical in DuckDB, PostgreSQL and Spark for the same logical row. [pure]

A cross-database diff can only skip a segment when both engines, each over its own copy, compute the same
checksum for the same rows, whatever each one's types are called. So every compared value is first
normalized to one canonical text, then the row's text is hashed with md5 (all three have it) and the first
15 hex digits (60 bits: positive in every engine's BIGINT) are the row's digest:

- integers: their decimal text; decimals, and any number compared with a float: rounded to a scale
  (the larger decimal scale, at least `FLOAT_SCALE` when a float is involved, or the tolerance's `dec:N`)
  and printed as DECIMAL(38, scale);
- timestamps: UTC, `YYYY-MM-DD HH:MM:SS.ffffff` (a timestamp without time zone is taken as UTC);
  bytes as hex digits; dates ISO; booleans `true`/`false`; everything else its text;
- NULL: `n`, a value: `v` + its text; columns joined by chr(30) (the ASCII record separator).

The text forms are built once as sqlglot trees and rendered per dialect; the three places where a
transpile cannot give the same value (hex to integer, UTC text of a timestamp, hex of bytes, integer division) are
dialect switches below, each with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from app.canary.schema import Tolerance

# Decimals a float is checksummed at: differences below half a millionth are not looked for in a float
# column (a float printed with more digits is not the same text in PostgreSQL, which rounds it to 15
# significant digits on its way to NUMERIC, and in DuckDB or Spark, which convert it exactly).
FLOAT_SCALE = 6
# Scale of a PostgreSQL NUMERIC without one (any scale; 38 digits is what DuckDB and Spark hold).
UNBOUNDED_SCALE = 10
HASH_HEX_DIGITS = 15  # 60 bits

_INT = re.compile(
    r"^(tinyint|smallint|integer|int|bigint|hugeint|int[248]|utinyint|usmallint|uinteger|ubigint|"
    r"long|short|byte|serial|bigserial)$"
)
_DEC = re.compile(r"^(decimal|numeric)\s*(\(\s*(\d+)\s*(,\s*(\d+)\s*)?\))?$")
_FLOAT = re.compile(r"^(real|double|double precision|float|float[48]?)$")
_TSTZ = re.compile(r"^(timestamp(\(\d\))? with time zone|timestamptz|timestamp_ltz)$")
_TS = re.compile(
    r"^(timestamp(\(\d\))?( without time zone)?|timestamp_ntz|timestamp_ns|timestamp_ms|"
    r"timestamp_s|datetime)$"
)
_TEXT = re.compile(
    r"^(varchar|text|string|char|character|character varying|bpchar|uuid|name|citext)"
    r"(\s*\(\d+\))?$"
)


@dataclass(frozen=True, slots=True)
class Canonical:
    """The engine-independent kind of one column: int, decimal (with its scale), float, bool, date,
    timestamp, timestamptz, text or other (compared through its text, which engines may spell apart)."""

    kind: str
    scale: int = 0

    @property
    def local_type(self) -> str:
        """The DuckDB type its fetched text is loaded as, for the local comparison."""
        return {
            "int": "HUGEINT",
            "decimal": f"DECIMAL(38,{self.scale})",
            "float": "DOUBLE",
            "bool": "BOOLEAN",
            "date": "DATE",
            "timestamp": "TIMESTAMP",
            "timestamptz": "TIMESTAMPTZ",
            "binary": "BLOB",
        }.get(self.kind, "VARCHAR")


def canonical(type_name: str, dialect: str) -> Canonical:
    """The canonical kind of an engine's type name, as `Engine.columns` reports it."""
    t = " ".join(type_name.lower().split())
    if _INT.match(t):
        return Canonical("int")
    m = _DEC.match(t)
    if m:
        if m.group(3) is None:  # PostgreSQL NUMERIC (any scale); DuckDB/Spark bare DECIMAL is (18|10, 0)
            return Canonical("decimal", UNBOUNDED_SCALE if dialect == "postgres" else 0)
        scale = int(m.group(5) or 0)
        return Canonical("int") if scale == 0 and int(m.group(3)) <= 18 else Canonical("decimal", scale)
    if _FLOAT.match(t):
        return Canonical("float")
    if t in ("boolean", "bool"):
        return Canonical("bool")
    if t == "date":
        return Canonical("date")
    if _TSTZ.match(t) or (dialect == "spark" and t == "timestamp"):  # Spark's TIMESTAMP is an instant
        return Canonical("timestamptz")
    if _TS.match(t):
        return Canonical("timestamp")
    if _TEXT.match(t):
        return Canonical("text")
    if t in ("blob", "bytea", "binary", "varbinary"):
        return Canonical("binary")
    return Canonical("other")


@dataclass(frozen=True, slots=True)
class Normal:
    """How one column pair is normalized on both sides: `form` int | number | timestamp | text."""

    name: str
    form: str
    scale: int = 0


def plan_normals(
    names: Sequence[str],
    left: Mapping[str, Canonical],
    right: Mapping[str, Canonical],
    tolerances: Mapping[str, Tolerance] | None = None,
) -> tuple[Normal, ...]:
    """One Normal per column, chosen from both sides' kinds so that equal values print equally."""
    out = []
    for name in names:
        kinds = {left[name].kind, right[name].kind}
        tol = (tolerances or {}).get(name)
        numeric = kinds <= {"int", "decimal", "float"}
        if numeric and kinds == {"int"} and (tol is None or tol.decimals is None):
            out.append(Normal(name, "int"))
        elif numeric:
            scale = max(left[name].scale, right[name].scale)
            if "float" in kinds:
                scale = max(scale, FLOAT_SCALE)
            if tol is not None and tol.decimals is not None:
                scale = tol.decimals
            out.append(Normal(name, "number", min(scale, 30)))
        elif kinds <= {"timestamp", "timestamptz", "date"} and kinds != {"date"}:
            out.append(Normal(name, "timestamp"))
        elif kinds == {"binary"}:
            out.append(Normal(name, "binary"))
        else:
            out.append(Normal(name, "text"))
    return tuple(out)


def parse(sql: str, dialect: str = "duckdb") -> exp.Expr:
    return sqlglot.parse_one(sql, read=dialect)


def column(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def normalized(n: Normal, kind: Canonical, dialect: str) -> exp.Expr:
    """The canonical text of column `n` (NULL stays NULL) in `dialect`."""
    c = column(n.name)
    if n.form == "int":
        return exp.cast(c, "VARCHAR")
    if n.form == "number":
        text = exp.cast(exp.cast(c, f"DECIMAL(38, {n.scale})"), "VARCHAR")
        if kind.kind != "float":
            return text
        # NaN, ±inf and floats too large for the DECIMAL have none (DuckDB and Spark raise): their own
        # text, which engines spell apart (nan, NaN): such a segment is fetched, and compared by value
        fits = exp.LT(this=exp.Abs(this=c.copy()), expression=exp.Literal.number(f"1e{38 - n.scale}"))
        return exp.case().when(fits, text).else_(exp.cast(c.copy(), "VARCHAR"))
    if n.form == "timestamp":
        return utc_text(c, kind, dialect)
    if n.form == "binary":
        return hex_text(c, dialect)
    return exp.cast(c, "VARCHAR")


def hex_text(c: exp.Expr, dialect: str) -> exp.Expr:
    """Bytes as lower-case hex digits. A dialect switch: bytes cast to text are each engine's own
    (DuckDB escapes them, \\x00; Spark decodes them as UTF-8; PostgreSQL writes \\x0001)."""
    if dialect == "postgres":
        return parse(f"ENCODE({c.sql(dialect)}, 'hex')", "postgres")
    return exp.Lower(this=exp.Hex(this=c.copy()))


def utc_text(c: exp.Expr, kind: Canonical, dialect: str) -> exp.Expr:
    """`YYYY-MM-DD HH:MM:SS.ffffff` in UTC. A dialect switch: the time zone conversion of an instant is
    spelled differently in each (Spark's AT TIME ZONE transpile, from_utc_timestamp, would shift it)."""
    sql = c.sql(dialect)
    if dialect == "postgres":
        value = f"{sql} AT TIME ZONE 'UTC'" if kind.kind == "timestamptz" else f"CAST({sql} AS TIMESTAMP)"
        return parse(f"TO_CHAR({value}, 'YYYY-MM-DD HH24:MI:SS.US')", "postgres")
    if dialect == "spark":
        value = (
            f"TO_UTC_TIMESTAMP({sql}, CURRENT_TIMEZONE())"  # rendered in the session's zone otherwise
            if kind.kind == "timestamptz"
            else f"CAST({sql} AS TIMESTAMP_NTZ)"
        )
        return parse(f"DATE_FORMAT({value}, 'yyyy-MM-dd HH:mm:ss.SSSSSS')", "spark")
    value = f"({sql} AT TIME ZONE 'UTC')" if kind.kind == "timestamptz" else f"CAST({sql} AS TIMESTAMP)"
    return parse(f"STRFTIME({value}, '%Y-%m-%d %H:%M:%S.%f')", "duckdb")


def row_text(parts: Sequence[exp.Expr]) -> exp.Expr:
    """The values' texts, each `v`-prefixed (`n` for NULL), joined by chr(30)."""
    out: exp.Expr | None = None
    for part in parts:
        piece = exp.Coalesce(
            this=exp.DPipe(this=exp.Literal.string("v"), expression=part),
            expressions=[exp.Literal.string("n")],
        )
        out = (
            piece
            if out is None
            else exp.DPipe(
                this=exp.DPipe(this=out, expression=exp.Chr(expressions=[exp.Literal.number(30)])),
                expression=piece,
            )
        )
    assert out is not None
    return out


def hash60(text: exp.Expr, dialect: str) -> exp.Expr:
    """The first 60 bits of md5(text) as a BIGINT >= 0. A dialect switch: each engine turns hex digits
    into an integer its own way (and PostgreSQL's md5 must not see a NULL-safe concat rewrite)."""
    hex15 = f"SUBSTRING(MD5({text.sql(dialect)}), 1, {HASH_HEX_DIGITS})"
    if dialect == "postgres":
        return parse(f"CAST(CAST('x0' || {hex15} AS BIT(64)) AS BIGINT)", "postgres")
    if dialect == "spark":
        return parse(f"CAST(CONV({hex15}, 16, 10) AS BIGINT)", "spark")
    return parse(f"CAST('0x' || {hex15} AS BIGINT)", "duckdb")


def int_div(a: exp.Expr, width: int, dialect: str) -> exp.Expr:
    """a // width for a >= 0 in BIGINT arithmetic. A dialect switch: DuckDB's `/` is a float division
    (60-bit values lose digits), and the transpile of `//` to PostgreSQL, DIV(), runs in NUMERIC."""
    if dialect == "postgres":
        return exp.Div(this=exp.paren(a), expression=exp.Literal.number(width), typed=True)
    return exp.IntDiv(this=exp.paren(a), expression=exp.Literal.number(width))


def any_null(names: Sequence[str]) -> exp.Expr:
    return exp.or_(*(exp.Is(this=column(k), expression=exp.Null()) for k in names))
