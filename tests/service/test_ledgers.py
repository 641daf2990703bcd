"""Each repository's ledger database in the App (app.service.ledgers): where it is, the runner's
`{repository}` state path that reaches it, the dashboard reading it, and the adoption of ledger rows
written into the App's own database before the split."""

from __future__ import annotations

import logging
import sqlite3
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
from app.state import StateDB, ledger_path, ledgers_root, repo_parts, resolve_state, table_names


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
        return table_names(db.connect())
    finally:
        db.close()


def test_a_ledger_path_is_per_repository_and_case_insensitive(tmp_path: Path) -> None:
    root = ledgers_root(tmp_path / "state.sqlite")
    assert ledger_path(root, "Acme/Shop") == tmp_path / "ledgers" / "acme" / "shop" / "state.sqlite"
    assert ledger_path(root, "acme/shop") == ledger_path(root, "ACME/SHOP")
    assert ledger_path(root, "acme/shop") != ledger_path(root, "acme/shop2")


@given(st.text(max_size=40) | st.from_regex(r"[A-Za-z0-9_.-]{1,12}/[A-Za-z0-9_./-]{1,12}", fullmatch=True))
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
    """An App state database as it was before per-repository ledgers: promotions beside the inbox, and
    an artifact in the store beside it."""
    shared = StateDB(tmp_path / "state.sqlite")
    _promote(shared, "prod", "sha256:" + "c" * 64)
    (tmp_path / "artifacts" / "sha256").mkdir(parents=True)
    (tmp_path / "artifacts" / "sha256" / f"{'c' * 64}.tar").write_bytes(b"the artifact")
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
    shared = _legacy(tmp_path, ["Acme/Shop"])
    ledgers = RepoLedgers(shared)
    assert ledgers.adopt_legacy() == "Acme/Shop"
    assert _live(ledgers.existing("acme/shop"), "prod") == "sha256:" + "c" * 64
    tables = _tables(ledgers.path("acme/shop"))
    assert "promotion" in tables and not tables & {"installations", "installed_repos", "inbox"}
    artifact = ledgers.path("acme/shop").parent / "artifacts" / "sha256" / f"{'c' * 64}.tar"
    assert artifact.read_bytes() == b"the artifact"  # the store comes along: rollback and alerts need it
    assert ledgers.existing("acme/other") is None  # nobody else gets the rows
    # the indexes came along with the rows: still one live promotion per environment
    adopted = ledgers.existing("acme/shop")
    assert adopted is not None
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        adopted.connect().execute(
            "INSERT INTO promotion (digest, environment, promoted_at, actor, status)"
            " VALUES ('x', 'prod', 'now', 'me', 'live')"
        )
    ledgers.close()
    ledgers.path("acme/shop").unlink()
    again = RepoLedgers(shared)
    assert again.adopt_legacy() is None  # adopted once: never copied a second time
    assert again.existing("acme/shop") is None
    shared.close()


def test_an_adopted_ledger_never_hands_out_an_id_the_old_one_used(tmp_path: Path) -> None:
    shared = _legacy(tmp_path, ["acme/shop"])
    _promote(shared, "dev", "sha256:" + "d" * 64)
    last = shared.connect().execute("SELECT max(id) FROM promotion").fetchone()[0]
    shared.connect().execute("DELETE FROM promotion WHERE id = ?", (last,))  # its id stays used
    ledgers = RepoLedgers(shared)
    assert ledgers.adopt_legacy() == "acme/shop"
    adopted = ledgers.db("acme/shop")
    _promote(adopted, "dev", "sha256:" + "e" * 64)
    assert adopted.connect().execute("SELECT max(id) FROM promotion").fetchone()[0] == last + 1
    ledgers.close()
    shared.close()


