"""`datacanary contract diff`: exit codes, formats, config discovery, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import main
from tests.contracts.conftest import base_doc, prop


def _write(path: Path, doc: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


@pytest.fixture
def pair(tmp_path: Path) -> tuple[str, str]:
    head = base_doc()
    head["schema"][0]["properties"] = [p for p in head["schema"][0]["properties"] if p["name"] != "email"]
    return _write(tmp_path / "base.odcs.yaml", base_doc()), _write(tmp_path / "head.odcs.yaml", head)


def test_breaking_change_exits_1_and_json_names_rule_file_and_line(
    pair: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["contract", "diff", *pair, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "fail"
    [finding] = report["gates"][0]["findings"]
    assert (finding["rule"], finding["severity"], finding["dataset"], finding["column"]) == (
        "column-removed",
        "error",
        "orders",
        "email",
    )
    # at its dataset in head (where an annotation can show it), with the line it had in base
    assert finding["file"] == pair[1] and isinstance(finding["line"], int)
    assert isinstance(finding["data"]["base_line"], int)


def test_compatible_change_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = base_doc()
    prop(head, "email")["required"] = True
    base, head_path = _write(tmp_path / "a.yaml", base_doc()), _write(tmp_path / "b.yaml", head)
    assert main(["contract", "diff", base, head_path]) == 0
    assert "required-tightened" in capsys.readouterr().out


def test_markdown_format_renders_the_rule(pair: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract", "diff", *pair, "--format", "markdown"]) == 1
    out = capsys.readouterr().out
    assert "column-removed" in out and "|" in out


def test_waiver_in_config_accepts_and_exits_0(
    pair: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "datacanary.yml"
    config.write_text(
        "name: shop\nwaivers:\n  - rule: column-removed\n    dataset: orders\n    column: email\n"
        "    reason: DATA-9\n    expires: 2030-01-01\n"
    )
    assert (
        main(
            ["contract", "diff", *pair, "--config", str(config), "--format", "json", "--today", "2026-01-01"]
        )
        == 0
    )
    finding = json.loads(capsys.readouterr().out)["gates"][0]["findings"][0]
    assert finding["accepted"]["by"] == "waiver" and finding["accepted"]["reason"] == "DATA-9"


def test_config_in_current_directory_is_used(
    pair: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "datacanary.yml").write_text("name: shop\npolicy:\n  rules:\n    column-removed: warning\n")
    monkeypatch.chdir(tmp_path)
    assert main(["contract", "diff", *pair]) == 0
    assert "datacanary.yml" in capsys.readouterr().err


def test_invalid_contract_exits_2_with_file_and_line(
    tmp_path: Path, pair: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.odcs.yaml"
    bad.write_text(Path(pair[0]).read_text().replace("logicalType: timestamp", "logicalType: datetime"))
    assert main(["contract", "diff", pair[0], str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:" in err and "logicalType" in err and "Traceback" not in err


def test_missing_file_and_bad_date_exit_2(pair: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract", "diff", pair[0], "/no/such/file.yaml"]) == 2
    assert main(["contract", "diff", *pair, "--today", "tomorrow"]) == 2
    assert "no such file" in capsys.readouterr().err


def _git(repo: Path, *args: str) -> None:
    import subprocess

    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose contract went v1 (maxLength 10) -> v2 (maxLength 20), transitive mode."""
    root = tmp_path / "repo"
    (root / "contracts").mkdir(parents=True)
    _git(root, "init", "-q", "-b", "main")
    for version, length in (("1.0.0", 10), ("1.1.0", 20)):
        doc = base_doc()
        doc["version"] = version
        doc["customProperties"] = [{"property": "compatibility", "value": "backward_transitive"}]
        prop(doc, "status")["logicalTypeOptions"]["maxLength"] = length
        _write(root / "contracts" / "orders.odcs.yaml", doc)
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", version)
    monkeypatch.chdir(root)
    return root


