"""Each repository's ledger database in the App (app.service.ledgers): where it is, the runner's
`{repository}` state path that reaches it, the dashboard reading it, and the adoption of ledger rows
written into the App's own database before the split."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import UsageError
from app.promotion.cli import state_path
from app.promotion.ledger import Ledger
from app.service.installations import Installations
from app.service.ledgers import RepoLedgers
from app.state import StateDB, ledger_path, ledgers_root, repo_parts, resolve_state


def _promote(db: StateDB, env: str, digest: str) -> None:
    Ledger(db).record(
        digest=digest, environment=env, at="2026-12-01T10:00:00Z", actor="ci", passed=True, canary={}
    )


def _live(db: StateDB | None, env: str) -> str | None:
    assert db is not None
    entry = Ledger(db).live(env)
    return entry.digest if entry else None


def _tables(path: Path) -> set[str]:
    db = StateDB(path)
    try:
        return {r[0] for r in db.connect().execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()


def test_a_ledger_path_is_per_repository_and_case_insensitive(tmp_path: Path) -> None:
    root = ledgers_root(tmp_path / "state.sqlite")
    assert ledger_path(root, "Acme/Shop") == tmp_path / "ledgers" / "acme" / "shop" / "state.sqlite"
    assert ledger_path(root, "acme/shop") == ledger_path(root, "ACME/SHOP")
    assert ledger_path(root, "acme/shop") != ledger_path(root, "acme/shop2")


@given(st.text(max_size=40))
def test_no_name_leaves_the_ledgers_directory(name: str) -> None:
    parts = repo_parts(name)
    if parts is None:
        with pytest.raises(ValueError):
            ledger_path("/srv/ledgers", name)
        return
    path = ledger_path("/srv/ledgers", name)
    assert path.parent.parent.parent == Path("/srv/ledgers") and ".." not in path.parts


@pytest.mark.parametrize("name", ["../etc", "acme/..", "acme/shop/x", "acme", "a b/c", "/abs", ""])
def test_names_that_are_not_owner_slash_repo_are_refused(name: str) -> None:
    assert repo_parts(name) is None


def test_a_runner_state_path_names_the_repository(tmp_path: Path) -> None:
    template = f"{tmp_path}/ledgers/{{repository}}/state.sqlite"
    env = {"DATACANARY_STATE": template, "GITHUB_REPOSITORY": "Acme/Shop"}
    assert state_path(None, env) == ledger_path(ledgers_root(tmp_path / "state.sqlite"), "acme/shop")
    assert state_path("plain.sqlite", env) == Path("plain.sqlite")  # --state wins, taken as it is
    with pytest.raises(UsageError, match="GITHUB_REPOSITORY") as missing:
        state_path(None, {"DATACANARY_STATE": template})
    assert "no repository is known" in missing.value.message
    with pytest.raises(UsageError, match="not a repository name"):
        state_path(None, {"DATACANARY_STATE": template, "GITHUB_REPOSITORY": "../../etc"})
    assert resolve_state("/x/{repository}.sqlite", "o/r") == Path("/x/o/r.sqlite")


def test_repositories_get_separate_ledgers_and_readers_create_none(tmp_path: Path) -> None:
    shared = StateDB(tmp_path / "state.sqlite")
    ledgers = RepoLedgers(shared)
    assert ledgers.existing("acme/shop") is None
    assert not ledgers.path("acme/shop").exists()  # a reader does not create a database
    _promote(ledgers.db("acme/shop"), "prod", "sha256:" + "a" * 64)
    _promote(ledgers.db("acme/other"), "prod", "sha256:" + "b" * 64)
    assert _live(ledgers.existing("Acme/Shop"), "prod") == "sha256:" + "a" * 64
    assert _live(ledgers.existing("acme/other"), "prod") == "sha256:" + "b" * 64
    assert "promotion" not in _tables(shared.path)
    ledgers.close()
    shared.close()


def _legacy(tmp_path: Path, installed: list[str], claims: list[str] = ()) -> StateDB:  # type: ignore[assignment]
    """An App state database as it was before per-repository ledgers: promotions beside the inbox."""
    shared = StateDB(tmp_path / "state.sqlite")
    _promote(shared, "prod", "sha256:" + "c" * 64)
    store = Installations(shared)
    store.upsert(1, "acme", 0.0)
    store.add_repos(1, installed)
    if claims:
        shared.connect().executescript(
            "CREATE TABLE repo_environments (repo TEXT, env TEXT, first_seen REAL);"
            + "".join(f"INSERT INTO repo_environments VALUES ('{r}', 'prod', 0);" for r in claims)
        )
    return shared


def test_the_only_installed_repository_adopts_the_old_shared_ledger_once(tmp_path: Path) -> None:
    shared = _legacy(tmp_path, ["acme/shop"])
    ledgers = RepoLedgers(shared)
    adopted = ledgers.existing("Acme/Shop")  # the dashboard's first read adopts too
    assert _live(adopted, "prod") == "sha256:" + "c" * 64
    tables = _tables(ledgers.path("acme/shop"))
    assert "promotion" in tables and not tables & {"installations", "installed_repos", "inbox"}
    assert ledgers.existing("acme/other") is None  # nobody else gets the rows
    ledgers.close()
    ledgers.path("acme/shop").unlink()
    again = RepoLedgers(shared)
    assert _live(again.db("acme/shop"), "prod") is None  # adopted once: never copied a second time
    again.close()
    shared.close()


def test_rows_claimed_by_one_repository_are_its_own_among_several_installed(tmp_path: Path) -> None:
    shared = _legacy(tmp_path, ["acme/shop", "acme/other"], claims=["Acme/Shop"])
    ledgers = RepoLedgers(shared)
    assert ledgers.existing("acme/other") is None
    assert _live(ledgers.db("acme/shop"), "prod") == "sha256:" + "c" * 64
    ledgers.close()
    shared.close()


@pytest.mark.parametrize(
    "installed, claims, why",
    [
        (["acme/shop", "acme/other"], [], "installed on 2 repositories"),
        (["acme/shop", "acme/other"], ["acme/shop", "acme/other"], "claimed by 2 repositories"),
    ],
)
def test_rows_of_no_single_repository_are_not_adopted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, installed: list[str], claims: list[str], why: str
) -> None:
    shared = _legacy(tmp_path, installed, claims)
    ledgers = RepoLedgers(shared)
    with caplog.at_level(logging.WARNING, logger="datacanary.ledgers"):
        assert _live(ledgers.db("acme/shop"), "prod") is None
    assert why in caplog.text and "starts with an empty ledger" in caplog.text
    assert _live(shared, "prod") == "sha256:" + "c" * 64  # left where they were: nothing lost
    ledgers.close()
    shared.close()


def test_the_dashboard_shows_each_repository_its_own_environment_of_the_same_name(
    tmp_path: Path, make_settings: Any
) -> None:
    from app.dashboard import pages
    from app.dashboard.access import Repo

    shared = StateDB(tmp_path / "state.sqlite")
    ledgers = RepoLedgers(shared)
    _promote(ledgers.db("acme/shop"), "prod", "sha256:" + "a" * 64)
    _promote(ledgers.db("acme/other"), "prod", "sha256:" + "b" * 64)
    settings = make_settings(state=shared.path)
    for name, digest in (("acme/shop", "a"), ("acme/other", "b")):
        repo = Repo(installation_id=1, full_name=name)
        found = pages.env_page(shared, repo, settings, env="prod", ledger=ledgers.existing(name))
        assert found is not None
        _, context = found
        assert context["live"].digest == "sha256:" + digest * 64
        assert [e.digest for e in context["promotions"]] == ["sha256:" + digest * 64]
        listed = pages.repo_page(shared, repo, settings, ledger=ledgers.existing(name))
        assert listed is not None and listed[1]["envs"] == ["prod"]
    nobody = Repo(installation_id=1, full_name="acme/new")
    assert pages.env_page(shared, nobody, settings, env="prod", ledger=ledgers.existing("acme/new")) is None
    ledgers.close()
    shared.close()
