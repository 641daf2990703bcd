"""Nested and unusual column types through `data-diff` and the canary: compared by value, profiled, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from app.cli import main
from tests.canary.conftest import shop_repo

# column -> (type, base value, head value of row 1); row 2 is the same on both sides.
TYPES = {
    "l": ("INTEGER[]", "[1, 2]", "[1, 3]"),
    "st": ("STRUCT(a INTEGER)", "{'a': 1}", "{'a': 2}"),
    "m": ("MAP(INTEGER, VARCHAR)", "MAP {1: 'x'}", "MAP {1: 'y'}"),
    "j": ("JSON", """'{"a": 1}'""", """'{"a": 2}'"""),
    "b": ("BLOB", "'\\xAA'::BLOB", "'\\xAB'::BLOB"),
    "u": ("UUID", "'00000000-0000-0000-0000-000000000001'", "'00000000-0000-0000-0000-000000000002'"),
    "i": ("INTERVAL", "INTERVAL 1 DAY", "INTERVAL 2 DAY"),
    "tz": ("TIMESTAMPTZ", "TIMESTAMPTZ '2024-01-01 00:00:00+00'", "TIMESTAMPTZ '2024-01-01 00:00:01+00'"),
    "h": ("HUGEINT", "170141183460469231731687303715884105727", "1"),
}


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    path = str(tmp_path / "wh.duckdb")
    con = duckdb.connect(path)
    for side, pick in (("base", 1), ("head", 2)):
        cols = ", ".join(f"{c} {t}" for c, (t, *_) in TYPES.items())
        con.execute(f"CREATE TABLE {side} (id INTEGER, {cols})")
        first = ", ".join(f"{v[pick]}::{v[0]}" for v in TYPES.values())
        same = ", ".join(f"{v[1]}::{v[0]}" for v in TYPES.values())
        con.execute(
            f"INSERT INTO {side} VALUES (1, {first}), (2, {same}), (3, {', '.join(['NULL'] * len(TYPES))})"
        )
    con.close()
    return path


@pytest.mark.parametrize("key", [["--key", "id"], []], ids=["keyed", "keyless"])
def test_every_column_type_is_compared_and_profiled(
    warehouse: str, key: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["data-diff", f"{warehouse}:main.base", f"{warehouse}:main.head", *key, "--format", "json"]
    assert main(args) == 1
    data = json.loads(capsys.readouterr().out)
    if key:
        assert data["changed"] == 1 and data["unchanged"] == 2
        assert {c["name"]: c["changed"] for c in data["columns"]} == {c: 1 for c in TYPES}
    else:
        assert data["added"] == 1 and data["removed"] == 1
    for c in (c for c in data["columns"] if c["name"] in TYPES):
        assert (c["left"]["count"], c["left"]["nulls"], c["left"]["distinct"]) == (2, 1, 1), c["name"]
        assert (c["right"]["count"], c["right"]["nulls"], c["right"]["distinct"]) == (2, 1, 2), c["name"]
    shifts = {d["column"]: d["shift"] for d in data["distributions"]}
    assert shifts["l"] == pytest.approx(0.5) and shifts["st"] == pytest.approx(0.5)  # NULLs not counted
    assert any(
        v["value"] == "[1, 3]" for d in data["distributions"] if d["column"] == "l" for v in d["values"]
    )
    for fmt in ("text", "markdown"):  # the renderings walk every figure too
        assert main([*args[:-2], "--format", fmt]) == 1
        assert "[1, 3]" in capsys.readouterr().out


def test_canary_on_a_model_with_a_low_cardinality_list_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = "select customer_id, list(distinct status order by status) as statuses from orders group by 1\n"
    repo = shop_repo(
        tmp_path,
        {"models/statuses.sql": base.replace("order by status", "order by status desc")},
        {"models/statuses.sql": base},
    )
    code = main(["canary", "--base", "base", "--head", "HEAD", "--project", str(repo), "-q"])
    out = capsys.readouterr().out
    assert code in (0, 1) and "distribution statuses shifted" in out