def test_rev_colon_path_reads_the_base_from_git(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = base_doc()
    head["version"] = "1.2.0"
    head["customProperties"] = [{"property": "compatibility", "value": "backward_transitive"}]
    prop(head, "status")["logicalTypeOptions"]["maxLength"] = 20
    prop(head, "status")["required"] = False
    _write(repo / "contracts" / "orders.odcs.yaml", head)
    code = main(
        [
            "contract",
            "diff",
            "HEAD:contracts/orders.odcs.yaml",
            "contracts/orders.odcs.yaml",
            "--format",
            "json",
        ]
    )
    findings = json.loads(capsys.readouterr().out)["gates"][0]["findings"]
    assert code == 1
    rules = {(f["rule"], f.get("data", {}).get("against_version")) for f in findings}
    assert ("required-relaxed", "1.1.0") in rules
    # transitive: the maxLength raised in 1.1.0 is still a loosening against 1.0.0 from git history
    assert ("constraint-loosened", "1.0.0") in rules


def test_no_history_checks_only_against_the_base(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "contract",
            "diff",
            "HEAD:contracts/orders.odcs.yaml",
            "contracts/orders.odcs.yaml",
            "--no-history",
            "--format",
            "json",
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["gates"][0]["findings"] == []


def test_unknown_revision_exits_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract", "diff", "nope:contracts/orders.odcs.yaml", "contracts/orders.odcs.yaml"]) == 2
    assert "nope" in capsys.readouterr().err


def test_validate_lists_each_file_and_exits_2_on_any_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _write(tmp_path / "good.odcs.yaml", base_doc())
    broken = base_doc()
    prop(broken, "email")["logicalType"] = "text"
    bad = _write(tmp_path / "bad.odcs.yaml", broken)
    assert main(["contract", "validate", good]) == 0
    assert "1 valid, 0 invalid" in capsys.readouterr().out
    assert main(["contract", "validate", good, bad]) == 2
    out = capsys.readouterr().out
    assert f"ok       {good}: orders 1.0.0 (ODCS v3.1.0), 1 dataset, 5 columns, backward" in out
    assert f"invalid  {bad}:" in out and "`logicalType` must be one of" in out
    assert "1 valid, 1 invalid" in out


def test_rev_colon_path_is_from_the_repository_root_even_in_a_subdirectory(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo / "contracts")
    code = main(["contract", "diff", "HEAD~1:contracts/orders.odcs.yaml", "HEAD:contracts/orders.odcs.yaml"])
    assert code in (0, 1), capsys.readouterr().err
    # like git, REV:./PATH is relative to the current directory
    assert main(["contract", "diff", "HEAD~1:./orders.odcs.yaml", "orders.odcs.yaml", "--no-history"]) in (
        0,
        1,
    )
    capsys.readouterr()
    assert main(["contract", "diff", "HEAD:orders.odcs.yaml", "orders.odcs.yaml"]) == 2
    err = capsys.readouterr().err
    assert "orders.odcs.yaml does not exist at" in err and "REV:./PATH" in err


def test_a_missing_file_hint_matches_the_argument(
    pair: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["contract", "validate", str(tmp_path / "nope.yaml")]) == 2
    out = capsys.readouterr().out
    assert "contract validate" in out and "pass two contract files" not in out
    assert main(["contract", "diff", *pair, "--config", str(tmp_path / "nope.yml")]) == 2
    err = capsys.readouterr().err
    assert "--config" in err and "pass two contract files" not in err
    assert main(["contract", "diff", pair[0], str(tmp_path / "nope.yaml")]) == 2
    assert "pass two contract files" in capsys.readouterr().err


def test_validate_of_a_directory_validates_the_contract_files_in_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `datacanary contract validate contracts/` in pre-commit or CI: was "cannot read contracts: [Errno 21]"
    (tmp_path / "contracts" / "sales").mkdir(parents=True)
    good = _write(tmp_path / "contracts" / "sales" / "orders.odcs.yaml", base_doc())
    (tmp_path / "contracts" / "README.md").write_text("not a contract")
    assert main(["contract", "validate", str(tmp_path / "contracts")]) == 0
    assert capsys.readouterr().out.startswith(f"ok       {good}: orders 1.0.0")
    (tmp_path / "empty").mkdir()
    assert main(["contract", "validate", str(tmp_path / "empty")]) == 2
    out = capsys.readouterr().out
    assert f"{tmp_path / 'empty'} is a directory, not a contract file" in out and "Errno" not in out
    assert main(["contract", "diff", str(tmp_path / "contracts"), good]) == 2
    assert "is a directory, not a contract file" in capsys.readouterr().err
