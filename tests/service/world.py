"""A service wired to in-memory GitHub (FakePort) and a scripted engine, driven one delivery at a time:
for handler and worker behaviour that needs no HTTP and no git."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.config import Settings
from app.findings import Finding
from app.gate.result import GateResult, RunReport
from app.github.events import PARSERS, parse_event
from app.service.app import create_app
from app.service.inbox import Delivery
from app.service.runtime import Service
from app.types import Impact, Location, Severity
from tests.service.conftest import APP_ID, load_payload
from tests.support.fake_port import FakePort


def breaking_report(base: str, head: str) -> RunReport:
    removed = Finding(
        gate="contracts",
        rule="column-removed",
        severity=Severity.ERROR,
        message="column `email` was removed from `customers`",
        dataset="customers",
        column="email",
        location=Location("contracts/customers.odcs.yaml", 12),
        impact=Impact.BREAKING,
    )
    return RunReport(
        project="shop",
        base=base[:7],
        head=head[:7],
        gates=(GateResult("contracts", (removed,)), GateResult("canary", skipped_reason="disabled")),
    )


class World:
    """`deliver(event, payload)` queues like the route; `work()` runs the worker until the queue is idle."""

    def __init__(self, settings: Settings, tmp_path: Path, clock: Callable[[], float] | None = None) -> None:
        self.ports: dict[str, FakePort] = {}
        self.checks: list[dict[str, Any]] = []
        self.report: Callable[[str, str], RunReport] = breaking_report
        self.now = 1_700_000_000.0
        self.on_check: Callable[[], None] = lambda: None
        self.tmp_path = tmp_path
        self.app = create_app(
            settings,
            github=self.port,
            repo_checkout=self.checkout,
            run_check=self.run_check,
            clock=clock or (lambda: self.now),
            apply_kwargs={"sleep": lambda s: None},
        )
        self.service: Service = self.app.state.service

    def port(self, installation_id: int | None, repo: str) -> FakePort:
        return self.ports.setdefault(repo, FakePort(repo))

    def checkout(self, installation_id: int | None, repo: str, shas: Any) -> Path:
        return self.tmp_path

    def run_check(self, repo: Path, base: str, head: str, project_dir: str = "", **kwargs: Any) -> RunReport:
        self.checks.append({"base": base, "head": head, **kwargs})
        self.on_check()
        return self.report(base, head)

    def deliver(self, event: str, payload: dict[str, Any], delivery_id: str | None = None) -> Delivery:
        """Store a delivery as `POST /webhooks` would."""
        did = delivery_id or str(uuid.uuid4())
        action = payload.get("action")
        parsed = parse_event(event, payload) if event in PARSERS else payload
        key = self.service.router.work_key(event, action, parsed, self.service.inbox)
        import json

        delivery = Delivery(
            did,
            event,
            action,
            json.dumps(payload).encode(),
            work_key=key.key if key else None,
            head_sha=key.head_sha if key else None,
            sets_head=key.sets_head if key else False,
            head_at=key.head_at if key else None,
            received_at=self.now,
        )
        assert self.service.inbox.add(delivery)
        return delivery

    def work(self, limit: int = 50) -> None:
        for _ in range(limit):
            if not self.service.workers.run_once():
                return
        raise AssertionError("the worker did not go idle")

    def outcome(self, delivery: Delivery) -> str | None:
        row = self.service.inbox.get(delivery.delivery_id)
        return None if row is None or row["outcome"] is None else str(row["outcome"])


def pr_payload(
    action: str = "opened",
    *,
    head: str = "h" * 40,
    base: str = "b" * 40,
    draft: bool = False,
    installation: int = 1,
    number: int = 2,
    updated_at: str | None = None,
) -> dict[str, Any]:
    payload = copy.deepcopy(load_payload("pull_request.opened"))
    payload["action"] = action
    payload["installation"] = {"id": installation}
    pr = payload["pull_request"]
    pr["number"], pr["draft"] = number, draft
    pr["head"]["sha"], pr["base"]["sha"] = head, base
    if updated_at is not None:
        pr["updated_at"] = updated_at
    return payload


def check_payload(
    event: str,
    action: str,
    *,
    head: str,
    base: str,
    number: int = 2,
    sender: str = "alice",
    app_id: int = APP_ID,
) -> dict[str, Any]:
    """check_run / check_suite payload for our app on a PR head (from the real examples)."""
    name = {"check_run": "check_run.requested_action", "check_suite": "check_suite.rerequested"}[event]
    payload = copy.deepcopy(load_payload(name))
    payload["action"] = action
    payload["sender"]["login"] = sender
    payload["installation"] = {"id": 1}
    payload["repository"]["full_name"] = "Codertocat/Hello-World"
    body = payload[event]
    body["head_sha"] = head
    body["app"]["id"] = app_id
    body["pull_requests"] = [{"number": number, "head": {"sha": head}, "base": {"sha": base}}]
    if action == "requested_action":
        payload["requested_action"] = {"identifier": "ack-breaking"}
    return payload
