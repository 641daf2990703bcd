"""Fixtures for canary tests: a sandbox connection and a way to create tables from Python rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from app.canary import queries as q
from app.canary.runner import Sandbox


@pytest.fixture
def db() -> Iterator[Sandbox]:
    box = Sandbox(threads=1)
    yield box
    box.close()


def make_table(db: Sandbox, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> Any:
    """Create (or replace) `name` with the given DuckDB column types and rows; returns its table expression."""
    cols = ", ".join(f'"{c}" {t}' for c, t in columns)
    db.conn.execute(f'CREATE OR REPLACE TABLE "{name}" ({cols})')
    if rows:
        marks = ", ".join("?" for _ in columns)
        db.conn.executemany(f'INSERT INTO "{name}" VALUES ({marks})', [list(r) for r in rows])
    return q.table(name)
