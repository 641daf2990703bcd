"""`datacanary data-diff` and `datacanary canary` as a user runs them: exit codes and outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from app.cli import main
from tests.canary.conftest import SHOP, shop_repo


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute(
        "CREATE TABLE a AS SELECT range AS id, range * 1.5 AS amount, 'x' || range AS name FROM range(100)"
    )
    con.execute(
        "CREATE TABLE b AS SELECT * REPLACE (CASE WHEN id = 7 THEN amount + 0.001 WHEN id = 8 THEN amount + 5 "
        "ELSE amount END AS amount) FROM a WHERE id <> 3"
    )
    con.execute("CREATE SCHEMA s; CREATE TABLE s.a AS SELECT * FROM a")
    for t in ("a", "b"):
        con.execute(f"COPY {t} TO '{tmp_path / t}.parquet' (FORMAT parquet)")
        con.execute(f"COPY {t} TO '{tmp_path / t}.csv' (HEADER)")
    con.close()
    return tmp_path


def test_identical_tables_exit_0(tables: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data-diff", str(tables / "a.parquet"), f"{tables / 'wh.duckdb'}:s.a", "--key", "id"]) == 0
    assert "IDENTICAL" in capsys.readouterr().out


def test_different_tables_exit_1_with_every_figure_in_json(
    tables: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "data-diff",
            str(tables / "a.parquet"),
            str(tables / "b.parquet"),
            "--key",
            "id",
            "--format",
            "json",
            "--tolerance",
            "amount=abs:0.01",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (data["removed"], data["added"], data["changed"]) == (1, 0, 1)
    assert data["examples"][0]["kind"] == "removed"


def test_csv_and_markdown(tables: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            ["data-diff", str(tables / "a.csv"), str(tables / "b.csv"), "--key", "id", "--format", "markdown"]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert out.startswith("### Data diff") and "| removed |" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["data-diff", "{t}/a.parquet", "{t}/missing.parquet", "--key", "id"],
        ["data-diff", "{t}/a.parquet", "{t}/b.parquet", "--key", "nope"],
        ["data-diff", "{t}/a.txt", "{t}/b.parquet"],
        ["data-diff", "{t}/wh.duckdb", "{t}/b.parquet"],
        ["data-diff", "{t}/a.parquet", "{t}/b.parquet", "--tolerance", "amount=abs:x"],
    ],
)
def test_bad_input_exits_2_without_a_traceback(
    tables: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([a.format(t=tables) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("datacanary: error:") and "Traceback" not in err


def test_data_diff_as_a_process(tables: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "data-diff",
            str(tables / "a.parquet"),
            str(tables / "b.parquet"),
            "--key",
            "id",
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 1 and "removed 1" in proc.stdout


def test_canary_command_text_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = (
        (SHOP / "models" / "customer_orders.sql")
        .read_text()
        .replace("min(o.ordered_at)", "max(o.ordered_at)")
    )
    repo = shop_repo(tmp_path, {"models/customer_orders.sql": model})
    code = main(["canary", "--base", "base", "--head", "HEAD", "--project", str(repo), "-q"])
    out = capsys.readouterr().out
    assert code == 1
    assert "customer_orders (models/customer_orders.sql) - compared" in out and "canary-changed-rows" in out


def test_canary_command_markdown_on_unchanged_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = shop_repo(tmp_path, {})
    code = main(
        [
            "canary",
            "--base",
            "base",
            "--head",
            "HEAD",
            "--project",
            str(repo),
            "--format",
            "markdown",
            "--models",
            "customer_orders",
            "-q",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "#### `customer_orders`: compared (contracted)" in out and "Quality on head" in out


def test_a_decimal_column_retyped_to_double_is_compared_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT range AS id, (range * 1.25)::DECIMAL(10, 2) AS x FROM range(10)) TO '{tmp_path}/l.parquet'"
    )
    con.execute(
        f"COPY (SELECT range AS id, CASE WHEN range = 4 THEN 99.0 ELSE range * 1.25 END::DOUBLE AS x "
        f"FROM range(10)) TO '{tmp_path}/r.parquet'"
    )
    code = main(
        ["data-diff", f"{tmp_path}/l.parquet", f"{tmp_path}/r.parquet", "--key", "id", "--format", "json"]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["changed"] == 1
    x = next(c for c in data["columns"] if c["name"] == "x")
    assert x["deltas"]["max"] == pytest.approx(99.0 - 11.25)


def test_a_tolerance_on_an_unknown_column_exits_2_with_a_suggestion(
    tables: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["data-diff", f"{tables}/a.parquet", f"{tables}/b.parquet", "--key", "id"]
    assert main([*args, "--tolerance", "amout=abs:0.1"]) == 2
    err = capsys.readouterr().err
    assert "amout" in err and "did you mean 'amount'" in err and "Traceback" not in err
    assert main([*args, "--tolerance", "amount=abs:0.1"]) == 1  # a real column is still fine


def test_a_key_given_on_the_command_line_compares_an_uncontracted_model_by_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    staging = (
        (SHOP / "models" / "stg_orders.sql").read_text().replace("    amount,", "    amount * 2 as amount,")
    )
    repo = shop_repo(tmp_path, {"models/stg_orders.sql": staging})
    argv = [
        "canary",
        "--base",
        "base",
        "--project",
        str(repo),
        "--models",
        "stg_orders",
        "--format",
        "json",
        "-q",
    ]

    main(argv)
    (without,) = json.loads(capsys.readouterr().out)["models"]
    main([*argv, "--key", "stg_orders=order_id"])
    (keyed,) = json.loads(capsys.readouterr().out)["models"]

    # no contract and no canary.keys: rows compared as multisets; with --key: by order_id, column by column
    assert without["key"] == [] and without["reconciliation"]["changed"] is None
    recon = keyed["reconciliation"]
    assert keyed["key"] == ["order_id"] and recon["added"] == recon["removed"] == 0
    assert recon["changed"] == recon["rows"]["left"] > 0
    assert {c["name"]: c["changed"] for c in recon["columns"]}["amount"] == recon["changed"]


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("stg_order=order_id", "no model named 'stg_order'"),
        ("stg_orders", "expected MODEL=COL[,COL]"),
        ("stg_orders=", "expected MODEL=COL[,COL]"),
    ],
)
def test_a_bad_key_option_is_a_usage_error(
    tmp_path: Path, key: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = shop_repo(tmp_path, {})
    code = main(["canary", "--base", "base", "--project", str(repo), "--key", key, "-q"])
    err = capsys.readouterr().err
    assert code == 2 and words in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "said", "unsaid"),
    [
        (["{t}/a.parquet", "{t}/b.parquet", "--key", "id,id"], "--key names id more than once", "struct_pack"),
        (["{t}/a.parquet", "{t}/b.parquet", "--key", "id", "--examples", "99999999999999999999"],
         "--examples 99999999999999999999 is out of range", "arg_min"),
        (["{t}/a.parquet", "{t}/b.parquet", "--examples", "-1"], "--examples -1 is out of range", "Binder"),
        (["{t}/a.parquet", "{t}/b.parquet", "--low-cardinality", "0"], "--low-cardinality 0 is out of range", "Binder"),
        (["{t}/empty.parquet", "{t}/b.parquet", "--key", "id"],
         "cannot read the left table {t}/empty.parquet: the file is empty", "CREATE"),
        (["{t}/a.parquet", "{t}/garbage.parquet", "--key", "id"],
         "cannot read the right table {t}/garbage.parquet: not a Parquet file", "CREATE"),
        (["{t}/empty.csv", "{t}/b.csv", "--key", "id"], "cannot read the left table {t}/empty.csv: the file is empty",
         "column0"),
        (["{t}/a.csv", "{t}/blank.csv", "--key", "id"], "cannot read the right table {t}/blank.csv: the file is empty",
         "column0"),
        (["{t}/a.parquet", "{t}/b.parquet", "--key", "id", "--tolerance", "name=abs:1"],
         "a tolerance only applies to numbers", "Binder"),
    ],
)  # fmt: skip
def test_options_and_inputs_are_checked_in_the_users_terms(
    tables: Path, argv: list[str], said: str, unsaid: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tables / "empty.parquet").write_bytes(b"")
    (tables / "garbage.parquet").write_bytes(b"PAR1 this is not parquet at all")
    (tables / "empty.csv").write_bytes(b"")
    (tables / "blank.csv").write_bytes(b"\n\n")
    assert main(["data-diff", *(a.format(t=tables) for a in argv)]) == 2
    err = capsys.readouterr().err
    assert said.format(t=tables) in err and unsaid not in err and "Traceback" not in err


def test_integer_columns_get_no_default_tolerance_only_floats_do(tmp_path: Path) -> None:
    from app.canary.schema import plan_diff

    plan = plan_diff(
        [("id", "INTEGER"), ("h", "HUGEINT"), ("f", "DOUBLE"), ("mixed", "HUGEINT")],
        [("id", "INTEGER"), ("h", "HUGEINT"), ("f", "DOUBLE"), ("mixed", "DOUBLE")],
        ["id"],
    )
    tol = {c.name: c.tolerance for c in plan.columns}
    assert tol["h"] is None and tol["mixed"] is None
    assert tol["f"] is not None and tol["f"].relative == 1e-9


def test_unicode_key_names_and_values_are_shown_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "l.csv").write_text("straße,wert\nköln,1\n", encoding="utf-8")
    (tmp_path / "r.csv").write_text("straße,wert\nköln,2\n", encoding="utf-8")
    args = ["data-diff", f"{tmp_path}/l.csv", f"{tmp_path}/r.csv", "--key", "straße"]
    for fmt in ("text", "markdown", "json"):
        assert main([*args, "--format", fmt]) == 1
        out = capsys.readouterr().out
        assert '{"straße": "köln"}' in out or '"straße": "köln"' in out, out
        assert "\\u00df" not in out and "\\u00f6" not in out
