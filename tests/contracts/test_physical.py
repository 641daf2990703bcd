"""Physical type comparison keeps sizes and precision (dbt strips them: varchar(10) -> varchar(3) passes)."""

from __future__ import annotations

import pytest

from app.contracts.physical import compare_types, split_collation

CASES = [
    ("varchar(50)", "varchar(20)", "duckdb", "narrowed"),  # duckdb's parser drops the length; we keep it
    ("varchar(20)", "varchar(50)", "duckdb", "widened"),
    ("varchar(20)", "varchar", "snowflake", "widened"),
    ("varchar", "varchar(20)", None, "narrowed"),
    ("VARCHAR(20)", "varchar(20)", None, "same"),
    ("varchar", "text", "duckdb", "same"),
    ("varchar(20)", "varchar(20) COLLATE nocase", None, "same"),  # a collation is no size: columns.py
    ("varchar(20) collate nocase", "varchar(10)", None, "narrowed"),
    ("string collate UTF8_LCASE", "string", "spark", "same"),
    ("int", "bigint", None, "widened"),
    ("bigint", "int", None, "narrowed"),
    ("int64", "bigint", "bigquery", "same"),
    ("uint", "int", None, "narrowed"),  # values above 2^31 no longer fit
    ("int", "int unsigned", "mysql", "narrowed"),  # negative values no longer fit
    ("integer unsigned", "integer", "mysql", "narrowed"),
    ("int unsigned", "bigint", "mysql", "widened"),
    ("array<bigint>", "array<int>", None, "narrowed"),
    ("array<int>", "array<bigint>", None, "widened"),
    ("int[]", "bigint[]", "duckdb", "widened"),
    ("map<string,bigint>", "map<string,int>", None, "narrowed"),
    ("struct<a int, b varchar(10)>", "struct<a bigint, b varchar(5)>", None, "narrowed"),
    ("struct<a int, b varchar(10)>", "struct<a bigint, b varchar(20)>", None, "widened"),
    ("struct<a int>", "struct<b int>", None, "changed"),  # a field renamed: no provable direction
    ("array<struct<a bigint>>", "array<struct<a int>>", None, "narrowed"),
    ("array<int>", "int", None, "changed"),
    ("NUMBER", "INT", "snowflake", "same"),  # every Snowflake integer type is NUMBER(38,0)
    ("INT", "BIGINT", "snowflake", "same"),
    ("NUMBER(10,0)", "INT", "snowflake", "widened"),
    ("INT", "NUMBER(10)", "snowflake", "narrowed"),
    ("REAL", "DOUBLE", "snowflake", "same"),  # all 64-bit floats there
    ("int", "bigint", "bigquery", "same"),  # every BigQuery integer type is INT64
    ("NUMERIC", "NUMERIC(38,9)", "bigquery", "same"),
    ("numeric(10,2)", "numeric", "postgres", "widened"),  # unconstrained: any precision and scale
    ("numeric", "numeric(10,2)", "postgres", "narrowed"),
    ("numeric", "decimal", "postgres", "same"),
    ("bigint", "numeric", "postgres", "widened"),
    ("numeric", "bigint", "postgres", "narrowed"),
    ("NUMBER", "NUMBER(10,2)", "oracle", "narrowed"),
    ("decimal", "decimal(18,3)", "duckdb", "same"),  # DuckDB's default
    ("decimal(15,2)", "decimal", "duckdb", "widened"),  # (18,3): one more integer digit and decimal
    ("decimal", "decimal(18,0)", "redshift", "same"),
    ("decimal", "decimal(10,0)", "mysql", "same"),
    ("decimal(12,2)", "decimal", "databricks", "narrowed"),  # decimal(10,0) there
    ("datetime2(7)", "datetime2(3)", "tsql", "narrowed"),  # fractional seconds reduced
    ("datetime2", "datetime2(7)", "tsql", "same"),
    ("datetime2(3)", "datetime2", "tsql", "widened"),
    ("datetime2", "datetime", "tsql", "narrowed"),
    ("datetimeoffset(7)", "datetimeoffset(3)", "tsql", "narrowed"),
    ("datetime", "datetime(3)", "mysql", "widened"),  # mysql's datetime has whole seconds
    ("timestamp", "timestamp(9)", "snowflake", "same"),
    ("timestamptz(6)", "timestamptz(3)", "postgres", "narrowed"),
    ("timestamp_tz", "timestamp_ltz", "snowflake", "changed"),
    ("uinteger", "bigint", "duckdb", "widened"),
    ("decimal(10,2)", "decimal(12,2)", None, "widened"),
    ("decimal(12,2)", "decimal(12,1)", None, "narrowed"),  # scale reduced
    ("decimal(12,2)", "decimal(10,2)", None, "narrowed"),  # precision reduced
    ("decimal(12,2)", "decimal(13,3)", None, "widened"),
    ("decimal(12,2)", "decimal(12,3)", None, "narrowed"),  # one less integer digit
    ("int", "decimal(12,2)", None, "widened"),
    ("bigint", "decimal(12,2)", None, "narrowed"),
    ("decimal(12,2)", "bigint", None, "narrowed"),  # the fraction is lost
    ("float", "double", "duckdb", "widened"),
    ("double", "float", "duckdb", "narrowed"),
    ("int", "double", None, "widened"),
    ("bigint", "double", None, "changed"),
    ("timestamp", "date", "duckdb", "narrowed"),
    ("date", "timestamp", "duckdb", "changed"),
    ("timestamp", "timestamptz", "duckdb", "changed"),
    ("timestamp_ms", "timestamp", "duckdb", "widened"),
    ("timestamp", "timestamp_s", "duckdb", "narrowed"),
    ("int", "varchar", None, "changed"),
    ("geography", "geometry", None, "changed"),
    ("my_custom_type", "my_custom_type", None, "same"),
]


