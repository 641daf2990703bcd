"""The md5 number every engine computes alike (app.sql.hashing), on DuckDB against Python's hashlib."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from app.sql.hashing import md5_48, md5_48_mod, python_md5_48

CON = duckdb.connect()


@settings(max_examples=30, deadline=None)
@given(texts=st.lists(st.text(), min_size=1, max_size=30), modulus=st.sampled_from([1, 2, 7, 64, 256, 1000]))
def test_the_remainder_is_the_48_bit_numbers_whatever_the_modulus(texts: list[str], modulus: int) -> None:
    """A modulus dividing 256 takes DuckDB's md5_number shortcut, the others the hex digits: both give
    Python's md5-48 remainder, for any text (unicode, NUL, empty)."""
    col = exp.column("s")
    sql = (
        f"SELECT s, {md5_48(col, 'duckdb').sql('duckdb')}, {md5_48_mod(col, modulus, 'duckdb').sql('duckdb')}"
    )
    rows = CON.execute(f"{sql} FROM (SELECT unnest(?::VARCHAR[]) AS s)", [texts]).fetchall()
    assert [(n, m) for _, n, m in rows] == [(python_md5_48(t), python_md5_48(t) % modulus) for t in texts]
