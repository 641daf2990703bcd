"""action.yml is what users reference: its inputs reach the entry, its outputs are the ones the entry
writes, and it installs datacanary from the action's own path."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ACTION = yaml.safe_load((Path(__file__).resolve().parents[2] / "action.yml").read_text())


def test_composite_action_installs_itself_and_runs_the_entry() -> None:
    runs = ACTION["runs"]
    assert runs["using"] == "composite"
    scripts = [step.get("run", "") for step in runs["steps"]]
    install = [
        s for s in scripts if 'pip install --disable-pip-version-check "${{ github.action_path }}' in s
    ]
    # the engine's driver comes as an extra of the same install (pyproject's postgres / spark extras)
    assert len(install) == 1 and "'[postgres]'" in install[0] and "'[spark]'" in install[0]
    assert scripts[-1] == "python -m action"
    setup = runs["steps"][0]
    assert setup["uses"].startswith("actions/setup-python@") and setup["with"]["cache"] == "pip"


def test_every_input_is_passed_to_the_entry() -> None:
    env = ACTION["runs"]["steps"][-1]["env"]
    passed = {m.group(1) for v in env.values() for m in [re.search(r"inputs\.([\w-]+)", str(v))] if m}
    assert passed == set(ACTION["inputs"]) - {"python-version"}
    for name in passed:
        assert env[f"INPUT_{name.upper().replace('-', '_')}"] == f"${{{{ inputs.{name} }}}}"


def test_documented_inputs_and_outputs() -> None:
    assert {"project", "github-token", "base", "head", "fail-on", "comment", "mode"} <= set(ACTION["inputs"])
    assert ACTION["inputs"]["github-token"]["default"] == "${{ github.token }}"
    assert {"verdict", "report-json", "breaking-count"} <= set(ACTION["outputs"])
    for name, out in ACTION["outputs"].items():
        assert out["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
