"""Every real example payload either reaches a handler (and parses into its typed event) or is ignored
for a documented reason; handler modules are discovered, not listed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.github.events import PARSERS, parse_event
from app.service.dispatch import IGNORED, Router, WorkKey, batches, discover
from tests.service.conftest import PAYLOADS

SHARED = Path("/work/shared/github/payloads")
FILES = sorted({p.name: p for d in (SHARED, PAYLOADS) if d.is_dir() for p in d.glob("*.json")}.values())
ROUTER = discover()


def _event(path: Path) -> str:
    return path.name.split(".")[0]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_example_payload_routes_to_a_handler_or_a_documented_ignore(path: Path) -> None:
    event = _event(path)
    payload = json.loads(path.read_text())
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    if event == "ping":
        return  # answered by the route itself
    registrations = ROUTER.lookup(event, action)
    if not registrations:
        assert ROUTER.ignored_reason(event, action), f"{path.name}: neither handled nor documented as ignored"
        return
    parsed = parse_event(event, payload) if event in PARSERS else payload
    key = ROUTER.work_key(event, action, parsed)
    assert key is None or isinstance(key, WorkKey)


def test_the_handled_routes() -> None:
    assert {
        ("pull_request", "opened"),
        ("pull_request", "synchronize"),
        ("pull_request", "reopened"),
        ("pull_request", "ready_for_review"),
        ("check_run", "rerequested"),
        ("check_run", "requested_action"),
        ("check_suite", "rerequested"),
        ("merge_group", "checks_requested"),
        ("installation", "created"),
        ("installation", "deleted"),
        ("installation_repositories", "added"),
        ("installation_repositories", "removed"),
        ("repository", "renamed"),
        ("repository", "transferred"),
    } <= ROUTER.routes()


def test_pull_request_work_key_sets_the_head() -> None:
    payload = json.loads((PAYLOADS / "pull_request.synchronize.json").read_text())
    key = ROUTER.work_key("pull_request", "synchronize", parse_event("pull_request", payload))
    pr = payload["pull_request"]
    assert key == WorkKey(
        f"{payload['repository']['full_name']}#{pr['number']}", pr["head"]["sha"], True, pr["updated_at"]
    )


def test_ignored_events_are_not_also_handled() -> None:
    assert not set(IGNORED) & ROUTER.events()


def test_router_prefers_specific_actions_and_joins_routers() -> None:
    first, second = Router(), Router()
    calls: list[str] = []
    first.register("e", "a")(lambda ev, ctx: calls.append("specific"))
    second.register("e")(lambda ev, ctx: calls.append("any"))
    second.ignore("e", "because")
    first.add(second)
    for reg in first.lookup("e", "a"):
        reg.handler(None, None)
    assert calls == ["specific", "any"]
    assert [r.handler for r in first.lookup("e", "b")] == [r.handler for r in second.lookup("e", "b")]
    assert first.ignored_reason("e", "zzz") is None  # `any` handles every action
    assert first.ignored_reason("push", None) == IGNORED["push"]


def test_batches_normalizes_handler_results() -> None:
    from app.effects import SetOutput

    one = SetOutput("a", "1")
    assert list(batches(None)) == []
    assert list(batches([one])) == [[one]]
    assert list(batches([])) == []

    def gen() -> Any:
        yield [one]
        yield []
        yield (one, one)

    assert list(batches(gen())) == [(one,), (one, one)]
