"""Earlier versions of a contract from a real git repository (app.project.history)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.project.history import contract_history, read_contract_history
from tests.contracts.conftest import base_doc


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _commit(repo: Path, path: str, content: str | dict[str, Any], message: str) -> None:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)


def _version(v: str) -> dict[str, Any]:
    doc = base_doc()
    doc["version"] = v
    return doc


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One repository for the module: v1, an unparseable commit, v1.1, a move, v1.2."""
    repo = tmp_path_factory.mktemp("history") / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, "contracts/orders.odcs.yaml", _version("1.0.0"), "v1")
    _commit(repo, "contracts/orders.odcs.yaml", "id: [broken\n", "broken")
    _commit(repo, "contracts/orders.odcs.yaml", _version("1.1.0"), "v1.1")
    (repo / "contracts/sales").mkdir()
    _git(repo, "mv", "contracts/orders.odcs.yaml", "contracts/sales/orders.odcs.yaml")
    _git(repo, "commit", "-q", "-m", "move")
    _commit(repo, "contracts/sales/orders.odcs.yaml", _version("1.2.0"), "v1.2")
    return repo


def test_history_is_oldest_first_follows_renames_and_excludes_head(repo: Path) -> None:
    versions = contract_history(repo, "contracts/sales/orders.odcs.yaml", "HEAD")
    assert [c.version for c in versions] == ["1.0.0", "1.1.0"]
    assert versions[0].path == "contracts/orders.odcs.yaml"


def test_unparseable_versions_are_skipped_with_a_warning(repo: Path) -> None:
    result = read_contract_history(repo, "contracts/sales/orders.odcs.yaml", "HEAD")
    assert len(result.warnings) == 1
    assert "skipped" in result.warnings[0] and "invalid YAML" in result.warnings[0]


def test_history_until_an_earlier_revision(repo: Path) -> None:
    versions = contract_history(repo, "contracts/orders.odcs.yaml", "HEAD~2")
    assert [c.version for c in versions] == ["1.0.0"]


def test_limit_keeps_the_most_recent_versions(repo: Path) -> None:
    versions = contract_history(repo, "contracts/sales/orders.odcs.yaml", "HEAD", limit=1)
    assert [c.version for c in versions] == ["1.1.0"]


def test_unknown_revision_gives_a_warning_not_a_crash(repo: Path) -> None:
    result = read_contract_history(repo, "contracts/sales/orders.odcs.yaml", "no-such-ref")
    assert result.versions == () and "unavailable" in result.warnings[0]
