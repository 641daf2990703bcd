"""Handlers and the worker over in-memory GitHub: check runs in progress then completed through the
Action's effects, drafts, re-runs, merge groups, supersession, acknowledgments, installations."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.errors import ProjectError
from app.service.acks import Acknowledgments
from app.service.installations import Installations
from app.service.ledgers import RepoLedgers
from app.types import Location
from tests.service.conftest import load_payload
from tests.service.world import World, check_payload, pr_payload
from tests.support import webhooks

REPO = "Codertocat/Hello-World"
CONTRACTS, CANARY = "datacanary / contracts", "datacanary / canary"


@pytest.fixture
def world(make_settings: Callable[..., Any], tmp_path: Path) -> World:
    return World(make_settings(workers=0), tmp_path)


def _creates(world: World, repo: str = REPO) -> list[dict[str, Any]]:
    return [args for name, args in world.ports[repo].calls if name == "create_check_run"]


def test_pull_request_opened_creates_runs_in_progress_then_completes_them_and_comments(world: World) -> None:
    delivery = world.deliver("pull_request", pr_payload(), "d-1")
    world.work()
    port = world.ports[REPO]
    names = [c[0] for c in port.calls]
    assert names[:2] == ["create_check_run", "create_check_run"]  # both pending before the engine ran
    assert {c["status"].value for c in _creates(world)} == {"in_progress"}
    runs = {r.name: r for r in port.check_runs.values()}
    assert set(runs) == {CONTRACTS, CANARY}
    assert runs[CONTRACTS].conclusion == "failure" and runs[CANARY].conclusion == "skipped"
    assert runs[CONTRACTS].external_id == "dc:d-1:contracts"
    assert [a.identifier for a in runs[CONTRACTS].actions] == ["ack-breaking"]
    assert len(port.comments[2]) == 1 and "<!-- datacanary:comment -->" in port.comments[2][0].body
    assert world.checks == [{"base": "b" * 40, "head": "h" * 40, "canary": False, "acknowledgments": []}]
    assert world.outcome(delivery) == "done"


def test_a_new_push_edits_the_same_comment(world: World) -> None:
    world.deliver("pull_request", pr_payload(), "d-1")
    world.work()
    world.deliver("pull_request", pr_payload("synchronize", head="n" * 40), "d-2")
    world.work()
    port = world.ports[REPO]
    assert len(port.comments[2]) == 1 and "nnnnnnn" in port.comments[2][0].body
    assert len(port.check_runs) == 4


def test_a_draft_waits_until_ready_for_review(world: World) -> None:
    world.deliver("pull_request", pr_payload(draft=True))
    world.work()
    assert REPO not in world.ports and world.checks == []
    world.deliver("pull_request", pr_payload("ready_for_review"))
    world.work()
    assert len(world.ports[REPO].check_runs) == 2


def test_engine_error_fails_the_checks_with_its_message_and_hint(world: World) -> None:
    def broken(base: str, head: str) -> Any:
        raise ProjectError("no datacanary.yml", Location("datacanary.yml"), "create datacanary.yml")

    world.report = broken
    delivery = world.deliver("pull_request", pr_payload())
    world.work()
    runs = list(world.ports[REPO].check_runs.values())
    assert {r.conclusion for r in runs} == {"failure"}
    assert "no datacanary.yml" in (runs[0].summary or "") and "create datacanary.yml" in (
        runs[0].summary or ""
    )
    assert world.outcome(delivery) == "done"


def test_newer_head_supersedes_work_in_flight(world: World) -> None:
    old = world.deliver("pull_request", pr_payload(head="o" * 40), "old")
    # the push arrives while the engine runs on the old head
    world.on_check = lambda: (
        world.deliver("pull_request", pr_payload("synchronize", head="n" * 40), "new")
        if len(world.checks) == 1
        else None
    )
    world.work()
    port = world.ports[REPO]
    old_runs = [r for r in port.check_runs.values() if r.head_sha == "o" * 40]
    new_runs = [r for r in port.check_runs.values() if r.head_sha == "n" * 40]
    assert {r.conclusion for r in old_runs} == {"cancelled"}
    assert all("n" * 7 in (r.summary or "") for r in old_runs)
    assert {r.conclusion for r in new_runs} == {"failure", "skipped"}
    assert len(port.comments[2]) == 1 and "nnnnnnn" in port.comments[2][0].body  # never the old head's
    assert world.outcome(old) == "superseded"


def test_queued_work_for_an_older_head_never_runs(world: World) -> None:
    old = world.deliver("pull_request", pr_payload(head="o" * 40))
    world.deliver("pull_request", pr_payload("synchronize", head="n" * 40))
    world.work()
    assert [c["head"] for c in world.checks] == ["n" * 40]
    assert all(r.head_sha == "n" * 40 for r in world.ports[REPO].check_runs.values())
    assert world.outcome(old) == "superseded"


def _edited(changes: dict[str, Any], *, base: str) -> dict[str, Any]:
    """A `pull_request` `edited` payload for PR 2 at head h..., around a real example (the 2019 opened
    example lacks fields GitHub's edited schema now requires)."""
    payload = copy.deepcopy(load_payload("pull_request.synchronize"))
    for stale in ("before", "after"):
        payload.pop(stale, None)
    payload.update(action="edited", number=2, changes=changes)
    payload["installation"] = {"id": 1, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
    payload["repository"] = pr_payload()["repository"]
    pr = payload["pull_request"]
    pr["number"], pr["head"]["sha"], pr["base"]["sha"] = 2, "h" * 40, base
    assert webhooks.errors(payload, "webhook-pull-request-edited") == []
    return payload


def test_a_pull_request_retargeted_to_another_base_is_gated_again_against_it(world: World) -> None:
    world.deliver("pull_request", pr_payload(base="b" * 40))
    world.work()
    retarget = {"base": {"ref": {"from": "develop"}, "sha": {"from": "b" * 40}}}
    world.deliver("pull_request", _edited(retarget, base="c" * 40))
    world.work()
    assert [c["base"] for c in world.checks] == ["b" * 40, "c" * 40]
    comments = world.ports[REPO].comments[2]
    assert len(comments) == 1 and "`ccccccc` → `hhhhhhh`" in comments[0].body


def test_a_title_edit_gates_nothing(world: World) -> None:
    world.deliver("pull_request", pr_payload())
    world.work()
    edit = world.deliver("pull_request", _edited({"title": {"from": "Update README"}}, base="b" * 40))
    world.work()
    assert len(world.checks) == 1 and world.outcome(edit) in ("done", "ignored")


def test_check_suite_rerequested_runs_again_with_new_runs(world: World) -> None:
    world.deliver("pull_request", pr_payload())
    world.work()
    world.deliver("check_suite", check_payload("check_suite", "rerequested", head="h" * 40, base="b" * 40))
    world.work()
    assert len(world.checks) == 2
    assert [r.name for r in world.ports[REPO].check_runs.values()] == [CONTRACTS, CANARY, CONTRACTS, CANARY]


def test_rerun_of_another_apps_suite_is_ignored(world: World) -> None:
    world.deliver(
        "check_suite", check_payload("check_suite", "rerequested", head="h" * 40, base="b" * 40, app_id=1)
    )
    world.work()
    assert world.checks == []


def test_merge_group_is_gated_on_its_head_without_a_comment(world: World) -> None:
    payload = load_payload("merge_group.checks_requested")
    world.deliver("merge_group", payload)
    world.work()
    group = payload["merge_group"]
    assert world.checks[0]["base"] == group["base_sha"] and world.checks[0]["head"] == group["head_sha"]
    port = world.ports[payload["repository"]["full_name"]]
    assert {r.head_sha for r in port.check_runs.values()} == {group["head_sha"]}
    assert port.comments == {}


def test_acknowledgment_by_a_writer_is_recorded_and_rerun(world: World) -> None:
    world.deliver("pull_request", pr_payload())
    world.work()
    world.ports[REPO].permissions["alice"] = "write"
    world.deliver(
        "check_run", check_payload("check_run", "requested_action", head="h" * 40, base="b" * 40), "ack-1"
    )
    world.work()
    acks = Acknowledgments(world.service.db).for_head(REPO, "h" * 40)
    assert [(a.by, a.sha) for a in acks] == [("alice", "h" * 40)]
    assert acks[0].at == "2023-11-14T22:13:20+00:00"
    assert world.checks[-1]["acknowledgments"] == acks  # the re-run passes it to the pipeline
    assert ("collaborator_permission", {"username": "alice"}) in world.ports[REPO].calls


@pytest.mark.parametrize("permission", ["read", "none"])
def test_acknowledgment_without_write_access_is_refused(world: World, permission: str) -> None:
    world.deliver("pull_request", pr_payload())
    world.work()
    world.ports[REPO].permissions["mallory"] = permission
    payload = check_payload("check_run", "requested_action", head="h" * 40, base="b" * 40, sender="mallory")
    world.deliver("check_run", payload)
    world.work()
    assert Acknowledgments(world.service.db).for_head(REPO, "h" * 40) == []
    assert len(world.checks) == 1


def test_other_requested_actions_are_ignored(world: World) -> None:
    payload = check_payload("check_run", "requested_action", head="h" * 40, base="b" * 40)
    payload["requested_action"] = {"identifier": "something-else"}
    world.deliver("check_run", payload)
    world.work()
    assert world.checks == [] and REPO not in world.ports


def test_installation_events_keep_the_installed_repositories(world: World) -> None:
    created = load_payload("installation.created")
    world.deliver("installation", created)
    world.work()
    store = Installations(world.service.db)
    inst = created["installation"]["id"]
    assert store.repos(inst) == sorted(r["full_name"] for r in created["repositories"])

    change = copy.deepcopy(load_payload("installation_repositories.added"))
    change["installation"]["id"] = inst
    change["repositories_added"] = [{"full_name": "octo/new"}]
    change["repositories_removed"] = [{"full_name": created["repositories"][0]["full_name"]}]
    world.deliver("installation_repositories", change)
    world.work()
    expected = sorted({r["full_name"] for r in created["repositories"][1:]} | {"octo/new"})
    assert store.repos(inst) == expected

    suspend = copy.deepcopy(load_payload("installation.suspend"))
    suspend["installation"]["id"] = inst
    world.deliver("installation", suspend)
    world.work()
    assert store.repos() == [] and store.get(inst)["suspended"] == 1  # type: ignore[index]

    deleted = copy.deepcopy(load_payload("installation.deleted"))
    deleted["installation"]["id"] = inst
    world.deliver("installation", deleted)
    world.work()
    assert store.get(inst) is None and store.repos(inst) == []


def test_noop_mode_does_nothing(make_settings: Callable[..., Any], tmp_path: Path) -> None:
    world = World(make_settings(workers=0, test_hook="noop"), tmp_path)
    delivery = world.deliver("pull_request", pr_payload())
    world.work()
    assert world.checks == [] and world.ports == {} and world.outcome(delivery) == "done"


def test_fail_on_never_makes_the_app_advisory(make_settings: Callable[..., Any], tmp_path: Path) -> None:
    world = World(make_settings(workers=0, fail_on="never"), tmp_path)
    world.deliver("pull_request", pr_payload())
    world.work()
    runs = {r.name: r for r in world.ports[REPO].check_runs.values()}
    assert runs[CONTRACTS].conclusion == "neutral" and runs[CONTRACTS].actions == []


def test_rerun_of_a_fork_pr_finds_its_pull_request_from_the_stored_delivery(world: World) -> None:
    world.deliver("pull_request", pr_payload())
    world.work()
    payload = check_payload("check_suite", "rerequested", head="h" * 40, base="b" * 40)
    payload["check_suite"]["pull_requests"] = []  # GitHub lists no pull requests for a fork's head
    world.deliver("check_suite", payload)
    world.work()
    assert [c["base"] for c in world.checks] == ["b" * 40, "b" * 40]
    assert len(world.ports[REPO].comments[2]) == 1


@pytest.mark.parametrize("fork", [False, True], ids=["same-repo", "fork"])
def test_rerun_of_an_older_head_never_replaces_the_current_heads_comment(world: World, fork: bool) -> None:
    world.deliver("pull_request", pr_payload(head="o" * 40))
    world.deliver("pull_request", pr_payload("synchronize", head="n" * 40))
    world.work()
    # "Re-run" on the first commit's checks: GitHub lists the PR (matched by its branch) with its
    # current head; for a fork's PR it lists none
    payload = check_payload("check_suite", "rerequested", head="o" * 40, base="b" * 40)
    payload["check_suite"]["pull_requests"] = (
        [] if fork else [{"number": 2, "head": {"sha": "n" * 40}, "base": {"sha": "b" * 40}}]
    )
    rerun = world.deliver("check_suite", payload)
    world.work()
    comments = world.ports[REPO].comments[2]
    assert len(comments) == 1 and "nnnnnnn" in comments[0].body and "ooooooo" not in comments[0].body
    assert world.outcome(rerun) == "superseded"


def test_rerun_in_a_fork_of_a_pull_request_living_upstream_gates_nothing_there(world: World) -> None:
    # the App installed on a fork too: the fork's check suite lists the upstream PR its branch heads,
    # whose number means nothing in the fork (octo-sts/app#1590 met the same payloads)
    payload = check_payload("check_suite", "rerequested", head="h" * 40, base="b" * 40)
    listed = copy.deepcopy(load_payload("check_suite.rerequested")["check_suite"]["pull_requests"][0])
    listed["head"]["sha"], listed["base"]["sha"] = "h" * 40, "b" * 40  # base.repo: Codertocat/Hello-World
    payload["check_suite"]["pull_requests"] = [listed]
    payload["repository"].update(id=999, full_name="octocat/Hello-World", name="Hello-World")
    payload["installation"]["node_id"] = "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="
    assert webhooks.errors(payload, "webhook-check-suite-rerequested") == []
    rerun = world.deliver("check_suite", payload)
    world.work()
    assert world.checks == [] and world.outcome(rerun) == "done"
    assert "octocat/Hello-World" not in world.ports or world.ports["octocat/Hello-World"].comments == {}


DIGEST = "sha256:" + "a" * 64


def _promoted(world: World) -> tuple[RepoLedgers, str]:
    """The App's ledgers, with REPO's prod promoted to DIGEST."""
    from app.promotion.ledger import Ledger

    ledgers = world.service.ledgers
    assert ledgers is not None
    Ledger(ledgers.db(REPO)).record(
        digest=DIGEST, environment="prod", at="2026-12-01T10:00:00Z", actor="ci", passed=True, canary={}
    )
    return ledgers, DIGEST


def _moved(action: str, new: str, changes: dict[str, Any]) -> dict[str, Any]:
    """A `repository` renamed/transferred payload around a real payload's repository and sender, checked
    against GitHub's webhook schema when ../shared is next to this checkout."""
    base = pr_payload()
    repository = copy.deepcopy(base["repository"])
    owner, name = new.split("/")
    repository.update(full_name=new, name=name)
    repository["owner"]["login"] = owner
    payload = {
        "action": action,
        "changes": changes,
        "repository": repository,
        "sender": base["sender"],
        "installation": {"id": 1, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="},
    }
    assert webhooks.errors(payload, f"webhook-repository-{action}") == []
    return payload


@pytest.mark.parametrize(
    "action, new, changes",
    [
        ("renamed", "Codertocat/Hello-Data", {"repository": {"name": {"from": "Hello-World"}}}),
        ("renamed", "Codertocat/hello-world", {"repository": {"name": {"from": "Hello-World"}}}),  # case only
        (
            "transferred",
            "acme/Hello-World",
            {"owner": {"from": {"user": copy.deepcopy(load_payload("pull_request.opened")["sender"])}}},
        ),
    ],
)
def test_a_renamed_or_transferred_repository_keeps_its_ledgers_and_history(
    world: World, action: str, new: str, changes: dict[str, Any]
) -> None:
    from app.promotion.ledger import Ledger

    ledgers, digest = _promoted(world)
    store = Installations(world.service.db)
    store.upsert(1, "Codertocat", 0.0)
    store.add_repos(1, [REPO])
    world.deliver("pull_request", pr_payload(), "d-1")
    world.work()  # a gate result for the dashboard, under the old name
    moving = world.deliver("repository", _moved(action, new, changes), "d-2")
    world.work()
    assert world.outcome(moving) == "done"
    moved = ledgers.existing(new)
    assert moved is not None and Ledger(moved).live("prod").digest == digest  # type: ignore[union-attr]
    assert new.lower() == REPO.lower() or ledgers.existing(REPO) is None
    assert store.repos(1) == [new]
    from app.dashboard.results import GateResults

    (result,) = GateResults(world.service.db).recent(new)
    assert result.repo == new  # the dashboard lists it under the new name


def test_a_rename_onto_a_name_that_has_a_ledger_keeps_both(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    from app.promotion.ledger import Ledger

    ledgers = world.service.ledgers
    assert ledgers is not None
    for repo, digest in ((REPO, "a"), ("Codertocat/Hello-Data", "b")):
        Ledger(ledgers.db(repo)).record(
            digest="sha256:" + digest * 64, environment="prod", at="t", actor="ci", passed=True, canary={}
        )
    payload = _moved("renamed", "Codertocat/Hello-Data", {"repository": {"name": {"from": "Hello-World"}}})
    world.deliver("repository", payload, "d-1")
    world.work()
    assert "already has a ledger directory" in caplog.text and "with rows" in caplog.text
    for repo, digest in ((REPO, "a"), ("Codertocat/Hello-Data", "b")):
        assert Ledger(ledgers.db(repo)).live("prod").digest == "sha256:" + digest * 64  # type: ignore[union-attr]


def test_a_rename_handled_after_a_protection_rule_for_the_new_name_still_moves_the_history(
    world: World,
) -> None:
    """A deployment under the new name, handled before the rename, opened an empty ledger there: the
    rename replaces it, and another process's handle to the empty one is not served any more."""
    from app.promotion.ledger import Ledger
    from app.service.ledgers import RepoLedgers

    ledgers, digest = _promoted(world)
    new = "Codertocat/Hello-Data"
    other = RepoLedgers(world.service.db, ledgers.root)  # the web process, say
    assert Ledger(other.db(new)).live("prod") is None  # what the protection rule saw: nothing yet
    world.deliver("repository", _moved("renamed", new, {"repository": {"name": {"from": "Hello-World"}}}))
    world.work()
    for view in (ledgers, other):
        moved = view.existing(new)
        assert moved is not None and Ledger(moved).live("prod").digest == digest  # type: ignore[union-attr]
    assert ledgers.existing(REPO) is None


def test_two_renames_handled_out_of_order_leave_the_state_at_the_latest_name(world: World) -> None:
    from app.promotion.ledger import Ledger

    ledgers, digest = _promoted(world)
    store = Installations(world.service.db)
    store.upsert(1, "Codertocat", 0.0)
    store.add_repos(1, [REPO])
    second = _moved("renamed", "Codertocat/Hello-Lake", {"repository": {"name": {"from": "Hello-Data"}}})
    first = _moved("renamed", "Codertocat/Hello-Data", {"repository": {"name": {"from": "Hello-World"}}})
    world.now = 200.0
    world.deliver("repository", second, "d-later")  # queued first: a worker takes it first
    world.now = 100.0
    world.deliver("repository", first, "d-earlier")
    world.work()
    final = ledgers.existing("Codertocat/Hello-Lake")
    assert final is not None and Ledger(final).live("prod").digest == digest  # type: ignore[union-attr]
    assert ledgers.existing(REPO) is None and ledgers.existing("Codertocat/Hello-Data") is None
    assert store.repos(1) == ["Codertocat/Hello-Lake"]


def test_two_renames_in_order_follow_each_other(world: World) -> None:
    """A to B, then B back to A: the second is the latest, the state ends at A."""
    from app.promotion.ledger import Ledger

    ledgers, digest = _promoted(world)
    there = _moved("renamed", "Codertocat/Hello-Data", {"repository": {"name": {"from": "Hello-World"}}})
    back = _moved("renamed", REPO, {"repository": {"name": {"from": "Hello-Data"}}})
    for at, payload in ((100.0, there), (200.0, back)):
        world.now = at
        world.deliver("repository", payload)
        world.work()
        name = payload["repository"]["full_name"]
        found = ledgers.existing(name)
        assert found is not None and Ledger(found).live("prod").digest == digest  # type: ignore[union-attr]


def test_a_transfer_moves_the_repository_to_the_new_owners_installation(world: World) -> None:
    store = Installations(world.service.db)
    store.upsert(1, "Codertocat", 0.0)
    store.add_repos(1, [REPO, "Codertocat/other"])
    store.upsert(2, "acme", 0.0)
    payload = _moved(
        "transferred",
        "acme/Hello-World",
        {"owner": {"from": {"user": copy.deepcopy(load_payload("pull_request.opened")["sender"])}}},
    )
    payload["installation"]["id"] = 2  # delivered to the new owner's installation
    world.deliver("repository", payload)
    world.work()
    assert store.repos(1) == ["Codertocat/other"] and store.repos(2) == ["acme/Hello-World"]
    assert store.installation_for("acme/Hello-World") == 2 and store.installation_for(REPO) is None


def test_an_alert_under_a_renamed_repositorys_old_name_is_refused_with_the_new_name(world: World) -> None:
    from app.revert.alerts import AlertGroup
    from app.service.alerting import refusal

    store = Installations(world.service.db)
    store.upsert(1, "Codertocat", 0.0)
    store.add_repos(1, [REPO])
    world.deliver(
        "repository",
        _moved("renamed", "Codertocat/Hello-Data", {"repository": {"name": {"from": "Hello-World"}}}),
    )
    world.work()

    def group(repository: str) -> AlertGroup:
        return AlertGroup(repository, "prod", frozenset(), frozenset(), ("Stale",))

    asked: list[str] = []

    def find(name: str) -> tuple[int, str]:
        asked.append(name)
        return 1, "Codertocat"

    why = refusal(world.service.db, group(REPO), find=find)
    assert why is not None and "renamed to Codertocat/Hello-Data" in why and "`repository` label" in why
    assert asked == []  # GitHub's redirect would have re-added the old name: it is not asked
    assert refusal(world.service.db, group("Codertocat/Hello-Data")) is None

    # a new repository takes the old name: its alerts are its own
    base = pr_payload()  # a real repository payload under the old name, with a new id
    created = {
        "action": "created",
        "repository": {**copy.deepcopy(base["repository"]), "id": base["repository"]["id"] + 1},
        "sender": base["sender"],
        "installation": {"id": 1, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="},
    }
    assert webhooks.errors(created, "webhook-repository-created") == []
    world.deliver("repository", created)
    world.work()
    # all-repositories installations send no installation_repositories for it: GitHub is asked
    assert refusal(world.service.db, group(REPO), find=find) is None and asked == [REPO]
    assert store.installation_for(REPO) == 1


CHAIN = ("Hello-World", "Hello-Data", "Hello-Lake", "Hello-Sea")
CYCLE = ("Hello-World", "B", "C", "Hello-World")


# A chain that comes back to its first name can only be told by the order received, so it is received in
# GitHub's order only.
@pytest.mark.parametrize(
    "names, received", [(CHAIN, "in GitHub's order"), (CHAIN, "as handled"), (CYCLE, "in GitHub's order")]
)
@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_renames_handled_in_any_order_end_where_the_last_one_named_the_repository(
    world: World, names: tuple[str, ...], order: tuple[int, ...], received: str
) -> None:
    """Queued (and so taken) in `order`; received in the chain's order, or (GitHub does not promise the
    order of its deliveries) in the handling order."""
    from app.promotion.ledger import Ledger

    ledgers, digest = _promoted(world)
    store = Installations(world.service.db)
    store.upsert(1, "Codertocat", 0.0)
    store.add_repos(1, [REPO])
    world.deliver("pull_request", pr_payload())
    world.work()  # a gate result under the first name
    for position, step in enumerate(order):
        world.now = 100.0 + (step if received == "in GitHub's order" else position)
        old, new = names[step], names[step + 1]
        world.deliver(
            "repository", _moved("renamed", f"Codertocat/{new}", {"repository": {"name": {"from": old}}})
        )
    world.work()
    final = f"Codertocat/{names[-1]}"
    found = ledgers.existing(final)
    assert found is not None and Ledger(found).live("prod").digest == digest  # type: ignore[union-attr]
    assert [ledgers.existing(f"Codertocat/{n}") for n in set(names) - {names[-1]}] == [None] * len(
        set(names) - {names[-1]}
    )
    from app.dashboard.results import GateResults

    assert [r.repo for r in GateResults(world.service.db).recent(final)] == [final]
    assert store.repos(1) == [final]


def test_a_later_transfer_handled_first_keeps_the_repository_on_the_new_owners_installation(
    world: World,
) -> None:
    store = Installations(world.service.db)
    store.upsert(1, "Codertocat", 0.0)
    store.add_repos(1, [REPO])
    store.upsert(2, "acme", 0.0)
    rename = _moved("renamed", "Codertocat/Hello-Data", {"repository": {"name": {"from": "Hello-World"}}})
    transfer = _moved(
        "transferred",
        "acme/Hello-Data",
        {"owner": {"from": {"user": copy.deepcopy(load_payload("pull_request.opened")["sender"])}}},
    )
    transfer["installation"]["id"] = 2
    world.now = 200.0
    world.deliver("repository", transfer)  # taken first
    world.now = 100.0
    world.deliver("repository", rename)
    world.work()
    assert store.repos(1) == [] and store.repos(2) == ["acme/Hello-Data"]
    assert store.installation_for("acme/Hello-Data") == 2


def test_two_repositories_swapping_names_in_one_backlog_keep_their_own_state(world: World) -> None:
    """Hello-World becomes Hello-Data, then another repository takes the name Hello-World; the second
    rename is taken first. It waits for the first, so neither repository's rows or ledger go to the other."""
    from app.promotion.ledger import Ledger

    ledgers, digest = _promoted(world)
    store = Installations(world.service.db)
    store.upsert(1, "Codertocat", 0.0)
    store.add_repos(1, [REPO, "Codertocat/Other"])
    other = "sha256:" + "b" * 64
    Ledger(ledgers.db("Codertocat/Other")).record(
        digest=other, environment="prod", at="t", actor="ci", passed=True, canary={}
    )
    first = _moved("renamed", "Codertocat/Hello-Data", {"repository": {"name": {"from": "Hello-World"}}})
    second = _moved("renamed", REPO, {"repository": {"name": {"from": "Other"}}})
    second["repository"]["id"] += 1  # another repository
    world.now = 200.0
    waiting = world.deliver("repository", second)  # queued, and so taken, first
    world.now = 100.0
    world.deliver("repository", first)
    world.work()
    assert world.outcome(waiting) is None  # given back to the queue, behind the first
    assert world.service.inbox.get(waiting.delivery_id)["attempts"] == 0  # waiting is not failing
    world.now += 600  # its back-off is over
    world.work()
    assert world.outcome(waiting) == "done"
    for name, want in (("Codertocat/Hello-Data", digest), (REPO, other)):
        found = ledgers.existing(name)
        assert found is not None and Ledger(found).live("prod").digest == want  # type: ignore[union-attr]
    assert ledgers.existing("Codertocat/Other") is None
    assert store.repos(1) == ["Codertocat/Hello-Data", REPO]


def test_renames_of_two_repositories_through_each_others_names_never_wait_for_each_other(
    world: World,
) -> None:
    """A goes X -> Y -> Z while B goes W -> Y -> X, all in one backlog taken backwards: each rename waits
    only for earlier ones, so all four are handled and each repository ends with its own ledger."""
    from app.promotion.ledger import Ledger

    ledgers, digest = _promoted(world)  # A, at Hello-World (X)
    other = "sha256:" + "b" * 64
    Ledger(ledgers.db("Codertocat/Other")).record(
        digest=other, environment="prod", at="t", actor="ci", passed=True, canary={}
    )
    moves = [  # (received at, repository id offset, old name, new name), in GitHub's order
        (101.0, 0, "Hello-World", "Hello-Data"),
        (102.0, 0, "Hello-Data", "Hello-Lake"),
        (103.0, 1, "Other", "Hello-Data"),
        (104.0, 1, "Hello-Data", "Hello-World"),
    ]
    deliveries = []
    for at, offset, old, new in reversed(moves):  # queued, and so taken, backwards
        payload = _moved("renamed", f"Codertocat/{new}", {"repository": {"name": {"from": old}}})
        payload["repository"]["id"] += offset
        world.now = at
        deliveries.append(world.deliver("repository", payload))
    for _ in range(8):
        world.work()
        world.now += 10  # deferred ones come back after the back-off
    assert [world.outcome(d) for d in deliveries] == ["done"] * 4
    for name, want in (("Codertocat/Hello-Lake", digest), ("Codertocat/Hello-World", other)):
        found = ledgers.existing(name)
        assert found is not None and Ledger(found).live("prod").digest == want  # type: ignore[union-attr]