def test_adoption_without_an_autoincrement_ledger_table_starts_the_app(tmp_path: Path) -> None:
    """The App's own AUTOINCREMENT table (gate results) gives the shared database a sqlite_sequence that
    the copy, holding only incidents, has none of."""
    shared = StateDB(tmp_path / "state.sqlite")
    shared.connect().executescript(
        "CREATE TABLE gate_results (id INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT);"
        "INSERT INTO gate_results (repo) VALUES ('acme/shop');"
        "CREATE TABLE revert_incidents (key TEXT PRIMARY KEY, at REAL);"
        "INSERT INTO revert_incidents VALUES ('k', 0);"
    )
    store = Installations(shared)
    store.upsert(1, "acme", 0.0)
    store.add_repos(1, ["acme/shop"])
    ledgers = RepoLedgers(shared)
    assert ledgers.adopt_legacy() == "acme/shop"
    adopted = ledgers.existing("acme/shop")
    assert adopted is not None
    assert adopted.connect().execute("SELECT key FROM revert_incidents").fetchall()[0][0] == "k"
    ledgers.close()
    shared.close()


def test_a_copy_published_before_a_crash_is_recognised_and_not_made_again(tmp_path: Path) -> None:
    shared = _legacy(tmp_path, ["acme/shop"])
    ledgers = RepoLedgers(shared)
    assert ledgers.adopt_legacy() == "acme/shop"
    shared.connect().execute("DELETE FROM ledger_adoptions")  # as if the App died before marking it done
    _promote(ledgers.db("acme/shop"), "dev", "sha256:" + "d" * 64)  # written since, into the copy
    assert RepoLedgers(shared).adopt_legacy() == "acme/shop"
    assert _live(ledgers.existing("acme/shop"), "dev") == "sha256:" + "d" * 64  # not replaced
    ledgers.close()
    shared.close()


def test_a_ledger_a_runner_wrote_first_is_kept_and_the_old_rows_are_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = _legacy(tmp_path, ["acme/shop"])
    ledgers = RepoLedgers(shared)
    _promote(ledgers.db("acme/shop"), "prod", "sha256:" + "e" * 64)  # a runner pointed at the new path
    with caplog.at_level(logging.WARNING, logger="datacanary.ledgers"):
        assert ledgers.adopt_legacy() is None
    assert "already exists" in caplog.text and "acme/shop's" in caplog.text
    assert _live(ledgers.existing("acme/shop"), "prod") == "sha256:" + "e" * 64
    assert _live(shared, "prod") == "sha256:" + "c" * 64  # the old rows are still there
    ledgers.close()
    shared.close()


def test_rows_claimed_by_one_repository_are_its_own_among_several_installed(tmp_path: Path) -> None:
    shared = _legacy(tmp_path, ["acme/shop", "acme/other"], claims=["Acme/Shop"])
    ledgers = RepoLedgers(shared)
    assert ledgers.adopt_legacy() == "Acme/Shop"
    assert ledgers.existing("acme/other") is None
    assert _live(ledgers.db("acme/shop"), "prod") == "sha256:" + "c" * 64
    ledgers.close()
    shared.close()


@pytest.mark.parametrize(
    "installed, claims, why",
    [
        (["acme/shop", "acme/other"], [], "installed on 2 repositories"),
        (["acme/shop", "acme/other"], ["acme/shop", "acme/other"], "claimed by 2 repositories"),
        (["acme/shop"], ["../up"], "is not a repository name"),
    ],
)
def test_rows_of_no_single_repository_are_not_adopted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, installed: list[str], claims: list[str], why: str
) -> None:
    shared = _legacy(tmp_path, installed, claims)
    ledgers = RepoLedgers(shared)
    with caplog.at_level(logging.WARNING, logger="datacanary.ledgers"):
        assert ledgers.adopt_legacy() is None
    assert why in caplog.text and "they stay there" in caplog.text
    assert _live(ledgers.db("acme/shop"), "prod") is None
    assert _live(shared, "prod") == "sha256:" + "c" * 64  # left where they were: nothing lost
    assert not (tmp_path / "ledgers" / "up").exists()
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


def test_a_ledger_another_process_moved_is_not_served_from_a_stale_cache(tmp_path: Path) -> None:
    shared = StateDB(tmp_path / "state.sqlite")
    worker, handler = RepoLedgers(shared), RepoLedgers(shared)  # two processes' caches
    _promote(worker.db("acme/shop"), "prod", "sha256:" + "a" * 64)
    assert handler.move("acme/shop", "acme/store")
    assert worker.existing("acme/shop") is None  # not the cached handle to a path that is gone
    assert _live(worker.existing("acme/store"), "prod") == "sha256:" + "a" * 64
    worker.close()
    handler.close()
    shared.close()
