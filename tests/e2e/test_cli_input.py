"""Bad command-line input and odd YAML values are usage errors (exit 2, file:line, a hint), never exit 3."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.cli import main
from app.demo import build_demo_repo
from app.errors import ConfigError, ContractError
from app.project import yamldoc
from tests.e2e.test_bad_input import commit

CONTRACT = (
    "apiVersion: v3.1.0\nkind: DataContract\nid: orders\nversion: 1.0.0\nstatus: active\n"
    "contractCreatedTs: {ts}\nschema:\n  - name: orders\n    properties:\n"
    "      - name: order_id\n        logicalType: integer\n"
)


@pytest.fixture(params=["c", "pure"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with libyaml's CSafeLoader (when built) and with the pure-Python SafeLoader."""
    if request.param == "pure":
        monkeypatch.setattr(yamldoc, "_SAFE_LOADER", yaml.SafeLoader)
    elif not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML built without libyaml")
    return str(request.param)


@pytest.mark.parametrize("value", ["2027-31-03", "2027-02-30", "2027-02-30 10:00:00"])
def test_an_impossible_date_is_the_callers_error_with_line_and_column(loader: str, value: str) -> None:
    text = f"name: shop\nwaivers:\n  - rule: x\n    expires: {value}\n"
    with pytest.raises(ConfigError) as err:
        yamldoc.load_yaml(text, "datacanary.yml", ConfigError)
    assert err.value.location is not None
    assert (err.value.location.line, err.value.location.column) == (4, 14)
    assert value in err.value.message
    assert err.value.hint and "YYYY-MM-DD" in err.value.hint


def test_a_real_date_still_loads_as_a_date(loader: str) -> None:
    import datetime as dt

    assert yamldoc.load_yaml("expires: 2028-02-29\n", "f.yml").data == {"expires": dt.date(2028, 2, 29)}


def test_contract_validate_names_an_impossible_created_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "orders.odcs.yaml"
    path.write_text(CONTRACT.format(ts="2026-02-30"))
    assert main(["contract", "validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert "orders.odcs.yaml:6:" in out and "YYYY-MM-DD" in out
    with pytest.raises(ContractError):
        from app.contracts.parse import parse_contract

        parse_contract(path.read_text(), "orders.odcs.yaml")


def test_check_with_an_impossible_waiver_date_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = build_demo_repo(tmp_path / "shop")
    cfg = (demo.path / "datacanary.yml").read_text()
    waiver = "waivers:\n  - {rule: column-removed, dataset: dim_customers, reason: x, expires: 2027-31-03}\n"
    assert "\nwaivers:\n" in cfg  # added to the demo's own list: a second `waivers:` key is refused itself
    head = commit(demo.path, {"datacanary.yml": cfg.replace("waivers:\n", waiver, 1)})
    code = main(
        ["check", "--project", str(demo.path), "--base", demo.head, "--head", head, "--no-canary", "-q"]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert "datacanary.yml:" in err and "2027-31-03" in err and "internal error" not in err


@pytest.mark.parametrize("output", ["missing/rep.json", "."])
def test_check_refuses_an_unwritable_output_before_running(
    output: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.pipeline

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the run started before --output was checked")

    monkeypatch.setattr(app.pipeline, "run_check", never)
    monkeypatch.chdir(tmp_path)
    code = main(["check", "--base", "main", "--head", "HEAD", "--output", output, "-q"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--output" in err and "internal error" not in err


def test_demo_keep_refuses_a_non_empty_directory_without_touching_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess

    where = tmp_path / "shop-demo"
    demo = build_demo_repo(where)
    before = sorted(p.name for p in where.iterdir())
    assert main(["demo", "--keep", str(where), "--no-canary"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "internal error" not in err
    head = subprocess.run(
        ["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout
    assert head.strip() == demo.head
    assert sorted(p.name for p in where.iterdir()) == before


def test_demo_keep_refuses_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    assert main(["demo", "--keep", str(target), "--no-canary"]) == 2
    assert "is a file" in capsys.readouterr().err
    assert target.read_text() == "mine\n"


def test_demo_keep_accepts_an_empty_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    where = tmp_path / "empty"
    where.mkdir()
    assert main(["demo", "--keep", str(where), "--no-canary", "--format", "json"]) == 0
    assert (where / ".git").is_dir()


def test_an_unquoted_column_type_with_a_comma_gets_a_quoting_hint() -> None:
    from app.project.config import parse_config

    text = "name: shop\nsources:\n  raw_orders:\n    path: a.csv\n    columns: {order_id: number(38,0)}\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text, "datacanary.yml")
    assert err.value.location is not None and err.value.location.line == 5
    assert err.value.hint and "quote" in err.value.hint and '"number(38,0)"' in err.value.hint


def test_demo_exits_0_on_its_intended_fail_saying_so_and_1_with_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--no-canary"]) == 0
    captured = capsys.readouterr()
    assert "verdict: FAIL" in captured.out and "`demo --strict` exit 1" in captured.err
    assert main(["demo", "--no-canary", "--strict"]) == 1
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "still exits 0" in readme and "--strict" in readme
