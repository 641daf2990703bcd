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


HOSTILE_YAML = {
    # an anchor used inside itself: the constructed data is a cycle, and every reader of it recursed
    "recursive-map": ("sources: &a\n  raw:\n    path: *a\n", (3, 5), "recursive alias"),
    "recursive-list": ("x:\n  - &a [1, [2, *a]]\n", (2, 12), "recursive alias"),
    # "billion laughs": 6 lines of 9 aliases each expand to 6 million values (9 lines: 387 million)
    "alias-bomb": (
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdef", "bcdefg", strict=True)
        ),
        (7, 1),  # the key whose value holds the 6 million
        "alias bomb",
    ),
    # 200 levels: libyaml takes up to 1,000, past what Python's recursion limit lets validators read
    "deep": ("x: " + "[" * 200 + "]" * 200 + "\n", (1, 67), "nested more than 64 levels"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_YAML))
def test_hostile_yaml_is_refused_at_its_line_before_anything_reads_it(loader: str, case: str) -> None:
    text, (line, column), message = HOSTILE_YAML[case]
    with pytest.raises(ConfigError) as err:
        yamldoc.load_yaml(text, "datacanary.yml", ConfigError)
    assert err.value.location is not None
    assert (err.value.location.line, err.value.location.column) == (line, column), err.value
    assert message in err.value.message and err.value.hint


def test_nesting_up_to_libyamls_own_limit_is_refused_from_a_deep_call_stack(loader: str) -> None:
    def from_depth(frames: int) -> None:  # the CLI and the service call in from some frames down
        if frames:
            return from_depth(frames - 1)
        with pytest.raises(ConfigError, match="nested more than 64 levels"):
            yamldoc.load_yaml("x: " + "[" * 990 + "]" * 990 + "\n", "datacanary.yml", ConfigError)

    from_depth(150)


def test_aliases_that_repeat_values_still_load_with_their_lines(loader: str) -> None:
    text = "base: &b {fraction: 0.5, key: id}\na: {sample: *b}\nb: {sample: *b}\nlist: [*b, *b]\n"
    doc = yamldoc.load_yaml(text, "f.yml")
    assert doc.data["a"]["sample"] == doc.data["list"][1] == {"fraction": 0.5, "key": "id"}
    assert doc.line(("b", "sample")) == 3  # a mapping value through an alias: its key's line
    deep = "x: " + "[" * 63 + "]" * 63 + "\n"  # 64 levels with the root: the limit itself is fine
    value = yamldoc.load_yaml(deep, "f.yml").data["x"]
    for _ in range(62):
        (value,) = value
    assert value == []


@pytest.mark.parametrize("case", ["recursive-map", "alias-bomb"])
def test_check_and_contract_validate_refuse_hostile_yaml_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    text = HOSTILE_YAML[case][0]
    demo = build_demo_repo(tmp_path / "shop")
    cfg = (demo.path / "datacanary.yml").read_text()
    head = commit(
        demo.path,
        {"datacanary.yml": cfg + "extra:\n" + "".join("  " + ln + "\n" for ln in text.splitlines())},
    )
    code = main(
        ["check", "--project", str(demo.path), "--base", demo.head, "--head", head, "--no-canary", "-q"]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert "datacanary.yml:" in err and HOSTILE_YAML[case][2] in err and "internal error" not in err
    contract = tmp_path / "orders.odcs.yaml"
    contract.write_text(CONTRACT.format(ts="2026-02-03") + text.replace("sources:", "customProperties:"))
    assert main(["contract", "validate", str(contract)]) == 2
    out = capsys.readouterr().out
    assert "orders.odcs.yaml:" in out and HOSTILE_YAML[case][2] in out


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
