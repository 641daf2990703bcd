"""The webhook-schema checker the App's tests use (tests/support/webhooks.py over the trimmed copy of
GitHub's webhook description in fixtures/github/webhooks): it covers every event the App subscribes to,
it runs without ../shared next to the checkout (as on CI), and it fails on a payload GitHub would not
send."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from app.github.events import PARSERS
from tests.support import webhooks

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "github"
PROTECTION_RULE = (
    Path(__file__).resolve().parents[1]
    / "promotion"
    / "payloads"
    / "deployment_protection_rule.requested.json"
)


def _regenerate() -> Any:
    spec = importlib.util.spec_from_file_location("github_regenerate", FIXTURES / "regenerate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_copy_holds_every_event_the_app_parses() -> None:
    assert set(PARSERS) <= webhooks.events()
    assert set(_regenerate().WEBHOOK_EVENTS) == webhooks.events()


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (FIXTURES / "payloads").glob("*.json") if p.name.split(".")[0] in PARSERS),
    ids=lambda p: p.name,
)
def test_every_real_example_of_those_events_resolves_its_schema_in_the_copy(path: Path) -> None:
    """Every `$ref` the payload's validation meets is in the copy (a missing one raises). Whether the
    example conforms is not asserted: 26 of GitHub's own examples are older than its schemas."""
    payload = json.loads(path.read_text())
    webhooks.errors(payload, webhooks.schema_name(path.name.split(".")[0], payload.get("action")))


def test_a_protection_rule_payload_conforms_and_a_broken_one_names_its_field() -> None:
    payload = json.loads(PROTECTION_RULE.read_text())
    name = webhooks.schema_name("deployment_protection_rule", "requested")
    assert name == "webhook-deployment-protection-rule-requested"
    assert webhooks.errors(payload, name) == []
    broken = copy.deepcopy(payload)
    broken["installation"]["id"] = "five"
    del broken["repository"]["full_name"]
    found = webhooks.errors(broken, name)
    assert any(e.startswith("installation.id:") for e in found), found
    assert any(e.startswith("repository:") and "full_name" in e for e in found), found


def test_an_unknown_schema_is_an_error_not_a_pass() -> None:
    with pytest.raises(KeyError, match="regenerate.py"):
        webhooks.errors({}, "webhook-star-created")
    with pytest.raises(KeyError, match="star"):
        webhooks.schema_name("star", "created")
