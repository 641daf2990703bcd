"""Event parsing over GitHub's real example payloads (fixtures/github/payloads), and over mutations of
them: a payload either parses or raises EventError naming the field, never anything else."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.github.events import (
    PARSERS,
    CheckRunEvent,
    CheckSuiteEvent,
    DeploymentProtectionRuleEvent,
    EventError,
    InstallationEvent,
    MergeGroupEvent,
    PingEvent,
    PullRequestEvent,
    parse_event,
)

PAYLOADS = Path(__file__).resolve().parents[2] / "fixtures" / "github" / "payloads"
FAMILIES = (
    "pull_request",
    "merge_group",
    "check_run",
    "check_suite",
    "installation",
    "installation_repositories",
    "ping",
)
FILES = sorted(p for p in PAYLOADS.glob("*.json") if p.name.split(".")[0] in FAMILIES)


def load(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


def test_every_handled_family_has_example_payloads() -> None:
    assert {p.name.split(".")[0] for p in FILES} == set(FAMILIES)
    assert len(FILES) >= 60


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_real_payload_parses_into_its_event_type(path: Path) -> None:
    event = parse_event(path.name.split(".")[0], json.loads(path.read_text()))
    expected = {
        "pull_request": PullRequestEvent,
        "merge_group": MergeGroupEvent,
        "check_run": CheckRunEvent,
        "check_suite": CheckSuiteEvent,
        "ping": PingEvent,
    }.get(path.name.split(".")[0])
    if expected:
        assert isinstance(event, expected)


def test_pull_request_opened_fields() -> None:
    e = parse_event("pull_request", load("pull_request.opened.json"))
    assert isinstance(e, PullRequestEvent)
    assert (e.action, e.number, e.repo.full_name) == ("opened", 2, "Codertocat/Hello-World")
    assert len(e.head_sha) == 40 and len(e.base_sha) == 40
    assert e.base_ref == "master" and e.head_ref == "changes"
    assert not e.is_fork
    assert (e.repo.owner, e.repo.name) == ("Codertocat", "Hello-World")


def test_pull_request_from_another_repository_is_a_fork() -> None:
    payload = load("pull_request.opened.json")
    payload["pull_request"]["head"]["repo"]["full_name"] = "stranger/Hello-World"
    e = parse_event("pull_request", payload)
    assert isinstance(e, PullRequestEvent) and e.is_fork


def test_merge_group_reports_on_the_queue_head() -> None:
    e = parse_event("merge_group", load("merge_group.checks_requested.json"))
    assert isinstance(e, MergeGroupEvent)
    assert e.head_sha == "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d"
    assert e.base_sha == "380387fbc80638b734a49e1be1c4dfec1c01b33c"
    assert e.head_ref.startswith("refs/heads/gh-readonly-queue/")


def test_check_run_requested_action_carries_the_button_identifier() -> None:
    e = parse_event("check_run", load("check_run.requested_action.json"))
    assert isinstance(e, CheckRunEvent)
    assert e.requested_action is not None and e.check_run_id == 1494503112
    assert e.pull_numbers == (26764,)


def test_installation_lists_repositories() -> None:
    e = parse_event("installation", load("installation.created.json"))
    assert isinstance(e, InstallationEvent)
    assert e.installation_id > 0 and e.account
    assert all("/" in r for r in e.repositories)


def test_deployment_protection_rule_run_id_comes_from_the_callback_url() -> None:
    payload = {
        "action": "requested",
        "environment": "production",
        "event": "push",
        "deployment_callback_url": "https://api.github.com/repos/o/r/actions/runs/1234/deployment_protection_rule",
        "deployment": {"id": 9, "sha": "a" * 40, "ref": "main"},
        "repository": {"full_name": "o/r"},
        "installation": {"id": 5},
        "sender": {"login": "u"},
    }
    e = parse_event("deployment_protection_rule", payload)
    assert isinstance(e, DeploymentProtectionRuleEvent)
    assert (e.run_id, e.environment, e.sha, e.installation_id) == (1234, "production", "a" * 40, 5)


def test_missing_field_names_its_path() -> None:
    payload = load("pull_request.opened.json")
    del payload["pull_request"]["head"]["sha"]
    with pytest.raises(EventError, match=r"pull_request\.head\.sha"):
        parse_event("pull_request", payload)


def test_wrong_type_is_an_event_error() -> None:
    payload = load("pull_request.opened.json")
    payload["pull_request"]["number"] = True  # a bool is not a PR number
    with pytest.raises(EventError, match=r"pull_request\.number.*bool"):
        parse_event("pull_request", payload)


def test_unhandled_event_is_an_event_error_with_a_hint() -> None:
    with pytest.raises(EventError) as info:
        parse_event("star", {})
    assert info.value.hint and "pull_request" in info.value.hint
    with pytest.raises(EventError):
        parse_event("pull_request", ["not", "an", "object"])


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            out += _paths(v, (*prefix, i))
    return out


_BASES = {
    name: load(name)
    for name in (
        "pull_request.synchronize.json",
        "merge_group.checks_requested.json",
        "check_run.requested_action.json",
        "check_suite.requested.json",
        "installation.created.json",
    )
}
_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.just([]), st.just({}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(_BASES)), data=st.data())
def test_mutated_payloads_parse_or_raise_event_error(name: str, data: st.DataObject) -> None:
    payload = copy.deepcopy(_BASES[name])
    paths = _paths(payload)
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(paths))
        parent: Any = payload
        try:
            for key in path[:-1]:
                parent = parent[key]
            if data.draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = data.draw(_VALUES)
        except (KeyError, IndexError, TypeError):
            continue
    try:
        parse_event(name.split(".")[0], payload)
    except EventError as exc:
        assert "`" in exc.message  # names the field or the event


def test_parsers_cover_the_events_the_app_subscribes_to() -> None:
    # deployment_protection_rule and repository: payloads checked against GitHub's webhook schema in
    # tests/promotion/test_protection_rule.py and tests/service/test_handlers.py
    assert set(PARSERS) == {*FAMILIES, "deployment_protection_rule", "repository"}


def test_a_repository_event_names_where_the_repository_was_before() -> None:
    from app.github.events import EventError, RepositoryEvent

    base = load("pull_request.opened.json")
    renamed = {"action": "renamed", "repository": {**base["repository"], "full_name": "o/new"}}
    with pytest.raises(EventError, match="changes.repository.name.from"):
        parse_event("repository", renamed)
    renamed["changes"] = {"repository": {"name": {"from": "old"}}}
    event = parse_event("repository", renamed)
    assert isinstance(event, RepositoryEvent) and (event.repo.full_name, event.previous) == ("o/new", "o/old")
    moved = {
        **renamed,
        "action": "transferred",
        "changes": {"owner": {"from": {"organization": {"login": "was"}}}},
    }
    assert parse_event("repository", moved).previous == "was/new"  # type: ignore[union-attr]
    archived = {**renamed, "action": "archived", "changes": {}}
    assert parse_event("repository", archived).previous is None  # type: ignore[union-attr]