@pytest.mark.parametrize(("old", "new", "dialect", "direction"), CASES)
def test_physical_type_direction(old: str, new: str, dialect: str | None, direction: str) -> None:
    assert compare_types(old, new, dialect).direction == direction


def test_narrowing_explains_itself() -> None:
    result = compare_types("decimal(12,2)", "decimal(12,1)")
    assert "scale reduced 2 -> 1" in result.detail


def test_signedness_narrowing_says_which_values_no_longer_fit() -> None:
    assert compare_types("int", "int unsigned", "mysql").detail == "negative values no longer fit"
    assert "values above 2147483647" in compare_types("integer unsigned", "integer", "mysql").detail


def test_nested_narrowing_names_the_element() -> None:
    detail = compare_types("struct<a int, b varchar(10)>", "struct<a int, b varchar(5)>").detail
    assert detail.startswith("field b: VARCHAR(10) -> VARCHAR(5)")


def test_fractional_second_narrowing_says_the_digits() -> None:
    assert compare_types("datetime2(7)", "datetime2(3)", "tsql").detail.startswith(
        "fractional-second digits 7 -> 3"
    )


@pytest.mark.parametrize(
    ("old", "new", "detail"),
    [
        ("decimal(10,2)", "decimal(10,4)", "integer digits 8 -> 6"),
        ("decimal(12,2)", "decimal(10,2)", "integer digits 10 -> 8"),
    ],
)
def test_decimal_narrowing_names_what_shrank(old: str, new: str, detail: str) -> None:
    result = compare_types(old, new)
    assert result.direction == "narrowed"
    assert result.detail.startswith(detail)


@pytest.mark.parametrize(
    "text, split",
    [
        ('varchar(20) COLLATE "NoCase"', ("varchar(20)", "nocase")),
        ("string collate UTF8_LCASE", ("string", "utf8_lcase")),
        ("string collate UTF8_BINARY", ("string", None)),  # Spark's default, spelled out
        ("text COLLATE 'de-x-icu'", ("text", "de-x-icu")),
        ("VARCHAR COLLATE NOCASE.NOACCENT", ("VARCHAR", "nocase.noaccent")),
        ('text COLLATE "default"', ("text", None)),
        ('text COLLATE pg_catalog."C"', ("text", "c")),  # as pg_dump writes it
        ('text COLLATE pg_catalog."default"', ("text", None)),
        ("string collate SYSTEM.BUILTIN.UTF8_BINARY", ("string", None)),  # Spark, qualified
        ("string collate SYSTEM.BUILTIN.UTF8_LCASE", ("string", "utf8_lcase")),
        ("text", ("text", None)),
        ("STRUCT(a VARCHAR COLLATE NOCASE)", ("STRUCT(a VARCHAR COLLATE NOCASE)", None)),  # a field's own
    ],
)
def test_a_trailing_collation_is_read_apart_from_the_type(text: str, split: tuple[str, str | None]) -> None:
    assert split_collation(text) == split
