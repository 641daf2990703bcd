"""The Action's `mode: promote` in a release workflow: outputs, job summary, and the GitHub deployment
(with the digest in its payload) and its status, sent to the OpenAPI-checking stub."""

from __future__ import annotations

from pathlib import Path

import pytest

from action.__main__ import main as action_main
from app.project.tree import DirTree
from app.promotion.artifact import to_tar
from app.promotion.bundle import build_from_tree
from tests.support.fixtures import github_stub  # noqa: F401

from .conftest import write_env_data, write_project

SHA = "1" * 40


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, str]:
    root = write_project(tmp_path / "ws" / "warehouse")
    for env in ("dev", "staging", "prod"):
        write_env_data(root / "data" / f"{env}.duckdb")
    artifact, _ = build_from_tree(DirTree(root))
    (tmp_path / "ws" / "dist").mkdir()
    (tmp_path / "ws" / "dist" / "shop.tar").write_bytes(to_tar(artifact))
    return tmp_path / "ws", artifact.digest


def _env(ws: Path, stub, environment: str, **inputs: str) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/warehouse",
        "GITHUB_EVENT_NAME": "workflow_dispatch",
        "GITHUB_API_URL": stub.base_url,
        "GITHUB_SHA": SHA,
        "GITHUB_ACTOR": "release-bot",
        "GITHUB_RUN_ID": "77",
        "GITHUB_WORKSPACE": str(ws),
        "GITHUB_OUTPUT": str(ws / "output.txt"),
        "GITHUB_STEP_SUMMARY": str(ws / "summary.md"),
        "DATACANARY_GITHUB_THROTTLE": "off",
        "INPUT_GITHUB_TOKEN": "t",
        "INPUT_MODE": "promote",
        "INPUT_PROJECT": "warehouse",
        "INPUT_ARTIFACT": "dist/shop.tar",
        "INPUT_ENVIRONMENT": environment,
        **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
    }


def _outputs(path: Path) -> dict[str, str]:
    """The last value of each output in a GITHUB_OUTPUT file (`name<<DELIMITER` blocks)."""
    lines, found = path.read_text().splitlines(), {}
    i = 0
    while i < len(lines):
        name, _, delimiter = lines[i].partition("<<")
        end = lines.index(delimiter, i + 1)
        found[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return found


def test_promote_records_a_deployment_with_the_digest_and_a_success_status(workspace, github_stub, capsys):
    ws, digest = workspace
    assert action_main(_env(ws, github_stub, "dev")) == 0
    (deployment,) = github_stub.deployments.values()
    assert deployment["environment"] == "dev" and deployment["ref"] == SHA
    assert deployment["payload"]["digest"] == digest and deployment["payload"]["canary"] == "pass"
    (status,) = github_stub.deployment_statuses[deployment["id"]]
    assert status["state"] == "success" and status["log_url"].endswith("/acme/warehouse/actions/runs/77")
    outputs = _outputs(ws / "output.txt")
    assert (outputs["digest"], outputs["decision"], outputs["environment"]) == (digest, "promote", "dev")
    assert "datacanary promote to `dev`: done" in (ws / "summary.md").read_text()
    assert f"promoted {digest} to dev" in capsys.readouterr().out


def test_refusal_and_noop_record_no_deployment(workspace, github_stub, capsys):
    ws, digest = workspace
    assert action_main(_env(ws, github_stub, "prod")) == 1  # not through dev and staging
    assert action_main(_env(ws, github_stub, "dev")) == 0
    assert action_main(_env(ws, github_stub, "dev")) == 0  # already live: a no-op
    assert len(github_stub.deployments) == 1
    assert _outputs(ws / "output.txt")["decision"] == "noop"


def test_last_environment_is_a_production_deployment_and_rollback_is_recorded_too(workspace, github_stub):
    ws, digest = workspace
    for env in ("dev", "staging", "prod"):
        assert action_main(_env(ws, github_stub, env)) == 0
    prod = [d for d in github_stub.deployments.values() if d["environment"] == "prod"]
    assert prod[0]["production_environment"] is True
    # nothing earlier is good in prod: rollback is refused, exit 1, nothing recorded
    assert action_main(_env(ws, github_stub, "prod", rollback="true")) == 1
    assert len(github_stub.deployments) == 3


def test_missing_environment_input_is_a_usage_error(workspace, github_stub, capsys):
    ws, _ = workspace
    env = _env(ws, github_stub, "")
    assert action_main(env) == 2
    assert "input `environment` is required" in capsys.readouterr().out


def test_on_ephemeral_runners_an_earlier_jobs_deployment_counts(workspace, github_stub, tmp_path):
    ws, digest = workspace

    def fresh(env: str, runner: str) -> int:  # every job on a new runner: an empty local ledger
        return action_main(_env(ws, github_stub, env, state=str(tmp_path / runner / "s.sqlite")))

    assert fresh("dev", "r1") == 0
    assert fresh("prod", "r2") == 1  # GitHub knows dev, not staging
    assert fresh("staging", "r3") == 0  # dev's deployment on GitHub counts
    assert fresh("prod", "r4") == 0
    assert [d["environment"] for d in github_stub.deployments.values()] == ["dev", "staging", "prod"]
    assert all(d["payload"]["digest"] == digest for d in github_stub.deployments.values())


def test_dry_run_decides_and_prints_but_records_nothing(workspace, github_stub, capsys, tmp_path):
    from app.promotion.ledger import Ledger
    from app.state import StateDB

    ws, digest = workspace
    state = tmp_path / "dry" / "state.sqlite"
    assert action_main(_env(ws, github_stub, "dev", dry_run="true", state=str(state))) == 0
    assert f"would promote {digest} to dev" in capsys.readouterr().out
    assert github_stub.deployments == {}
    assert _outputs(ws / "output.txt")["decision"] == "promote"
    db = StateDB(state)
    try:
        assert Ledger(db).live("dev") is None
    finally:
        db.close()
    assert not (state.parent / "artifacts").exists() or not any((state.parent / "artifacts").iterdir())
    # and a real run afterwards is a promotion, not a no-op
    assert action_main(_env(ws, github_stub, "dev", state=str(state))) == 0
    assert len(github_stub.deployments) == 1


def test_a_state_path_naming_the_repository_records_where_the_app_reads_its_ledger(
    workspace, github_stub, tmp_path
):
    from app.promotion.ledger import Ledger
    from app.service.ledgers import RepoLedgers
    from app.state import StateDB

    ws, digest = workspace
    template = str(tmp_path / "ledgers" / "{repository}" / "state.sqlite")
    assert action_main(_env(ws, github_stub, "dev", state=template)) == 0
    app_ledgers = RepoLedgers(StateDB(tmp_path / "state.sqlite"))  # an App whose state is beside them
    db = app_ledgers.existing("Acme/Warehouse")
    assert db is not None and db.path == tmp_path / "ledgers" / "acme" / "warehouse" / "state.sqlite"
    live = Ledger(db).live("dev")
    assert live is not None and live.digest == digest
    assert any((db.path.parent / "artifacts").iterdir())  # the artifact beside it: parity can be checked
    app_ledgers.close()
