"""A number from the md5 of a text that DuckDB, PostgreSQL and Spark compute identically. [pure]

md5 is built into all three and hashes the text's UTF-8 bytes; its first 12 hex digits (48 bits, positive
in every engine's BIGINT) are read as an integer the way each engine can. The canary's key sampling
(app.canary.sampling) and the data-health category buckets (app.slo.health_sql) are both this number
modulo their bucket count, so a value lands in the same bucket whichever engine computed it.
Also here: the PostgreSQL hash that stands in for a value in an exact COUNT(DISTINCT).
"""

from __future__ import annotations

import hashlib

import sqlglot.errors
from sqlglot import exp

HEX_DIGITS = 12  # 48 bits


def md5_48(text: exp.Expr, dialect: str) -> exp.Expr:
    """The first 48 bits of md5(`text`) as a BIGINT >= 0, generated for `dialect` (duckdb, postgres,
    spark). A dialect switch: each engine turns hex digits into an integer its own way."""
    digest = exp.Anonymous(this="md5", expressions=[text])
    hex12 = exp.Substring(this=digest, start=exp.Literal.number(1), length=exp.Literal.number(HEX_DIGITS))

    def cast(e: exp.Expr, to: str) -> exp.Expr:
        return exp.Cast(this=e, to=exp.DataType.build(to, dialect="duckdb"))

    if dialect == "postgres":  # 'x' || hex is a bit-string literal's text; bit(48) -> bigint
        return cast(cast(exp.DPipe(this=exp.Literal.string("x"), expression=hex12), "BIT(48)"), "BIGINT")
    if dialect == "spark":
        return cast(
            exp.Anonymous(this="conv", expressions=[hex12, exp.Literal.number(16), exp.Literal.number(10)]),
            "BIGINT",
        )
    return cast(exp.DPipe(this=exp.Literal.string("0x"), expression=hex12), "UBIGINT")


def md5_48_mod(text: exp.Expr, modulus: int, dialect: str) -> exp.Expr:
    """md5_48(`text`) % `modulus`. On DuckDB, for a modulus dividing 256, from one md5_number() call
    (the digest as a HUGEINT read little-endian): the remainder is that of the 48 bits' last byte,
    digest byte 5, which is bits 40..47 there, and skips md5()'s hex text (a data-health profile of
    1M rows: 0.53 s with the hex, see benchmarks/health.py)."""
    if dialect == "duckdb" and 0 < modulus <= 256 and 256 % modulus == 0:
        number = exp.Anonymous(this="md5_number", expressions=[text])
        shifted = exp.Paren(this=exp.BitwiseRightShift(this=number, expression=exp.Literal.number(40)))
        low = exp.BitwiseAnd(this=shifted, expression=exp.Literal.number(modulus - 1))
        return exp.Cast(this=exp.Paren(this=low), to=exp.DataType.build("INTEGER"))
    return exp.Mod(this=exp.Paren(this=md5_48(text, dialect)), expression=exp.Literal.number(modulus))


def python_md5_48(text: str) -> int:
    """The same number computed in Python (for tests and for explaining a bucket)."""
    return int(hashlib.md5(text.encode()).hexdigest()[:HEX_DIGITS], 16)


# PostgreSQL's exact COUNT(DISTINCT) sorts the values: text under its collation and numeric digit by digit
# are slow sorts; a 64-bit hash that is equal exactly when the values are sorts like a bigint (10M rows,
# a data-diff's profile of 5 columns: 19 s -> 13 s a side, benchmarks/engines.py).
_PG_TEXT_HASHED = (*exp.DataType.TEXT_TYPES, exp.DataType.Type.BPCHAR, exp.DataType.Type.UUID)
# PostgreSQL's types without a default btree or hash operator class (pg_opclass): no equality that
# COUNT(DISTINCT) or GROUP BY could use ("could not identify an equality operator for type json").
_PG_NO_EQUALITY = frozenset(
    {"json", "jsonpath", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle"}
    | {"txid_snapshot", "pg_snapshot"}
)


def postgres_lacks_equality(type_: str) -> bool:
    """Whether PostgreSQL cannot tell values of `type_` (as format_type names it; arrays of them too)
    apart: they are counted and grouped by their text instead."""
    name = type_.strip().lower()
    while name.endswith("[]"):
        name = name[:-2]
    return name in _PG_NO_EQUALITY


def postgres_distinct_operand(type_: str, value: exp.Expr) -> exp.Expr | None:
    """What PostgreSQL's COUNT(DISTINCT) should count for `value`, of `type_` (as format_type names it):
    a 64-bit hash equal exactly when the values' bytes are, `hashtextextended` of the text `COLLATE "C"`
    for text types (as DuckDB counts: a nondeterministic collation's `=` would take 'a' and 'A' for one
    value; char(n) drops its padding in the cast),
    `hash_numeric_extended` for numeric (1.5 and 1.50 hash alike; seeded by the sign, which PostgreSQL's
    numeric hash ignores), the text's hash too for the types PostgreSQL has no equality for
    (`postgres_lacks_equality`: json, xml, point, ...). None: count the value itself (integers, floats,
    dates and timestamps sort fast as they are; citext and user types are left alone). Two distinct
    values collide with odds of about 3 in a million among 10M values."""
    zero = exp.Literal.number(0)
    text = exp.Collate(
        this=exp.Cast(this=value.copy(), to=exp.DataType.build("TEXT")),
        expression=exp.Identifier(this="C", quoted=True),
    )
    if postgres_lacks_equality(type_):
        return exp.Anonymous(this="hashtextextended", expressions=[text, zero])
    try:
        dtype = exp.DataType.build(type_.strip(), dialect="postgres")
    except (sqlglot.errors.SqlglotError, ValueError):  # sqlglot cannot read it: a user-defined type
        return None
    if dtype.is_type(*_PG_TEXT_HASHED):
        return exp.Anonymous(this="hashtextextended", expressions=[text, zero])
    if dtype.is_type(exp.DataType.Type.DECIMAL):
        # PostgreSQL's numeric hash leaves the sign out (x and -x hash alike): negative values take
        # another seed, so they hash apart from their opposites
        negative = exp.Case(
            ifs=[exp.If(this=exp.LT(this=value.copy(), expression=zero.copy()), true=exp.Literal.number(1))],
            default=zero.copy(),
        )
        return exp.Anonymous(this="hash_numeric_extended", expressions=[value.copy(), negative])
    return None
