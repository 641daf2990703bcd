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
