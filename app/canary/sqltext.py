"""DuckDB SQL as text: quoting, and the few pieces the reconciliation's queries are made of. [pure]

The reconciliation (`queries.py`, `rowsets.py`) is a fixed family of DuckDB-only queries over names that
DuckDB itself reported, run by `data-diff`, a command timed as a whole process. Building it as sqlglot
trees cost more than the work it saves: importing sqlglot and loading its DuckDB generator took ~85 ms
of a ~0.5 s diff of two 1M-row tables, and generating the text another ~15 ms. So it is written as text,
with one rule that keeps it safe: every name goes through `ident` and every value through `lit`; no other
text from outside is ever interpolated. (SQL that comes from users, the models, still goes through
sqlglot: parsing, qualifying and transpiling are what sqlglot is for.)
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence

# Text of a DuckDB expression or query, as built by the functions below.
Sql = str


def ident(name: str) -> Sql:
    """A quoted identifier: any name DuckDB accepts, embedded quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: bool | int | float | str | decimal.Decimal | None) -> Sql:
    """A literal: NULL, TRUE/FALSE, an integer, a DOUBLE, a DECIMAL or a quoted string."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # through text: exact (a bare 0.1 would be a DECIMAL), and NaN and inf
        return f"CAST('{value!r}' AS DOUBLE)"
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} has no DuckDB decimal literal")
        return str(value)
    parts = ["'" + part.replace("'", "''") + "'" for part in value.split("\x00")]
    return parts[0] if len(parts) == 1 else "(" + " || chr(0) || ".join(parts) + ")"  # NUL: no escape


def table(name: str, schema: str | None = None) -> Sql:
    """A table reference `"schema"."name"`."""
    return f"{ident(schema)}.{ident(name)}" if schema else ident(name)


def col(name: str, tbl: str | None = None) -> Sql:
    """A column reference, qualified with the (unquoted) relation alias `tbl` when given."""
    return f"{ident(tbl)}.{ident(name)}" if tbl else ident(name)


def alias(expr: Sql, name: str) -> Sql:
    return f"{expr} AS {ident(name)}"


def cast(expr: Sql, duck_type: str) -> Sql:
    """CAST to a DuckDB type name as DuckDB's DESCRIBE spells it (or a plain one: DOUBLE, VARCHAR)."""
    return f"CAST({expr} AS {duck_type})"


def filtered(aggregate: Sql, condition: Sql) -> Sql:
    return f"{aggregate} FILTER (WHERE {condition})"


def struct(fields: Sequence[tuple[str, Sql]]) -> Sql:
    """A struct literal `{'name': expr, ...}`."""
    return "{" + ", ".join(f"{lit(name)}: {expr}" for name, expr in fields) + "}"


def and_(*conditions: Sql) -> Sql:
    """The conjunction, parenthesized (TRUE when there is nothing to join)."""
    if not conditions:
        return "TRUE"
    return "(" + " AND ".join(conditions) + ")" if len(conditions) > 1 else conditions[0]


def or_(*conditions: Sql) -> Sql:
    """The disjunction, parenthesized (FALSE when there is nothing to join)."""
    if not conditions:
        return "FALSE"
    return "(" + " OR ".join(conditions) + ")" if len(conditions) > 1 else conditions[0]


def is_null(expr: Sql) -> Sql:
    return f"{expr} IS NULL"


def not_null(expr: Sql) -> Sql:
    return f"{expr} IS NOT NULL"


def subquery(query: Sql, name: str) -> Sql:
    return f"({query}) AS {ident(name)}"


def select(columns: Sequence[Sql], source: Sql, where: Sql | None = None) -> Sql:
    """SELECT columns FROM source [WHERE where]."""
    text = f"SELECT {', '.join(columns)} FROM {source}"
    return f"{text} WHERE {where}" if where else text


# -- the few pieces other engines spell differently ---------------------------------------------------
# The reconciliation's SQL is DuckDB's and is transpiled by sqlglot for PostgreSQL and Spark
# (app.engines.transpile). These functions return DuckDB-dialect text that transpiles to what each
# engine needs where a plain transpile cannot: the text for "duckdb" is what the queries always had.


def hash64(value: Sql, dialect: str = "duckdb") -> Sql:
    """A 64-bit hash of a non-NULL value (PostgreSQL hashes its text; Spark has xxhash64)."""
    if dialect == "postgres":
        return f'hashtextextended(CAST({value} AS VARCHAR) COLLATE "C", 0)'
    if dialect == "spark":
        return f"xxhash64({value})"
    return f"hash({value})"


# Spark's to_json writes timestamps to the millisecond unless told otherwise. (VAR_MAP is how sqlglot
# reads the map() literal that Spark wants for options: this text is for Spark only.)
_SPARK_JSON_OPTIONS = "VAR_MAP({})".format(
    ", ".join(
        lit(text)
        for text in (
            "timestampFormat",
            "yyyy-MM-dd HH:mm:ss.SSSSSSXXX",
            "timestampNTZFormat",
            "yyyy-MM-dd HH:mm:ss.SSSSSS",
        )
    )
)


def nested_text(value: Sql, dialect: str = "duckdb") -> Sql:
    """The text of a list, struct or map value, different for any two values. Spark casts nested values
    to text without quoting what they hold: a struct of 'x, y' and 'z' and one of 'x' and 'y, z' both
    print as {x, y, z}, [NULL] and ['null'] as [null]; its JSON quotes them."""
    return f"to_json({value}, {_SPARK_JSON_OPTIONS})" if dialect == "spark" else cast(value, "VARCHAR")


def isfinite(value: Sql, dialect: str = "duckdb") -> Sql:
    """Neither NaN nor ±inf (all three engines order NaN above +inf, so one comparison says it)."""
    if dialect == "duckdb":
        return f"isfinite({value})"
    return f"abs({value}) < CAST('Infinity' AS DOUBLE)"


# PostgreSQL's NUMERIC without a precision or scale (any number exactly), in text that sqlglot transpiles
# to it: sqlglot reads a bare DECIMAL or NUMERIC as DuckDB's DECIMAL(18,3); a schema-qualified name it
# leaves as it is.
PG_NUMERIC = "pg_catalog.numeric"


def round_to(value: Sql, decimals: int, dialect: str = "duckdb") -> Sql:
    """`value` rounded to `decimals` places. PostgreSQL rounds to places only as NUMERIC: cast without a
    scale, so that the value is rounded once, at `decimals`, however many places it has."""
    if dialect == "postgres":
        value = cast(value, PG_NUMERIC)
    return f"round({value}, {lit(decimals)})"


def approx_distinct(value: Sql, dialect: str = "duckdb") -> Sql:
    """An estimate of the distinct non-NULL values; PostgreSQL has no HyperLogLog: the exact count."""
    if dialect == "postgres":
        return f"count(DISTINCT {value})"
    return f"approx_count_distinct({value})"


def order_key(expr: Sql, text: bool, dialect: str = "duckdb") -> Sql:
    """An ORDER BY item that sorts text by its bytes, as DuckDB and Spark do (PostgreSQL: by the
    database's collation unless told "C"), so that every engine picks the same example rows."""
    return f'{expr} COLLATE "C"' if text and dialect == "postgres" else expr
