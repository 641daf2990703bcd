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


def test_broken_sql_is_reported_at_file_and_line_and_every_other_model_still_shown(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # it used to exit 2 with the first broken model and nothing else: one bad model in a large dbt
    # project hid the lineage of all the others
    (shop / "models" / "fct.sql").write_text("select id,\nfrom stg where\n")
    (shop / "models" / "agg.sql").write_text("select count(*) as n from stg\n")
    assert main(["lineage", "--project", str(shop)]) == 1
    out, err = capsys.readouterr()
    assert "models/fct.sql:2" in err and "Traceback" not in err
    assert "stg (3 columns" in out and "agg (1 columns" in out and "fct" not in out
    assert main(["lineage", "--project", str(shop), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [(m["model"], m["line"], m["notice"]) for m in doc["not_analysed"]] == [("fct", 2, False)]


def test_a_broken_model_asked_for_by_name_is_its_own_error(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (shop / "models" / "fct.sql").write_text("select id,\nfrom stg where\n")
    assert main(["lineage", "--project", str(shop), "--model", "fct"]) == 2
    err = capsys.readouterr().err
    assert "models/fct.sql:2" in err and "no model or source named" not in err


def test_a_dbt_model_without_compiled_sql_is_reported_and_the_others_still_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a manifest from `dbt parse`, or a `dbt compile` stopped by one model (mattermost-data-warehouse)
    from tests.dbt.conftest import manifest_doc, model

    nodes = [
        model("stg", "select 1 as order_id, 'placed' as status", compiled=False),
        model("fct", "select order_id from {{ ref('stg') }}", depends=("stg",), compiled=False),
        model("days", "select {{ var('days', 7) }} as n", compiled=False),
    ]
    (tmp_path / "models").mkdir()
    (tmp_path / "target").mkdir()
    (tmp_path / "dbt_project.yml").write_text("name: shop\nversion: '1.0'\n")
    for _, node in nodes:
        (tmp_path / node["original_file_path"]).write_text(node["raw_code"])
    (tmp_path / "target" / "manifest.json").write_text(json.dumps(manifest_doc(*nodes)))
    assert main(["lineage", "--project", str(tmp_path), "--format", "json"]) == 1
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["order"] == ["stg", "fct"]
    assert "models/days.sql:1: the manifest has no compiled SQL" in err


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


def test_a_column_is_found_as_the_sql_spells_it_on_snowflake(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (shop / "datacanary.yml").write_text(CONFIG.replace("dialect: duckdb", "dialect: snowflake"))
    assert main(["lineage", "--project", str(shop), "--model", "stg", "--column", "amount"]) == 0
    assert "downstream: fct.AMOUNT2" in capsys.readouterr().out
