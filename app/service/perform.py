"""Apply a delivery's effects so that a resumed delivery (after a crash) never double-posts.

Check runs are the only effect that is not naturally idempotent (a comment upsert finds its marker, an
update is a PATCH). So every check run a delivery creates is recorded with its GitHub id in the
`delivery_check_runs` table right after creation, and created with an `external_id` derived from the
delivery; a resumed delivery reuses recorded runs, and for the window between GitHub's answer and
the record it looks the run up by that external id before creating it again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from app.effects import CheckConclusion, CheckOutput, CheckStatus, CreateCheckRun, Effect, UpdateCheckRun
from app.github.apply import ApplyResult, apply
from app.github.port import GitHubPort
from app.state import StateDB

DDL = """
CREATE TABLE IF NOT EXISTS delivery_check_runs (
    delivery_id  TEXT NOT NULL,
    ref          TEXT NOT NULL,
    check_run_id INTEGER NOT NULL,
    head_sha     TEXT NOT NULL,
    name         TEXT NOT NULL,
    PRIMARY KEY (delivery_id, ref)
);
"""

Apply = Callable[..., ApplyResult]


def external_id(delivery_id: str, ref: str) -> str:
    """The idempotency key of check run `ref` of a delivery, kept by GitHub on the run."""
    return f"dc:{delivery_id}:{ref}"


class DeliveryEffects:
    """Applies the batches of one delivery against one repository's port, remembering created runs."""

    def __init__(
        self,
        db: StateDB,
        delivery_id: str,
        port: Callable[[], GitHubPort],
        *,
        apply_fn: Apply = apply,
        apply_kwargs: dict[str, Any] | None = None,
        resumed: bool = False,
    ) -> None:
        db.ensure("delivery_check_runs", DDL)
        self.db = db
        self.delivery_id = delivery_id
        self._port_factory = port
        self._port: GitHubPort | None = None  # the current batch's
        self._apply = apply_fn
        self._apply_kwargs = apply_kwargs or {}
        # only a resumed delivery can have runs GitHub knows and we did not record: look those up
        self.resumed = resumed
        rows = (
            db.connect()
            .execute(
                "SELECT ref, check_run_id, head_sha, name FROM delivery_check_runs WHERE delivery_id = ?",
                (delivery_id,),
            )
            .fetchall()
        )
        self.check_runs: dict[str, int] = {r["ref"]: int(r["check_run_id"]) for r in rows}
        # runs this delivery left in progress (to cancel on supersession); a resumed delivery may be
        # superseded before it reaches its first batch again, so the runs it created before count as
        # open (the rare one its dead attempt had completed is cancelled too: its head is out of date)
        self._open: dict[str, int] = dict(self.check_runs) if resumed else {}

    @property
    def port(self) -> GitHubPort:
        if self._port is None:
            self._port = self._port_factory()
        return self._port

    def _fresh_port(self) -> None:
        # a port per batch, so each has a token valid now: the engine runs between batches for as long
        # as it takes, and the installation token the first batch got may expire meanwhile (it is reused
        # from the cache until 5 minutes before it does)
        self._port = None

    def run(self, batch: Sequence[Effect]) -> ApplyResult:
        """Apply one batch: skip runs created before a crash, address updates by the known ids."""
        self._fresh_port()
        todo: list[Effect] = []
        for effect in batch:
            prepared = self._prepare(effect)
            if prepared is not None:
                todo.append(prepared)
        result = self._apply(todo, port=self.port, **self._apply_kwargs)
        created = {e.ref: e for e in todo if isinstance(e, CreateCheckRun)}
        for ref, run_id in result.check_runs.items():
            create = created.get(ref)
            if create is not None:
                self._remember(ref, run_id, create)
        for effect in todo:
            if isinstance(effect, CreateCheckRun) and effect.status is not CheckStatus.COMPLETED:
                if effect.ref in self.check_runs:
                    self._open[effect.ref] = self.check_runs[effect.ref]
            elif isinstance(effect, UpdateCheckRun) and effect.conclusion is not None:
                done = effect.check_run_id if effect.ref is None else self.check_runs.get(effect.ref)
                self._open = {k: v for k, v in self._open.items() if v != done}
        return result

    def cancel_open(self, output: CheckOutput) -> ApplyResult | None:
        """Complete every run this delivery left in progress as `cancelled` (a newer head took over)."""
        if not self._open:
            return None
        self._fresh_port()
        batch = [
            UpdateCheckRun(check_run_id=run_id, conclusion=CheckConclusion.CANCELLED, output=output)
            for run_id in self._open.values()
        ]
        return self._apply(batch, port=self.port, **self._apply_kwargs)

    def _prepare(self, effect: Effect) -> Effect | None:
        if isinstance(effect, CreateCheckRun):
            if effect.ref in self.check_runs:
                if effect.status is not CheckStatus.COMPLETED:
                    self._open[effect.ref] = self.check_runs[effect.ref]
                return None  # created before a crash: never again
            key = external_id(self.delivery_id, effect.ref)
            existing = self._lookup(effect, key)
            if existing is not None:
                self._remember(effect.ref, existing, effect)
                if effect.status is not CheckStatus.COMPLETED:
                    self._open[effect.ref] = existing
                return None
            return dataclasses.replace(effect, external_id=key)
        if isinstance(effect, UpdateCheckRun) and effect.ref is not None and effect.ref in self.check_runs:
            return dataclasses.replace(effect, ref=None, check_run_id=self.check_runs[effect.ref])
        return effect

    def _lookup(self, effect: CreateCheckRun, key: str) -> int | None:
        if not self.resumed:
            return None
        find = getattr(self.port, "find_check_run", None)
        if find is None:
            return None
        found: int | None = find(effect.head_sha, effect.name, key)
        return found

    def _remember(self, ref: str, run_id: int, effect: CreateCheckRun) -> None:
        self.check_runs[ref] = run_id
        self.db.connect().execute(
            "INSERT OR REPLACE INTO delivery_check_runs (delivery_id, ref, check_run_id, head_sha, name)"
            " VALUES (?, ?, ?, ?, ?)",
            (self.delivery_id, ref, run_id, effect.head_sha, effect.name),
        )
