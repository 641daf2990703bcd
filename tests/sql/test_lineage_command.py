"""`datacanary lineage` on a project directory: text, JSON and mermaid; bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main

CONFIG = """name: shop
dialect: duckdb
sources:
  raw_orders:
    columns: {id: bigint, amount: 'decimal(10, 2)', status: varchar}
consumers:
  fct: [finance-dashboard]
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "datacanary.yml").write_text(CONFIG)
    (tmp_path / "models" / "stg.sql").write_text("select id, amount, status from raw_orders\n")
    (tmp_path / "models" / "fct.sql").write_text(
        "select id, amount * 2 as amount2\nfrom stg\nwhere status = 'ok'\n"
    )
    return tmp_path


def test_text_lists_models_in_dag_order(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lineage", "--project", str(shop)]) == 0
    out = capsys.readouterr().out
    assert "2 models, 1 sources" in out and out.index("stg (") < out.index("fct (")


def test_column_view_shows_upstream_and_downstream(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lineage", "--project", str(shop), "--model", "stg", "--column", "amount"]) == 0
    out = capsys.readouterr().out
    assert "amount DECIMAL(10, 2) (line 1)" in out
    assert "from: raw_orders.amount" in out and "downstream: fct.amount2" in out


def test_json_is_structured(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lineage", "--project", str(shop), "--model", "fct", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["upstream"] == ["stg"]
    assert doc["columns"][1] == {
        "name": "amount2",
        "type": "DECIMAL(10, 2)",
        "file": "models/fct.sql",
        "line": 1,
        "from": [["stg", "amount"]],
        "upstream": [["raw_orders", "amount"], ["stg", "amount"]],
        "downstream": [],
    }


def test_mermaid_of_a_column_is_its_blast_radius(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            ["lineage", "--project", str(shop), "--model", "stg", "--column", "status", "--format", "mermaid"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("```mermaid") and '"finance-dashboard"' in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "stgg"], "did you mean stg"),
        (["--column", "amount"], "--column needs --model"),
        (["--model", "stg", "--column", "nope"], "its columns: id, amount, status"),
    ],
)
def test_bad_usage_exits_2_with_a_hint(shop: Path, capsys: pytest.CaptureFixture[str], argv, message) -> None:  # type: ignore[no-untyped-def]
    assert main(["lineage", "--project", str(shop), *argv]) == 2
    assert message in capsys.readouterr().err


def test_broken_sql_exits_2_with_file_and_line(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (shop / "models" / "fct.sql").write_text("select id,\nfrom stg where\n")
    assert main(["lineage", "--project", str(shop)]) == 2
    err = capsys.readouterr().err
    assert "models/fct.sql:2" in err and "Traceback" not in err


def test_source_columns_point_at_their_declaration(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lineage", "--project", str(shop), "--model", "raw_orders"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("source raw_orders") and "amount DECIMAL(10, 2) (datacanary.yml:" in out


def test_project_json_lists_every_column_edge(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lineage", "--project", str(shop), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["order"] == ["stg", "fct"]
    assert ["stg", "amount", "fct", "amount2"] in doc["edges"]
    assert doc["models"]["fct"]["columns"][1] == {"name": "amount2", "type": "DECIMAL(10, 2)", "line": 1}
