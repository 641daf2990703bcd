"""The Action on a dbt repository: the workflow compiles the manifests, the Action gates them."""

from __future__ import annotations

import json
from pathlib import Path

from action.__main__ import main
from tests.action.conftest import TinyRepo, event_file, read_outputs, runner_env
from tests.dbt.conftest import DEMO, _git, _write, demo_files
from tests.support.github_stub import GitHubStub


def test_manifest_inputs_gate_a_dbt_change(tmp_path: Path, github_stub: GitHubStub) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _write(repo, demo_files("base"), "transform")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "rm", "-q", "-r", "transform")
    _write(repo, demo_files("head"), "transform")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "head")
    # what `dbt compile` would have left in the workspace for each revision
    (repo / "compiled").mkdir()
    (repo / "compiled" / "base.json").write_bytes((DEMO / "target-base" / "manifest.json").read_bytes())
    (repo / "compiled" / "head.json").write_bytes((DEMO / "target" / "manifest.json").read_bytes())
    tiny = TinyRepo(repo, base="main~1", head="main")
    event = event_file(tmp_path, "workflow_dispatch", base="", head="")
    env = runner_env(
        tmp_path, tiny, github_stub, "workflow_dispatch", event, base="main~1", head="main",
        project="transform", manifest="compiled/head.json", base_manifest="compiled/base.json",
    )  # fmt: skip
    assert main(env) == 1
    outputs = read_outputs(tmp_path / "github_output")
    report = json.loads(Path(outputs["report-json"]).read_text())
    blocking = {(f["dataset"], f["rule"]) for g in report["gates"] for f in g["findings"] if f["blocking"]}
    assert ("fct_orders", "column-removed") in blocking
    contracts = next(r for r in github_stub.check_runs.values() if r["name"] == "datacanary / contracts")
    assert contracts["conclusion"] == "failure"
