"""The promotion ledger as GitHub holds it: the deployments datacanary records (digest in the payload)
and their statuses, read back into the same LedgerView the decisions use. [pure]

This lets the App decide a protection rule for promotions that ran elsewhere (on a runner with its own
state database). Deployments without a datacanary digest in their payload (the ones GitHub Actions
creates for a job's `environment:`) are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from app.promotion.ledger import LedgerView


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """A GitHub deployment and its status states, newest first."""

    id: int
    environment: str
    sha: str
    payload: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    states: tuple[str, ...] = ()

    @property
    def digest(self) -> str | None:
        value = self.payload.get("digest")
        return value if isinstance(value, str) and value.startswith("sha256:") else None

    @property
    def state(self) -> str | None:
        return self.states[0] if self.states else None


def view_from_deployments(records: Iterable[DeploymentRecord]) -> LedgerView:
    """Live, passed and failed digests per environment, replayed from deployments in creation order.

    success: live (and passed); inactive: was live, superseded; failure/error: a failed attempt. A
    successful rollback deployment names the digest it took back (`previous_digest`): no longer passed."""
    live: dict[str, str] = {}
    settled: dict[tuple[str, str], str] = {}
    last: dict[tuple[str, str], str] = {}
    for r in sorted((r for r in records if r.digest), key=lambda r: r.id):
        digest, env, state = r.digest or "", r.environment, r.state
        if state in ("success", "inactive"):
            if r.payload.get("kind") == "rollback" and isinstance(r.payload.get("previous_digest"), str):
                settled[(env, str(r.payload["previous_digest"]))] = "rolled-back"
            settled[(env, digest)] = "passed"
            last[(env, digest)] = "passed"
            if state == "success":
                live[env] = digest
        elif state in ("failure", "error"):
            last[(env, digest)] = "failed"
    passed: dict[str, set[str]] = {}
    for (env, digest), status in settled.items():
        if status == "passed":
            passed.setdefault(env, set()).add(digest)
    failed: dict[str, set[str]] = {}
    for (env, digest), status in last.items():
        if status == "failed":
            failed.setdefault(env, set()).add(digest)
    return LedgerView(
        MappingProxyType(live),
        MappingProxyType({k: frozenset(v) for k, v in passed.items()}),
        MappingProxyType({k: frozenset(v) for k, v in failed.items()}),
    )


def merge(primary: LedgerView, secondary: LedgerView) -> LedgerView:
    """The App's own ledger first, GitHub's deployments filling in what it does not know."""
    envs = set(primary.passed) | set(secondary.passed) | set(primary.failed) | set(secondary.failed)
    return LedgerView(
        MappingProxyType({**secondary.live, **primary.live}),
        MappingProxyType(
            {e: primary.passed.get(e, frozenset()) | secondary.passed.get(e, frozenset()) for e in envs}
        ),
        MappingProxyType(
            {
                e: (primary.failed.get(e, frozenset()) | secondary.failed.get(e, frozenset()))
                - primary.passed.get(e, frozenset())
                - secondary.passed.get(e, frozenset())
                for e in envs
            }
        ),
        MappingProxyType(
            {
                e: primary.rolled_back.get(e, frozenset()) | secondary.rolled_back.get(e, frozenset())
                for e in set(primary.rolled_back) | set(secondary.rolled_back)
            }
        ),
    )


def digest_for_sha(records: Sequence[DeploymentRecord], sha: str | None) -> str | None:
    """The newest datacanary digest recorded for commit `sha`."""
    if not sha:
        return None
    for r in sorted(records, key=lambda r: -r.id):
        if r.sha == sha and r.digest:
            return r.digest
    return None
