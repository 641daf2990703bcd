"""Table-driven classification: fixtures/sql/classify/<expected>-<case>/{base,head}.sql."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.sql.analyze import analyze
from app.sql.changes import classify_models
from tests.sql.conftest import SHOP_SOURCES, build_project

CASES = sorted(
    p for p in (Path(__file__).resolve().parents[2] / "fixtures" / "sql" / "classify").iterdir() if p.is_dir()
)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture_pair_is_classified_as_its_name_says(case: Path) -> None:
    expected = case.name.split("-", 1)[0]
    base = analyze(build_project({"m": (case / "base.sql").read_text()}, SHOP_SOURCES))
    head = analyze(build_project({"m": (case / "head.sql").read_text()}, SHOP_SOURCES))
    assert classify_models(base, head)["m"].kind == expected


def test_there_are_cases_of_both_kinds() -> None:
    assert {c.name.split("-", 1)[0] for c in CASES} == {"equivalent", "changed"}


ROWS = {
    "raw_orders": [
        (1, 10, 15.5, "done", "2024-01-01 10:00"),
        (2, 10, 5.0, "void", "2024-01-02 11:00"),
        (3, 11, 20.0, "done", "2024-01-02 12:00"),
        (4, None, 12.0, None, "2024-01-03 00:00"),
        (5, 12, None, "open", None),
        (6, 11, 20.0, "done", "2024-01-02 12:00"),
    ],
    "raw_customers": [
        (10, "ann", "NL", "2023-01-01"),
        (11, "bob", "BE", None),
        (13, "cy", None, "2023-05-05"),
    ],
    "raw_payments": [(100, 1, "card"), (101, 1, "coupon"), (102, 3, "card"), (103, 9, None)],
}


@pytest.mark.parametrize("case", [c for c in CASES if c.name.startswith("equivalent-")], ids=lambda c: c.name)
def test_an_equivalent_pair_returns_the_same_rows_in_duckdb(case: Path) -> None:
    import duckdb

    con = duckdb.connect()
    for table, cols in SHOP_SOURCES.items():
        con.execute(f"create table {table} ({', '.join(f'{c} {t}' for c, t in cols.items())})")
        con.executemany(f"insert into {table} values ({', '.join('?' for _ in cols)})", ROWS[table])

    def rows(sql: str) -> list[tuple[tuple[str, str], ...]]:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return sorted(
            tuple(sorted((n, repr(v)) for n, v in zip(names, r, strict=True))) for r in cur.fetchall()
        )

    assert rows((case / "base.sql").read_text()) == rows((case / "head.sql").read_text())
