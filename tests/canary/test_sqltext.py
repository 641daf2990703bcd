"""The reconciliation's SQL text is safe for any name and value: checked against DuckDB itself."""

from __future__ import annotations

import decimal
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.canary import sqltext as t
from app.canary.runner import Sandbox

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
NAME = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40)


@pytest.fixture(scope="module")
def box() -> Sandbox:
    return Sandbox(threads=1)


SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "main", "temp", "system"}  # DuckDB's own: not creatable


@settings(max_examples=150, deadline=None)
@given(
    name=NAME.filter(lambda s: s.strip() != ""),
    schema=NAME.filter(lambda s: s.strip() != "" and s.casefold() not in SYSTEM_SCHEMAS),
)
def test_any_name_is_one_identifier(box: Sandbox, name: str, schema: str) -> None:
    box.execute(f"CREATE SCHEMA IF NOT EXISTS {t.ident(schema)}")
    box.execute(f"CREATE OR REPLACE TABLE {t.table('x', schema)} ({t.ident(name)} INTEGER, other INTEGER)")
    assert box.columns(t.table("x", schema)) == [(name, "INTEGER"), ("other", "INTEGER")]
    box.execute(f"INSERT INTO {t.table('x', schema)} VALUES (1, 2)")
    assert box.query(t.select([t.alias(t.col(name, "x"), "v")], f"{t.table('x', schema)} AS x")) == [{"v": 1}]
    box.execute(f"DROP SCHEMA {t.ident(schema)} CASCADE")


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(TEXT, st.integers(-(2**63), 2**63 - 1), st.floats(), st.booleans(), st.none()))
def test_any_value_is_one_literal(box: Sandbox, value: object) -> None:
    (row,) = box.query(f"SELECT {t.lit(value)} AS v")  # type: ignore[arg-type]
    got = row["v"]
    if isinstance(value, float) and math.isnan(value):
        assert isinstance(got, float) and math.isnan(got)
    else:
        assert got == value and type(got) is type(value)


def test_struct_keys_and_decimals_round_trip(box: Sandbox) -> None:
    fields = [("it's", t.lit(1)), ('a"b', t.lit(decimal.Decimal("1.50")))]
    (row,) = box.query(f"SELECT {t.struct(fields)} AS s")
    assert row["s"] == {"it's": 1, 'a"b': decimal.Decimal("1.50")}


def test_a_decimal_without_a_value_has_no_literal() -> None:
    with pytest.raises(ValueError, match="no DuckDB decimal literal"):
        t.lit(decimal.Decimal("NaN"))


def test_empty_conjunctions_are_neutral() -> None:
    assert (t.and_(), t.or_(), t.and_("a"), t.or_("a", "b")) == ("TRUE", "FALSE", "a", "(a OR b)")
