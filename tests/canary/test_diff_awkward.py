"""`data-diff` on awkward keys, values and tolerances, each checked against what the data holds. A
review with known ground truth found each of these wrong (a crash, a wrong count, or "identical" for
tables that differ); the large cases take the one-pass path (over FAST_PATH_ROWS rows a side)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from app.canary.diff import FAST_PATH_ROWS
from app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _diff(
    tmp_path: Path, left: str, right: str, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any]]:
    """data-diff of the two SELECTs, stored as tables of one DuckDB file, keyed by `id`."""
    path = tmp_path / "t.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(f"CREATE OR REPLACE TABLE l AS {left}")
        con.execute(f"CREATE OR REPLACE TABLE r AS {right}")
    code = main(
        [
            "data-diff",
            f"duckdb:{path}:main.l",
            f"duckdb:{path}:main.r",
            "--key",
            "id",
            *args,
            "--format",
            "json",
        ]
    )
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


@pytest.mark.parametrize("rows", [3, FAST_PATH_ROWS + 5], ids=["small", "one-pass"])
@pytest.mark.parametrize(
    "key", ["{'a': i::INTEGER}", "[i::INTEGER]", "MAP {i::INTEGER: 'x'}"], ids=["struct", "list", "map"]
)
def test_a_nested_key_gives_its_example_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: int, key: str
) -> None:
    left = f"SELECT {key} AS id, i AS v FROM range({rows}) t(i)"
    right = f"SELECT {key} AS id, i + (i = 1)::INTEGER AS v FROM range({rows}) t(i) WHERE i <> 2"
    code, data = _diff(tmp_path, left, right, capsys)
    assert code == 1  # was exit 3: TypeError: unhashable type: 'dict'
    assert (data["removed"], data["changed"], data["added"]) == (1, 1, 0)
    changed = next(e for e in data["examples"] if e["kind"] == "changed")
    assert changed["left"]["v"] == 1 and changed["right"]["v"] == 2


@pytest.mark.parametrize("rows", [1000, FAST_PATH_ROWS + 5], ids=["small", "one-pass"])
def test_an_absolute_tolerance_on_decimals_and_integers_is_exact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: int
) -> None:
    # every amount moves by exactly 0.01: within abs:0.01 (in DOUBLE, 0.03 -> 0.04 was more than 0.01 apart)
    left = f"SELECT i AS id, (i / 100)::DECIMAL(10, 2) AS amount FROM range({rows}) t(i)"
    right = f"SELECT i AS id, (i / 100 + 0.01)::DECIMAL(10, 2) AS amount FROM range({rows}) t(i)"
    code, data = _diff(tmp_path, left, right, capsys, "--tolerance", "amount=abs:0.01")
    assert (code, data["changed"]) == (0, 0)
    code, data = _diff(tmp_path, left, right, capsys, "--tolerance", "amount=abs:0.009")
    assert (code, data["changed"]) == (1, rows)


def test_differences_a_double_cannot_hold_are_not_hidden_by_a_tolerance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left = "SELECT 1 AS id, 12345678901234567890.10::DECIMAL(38, 2) AS amount, 9007199254740993::BIGINT AS n"
    right = "SELECT 1 AS id, 12345678901234567890.90::DECIMAL(38, 2) AS amount, 9007199254740992::BIGINT AS n"
    code, data = _diff(
        tmp_path, left, right, capsys, "--tolerance", "amount=abs:0.01", "--tolerance", "n=abs:0.5"
    )
    assert (code, data["changed"]) == (1, 1)
    assert {c["name"]: c["changed"] for c in data["columns"]} == {"amount": 1, "n": 1}
    # within it, exactly, however large the numbers
    code, data = _diff(
        tmp_path, left, right, capsys, "--tolerance", "amount=abs:0.8", "--tolerance", "n=abs:1"
    )
    assert (code, data["changed"]) == (0, 0)


@pytest.mark.parametrize("kind", ["abs", "rel"])
def test_a_nan_tolerance_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    code, _ = _diff(
        tmp_path,
        "SELECT 1 AS id, 1.0 AS v",
        "SELECT 1 AS id, 500.0 AS v",
        capsys,
        "--tolerance",
        f"v={kind}:nan",
    )
    assert code == 2  # was exit 0, "identical": every gap is <= NaN in DuckDB's order


@pytest.mark.parametrize("element", ["TIMESTAMP '2024-01-01 10:00'", "INTERVAL 1 DAY", "DATE '2024-01-01'"])
def test_a_scalar_retyped_to_a_list_of_temporals_is_compared_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], element: str
) -> None:
    code, data = _diff(
        tmp_path, f"SELECT 1 AS id, {element} AS c", f"SELECT 1 AS id, [{element}] AS c", capsys
    )
    assert code == 1  # was exit 2: Unimplemented type for cast (TIMESTAMP -> TIMESTAMP[])
    assert data["changed"] == 1 and [s["change"] for s in data["schema"]] == ["retyped"]


def test_a_union_value_moved_to_another_member_is_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typ = "UNION(i INTEGER, s VARCHAR)"
    code, data = _diff(
        tmp_path,
        f"SELECT 1 AS id, union_value(i := 1)::{typ} AS u UNION ALL SELECT 2, union_value(s := 'x')::{typ}",
        f"SELECT 1 AS id, union_value(s := '1')::{typ} AS u UNION ALL SELECT 2, union_value(s := 'x')::{typ}",
        capsys,
    )
    assert (code, data["changed"], data["unchanged"]) == (1, 1, 1)  # both print as 1: was "identical"


def test_a_nan_keys_example_carries_its_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = _diff(
        tmp_path,
        "SELECT 'nan'::DOUBLE AS id, 1 AS v UNION ALL SELECT 1.5, 1",
        "SELECT 'nan'::DOUBLE AS id, 2 AS v UNION ALL SELECT 1.5, 1",
        capsys,
    )
    assert (code, data["changed"]) == (1, 1)
    [example] = data["examples"]
    assert example["left"] == {"id": "nan", "v": 1} and example["right"] == {"id": "nan", "v": 2}


def test_decimals_are_shown_in_plain_notation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = _diff(
        tmp_path,
        "SELECT 1 AS id, 0::DECIMAL(38, 10) AS d UNION ALL SELECT 2, 0.0000001::DECIMAL(38, 10)",
        "SELECT 1 AS id, 0::DECIMAL(38, 10) AS d UNION ALL SELECT 2, 0.0000002::DECIMAL(38, 10)",
        capsys,
    )
    [column] = data["columns"]
    assert (column["left"]["min"], column["left"]["max"]) == ("0.0000000000", "0.0000001000")  # not 0E-10
    assert data["examples"][0]["right"]["d"] == "0.0000002000"


def test_the_same_tables_give_the_same_diff_in_any_machine_time_zone(tmp_path: Path) -> None:
    path = tmp_path / "t.duckdb"
    with duckdb.connect(str(path)) as con:  # a key retyped from TIMESTAMP to TIMESTAMPTZ between the sides
        con.execute("CREATE TABLE l AS SELECT TIMESTAMP '2024-01-01 12:00' AS id, 1 AS v")
        con.execute("CREATE TABLE r AS SELECT '2024-01-01 12:00+00'::TIMESTAMPTZ AS id, 1 AS v")
    answers = []
    for zone in ("UTC", "America/New_York", "Asia/Kolkata"):
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "data-diff", f"duckdb:{path}:main.l", f"duckdb:{path}:main.r"]
            + ["--key", "id", "--format", "json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "TZ": zone},
            check=False,
        )
        data = json.loads(done.stdout)
        answers.append((done.returncode, data["added"], data["removed"], data["unchanged"]))
    assert answers == [(1, 0, 0, 1)] * 3  # exit 1: the retyped key is a schema change


def test_a_tolerance_on_38_digit_decimals_far_apart_is_a_change_not_an_overflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # DuckDB cannot widen DECIMAL(38, s) for their difference: those compare in DOUBLE, as before
    code, data = _diff(
        tmp_path,
        "SELECT 1 AS id, 6::DECIMAL(38, 37) AS v UNION ALL SELECT 2, 1::DECIMAL(38, 37)",
        "SELECT 1 AS id, (-6)::DECIMAL(38, 37) AS v UNION ALL SELECT 2, 1.001::DECIMAL(38, 37)",
        capsys,
        "--tolerance",
        "v=abs:0.01",
    )
    assert (code, data["changed"], data["unchanged"]) == (1, 1, 1)  # was exit 2: Overflow in subtract


def test_a_tolerance_on_a_key_column_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _diff(
        tmp_path, "SELECT 1 AS id, 1 AS v", "SELECT 2 AS id, 1 AS v", capsys, "--tolerance", "id=abs:1"
    )
    assert code == 2  # was accepted, and did nothing: keys join by their exact value
