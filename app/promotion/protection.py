"""Custom deployment protection rule: approve or reject a deployment from the promotion ledger. [pure]

The digest comes from the deployment payload (`digest`, as datacanary's Action records it) or else from
the ledger's record of which artifact was built from the deployed commit. The checks are those of a
promotion: passed in the environment before, not failed there, parity of the two environments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from app.promotion.environments import Environment

if TYPE_CHECKING:  # the ledger module does I/O; this one only reads its values
    from app.promotion.ledger import Entry, LedgerView
from app.promotion.parity import ParityResult
from app.promotion.promote import Action, ReasonCode, plan_promotion, short


@dataclass(frozen=True, slots=True)
class ProtectionDecision:
    approved: bool
    environment: str
    digest: str | None
    reason: str  # the comment GitHub shows on the deployment review
    # approved | already-live | unvalidated-digest | canary-failed-before | parity | unknown-environment
    code: str

    def to_json(self) -> dict[str, Any]:
        return {
            "approved": self.approved,
            "environment": self.environment,
            "digest": self.digest,
            "code": self.code,
            "reason": self.reason,
        }


def digest_from(payload: Mapping[str, Any] | None, sha: str | None, history: Sequence[Entry]) -> str | None:
    """The artifact digest a deployment is about: its payload's, else the newest one recorded for `sha`."""
    if payload:
        value = payload.get("digest") or (payload.get("datacanary") or {}).get("digest")
        if isinstance(value, str) and value.startswith("sha256:"):
            return value
    if sha:
        for entry in history:  # newest first
            if entry.commit_sha == sha:
                return entry.digest
    return None


def path_environments(names: Sequence[str]) -> tuple[Environment, ...]:
    """Environments known only by their order (from a deployment payload): no parameters."""
    empty: Mapping[str, Any] = MappingProxyType({})
    return tuple(Environment(n, i, names[i - 1] if i else None, empty) for i, n in enumerate(names))


def review(
    env_name: str,
    digest: str | None,
    envs: Sequence[Environment] | None,
    view: LedgerView,
    parity: ParityResult | None,
    sha: str | None = None,
    parity_checked: bool = True,
) -> ProtectionDecision:
    """Approve when the digest may be promoted to `env_name` (or is live there already); reject with why.
    `envs` is the artifact's promotion path (None: the digest is unknown to datacanary)."""
    if digest is None:
        what = f"commit {sha[:12]}" if sha else "this deployment"
        return ProtectionDecision(
            False,
            env_name,
            None,
            f"unvalidated digest: no datacanary artifact is recorded for {what}; "
            "promote it through the earlier environments first",
            ReasonCode.UNVALIDATED.value,
        )
    if envs is None:
        return ProtectionDecision(
            False,
            env_name,
            digest,
            f"unvalidated digest: artifact {short(digest)} was never promoted with datacanary, "
            "so its environments and parity are unknown",
            ReasonCode.UNVALIDATED.value,
        )
    env = next((e for e in envs if e.name == env_name), None)
    if env is None:
        declared = ", ".join(e.name for e in envs) or "none"
        return ProtectionDecision(
            False,
            env_name,
            digest,
            f"environment {env_name!r} is not declared in the artifact's datacanary.yml "
            f"(declared: {declared})",
            "unknown-environment",
        )
    decision = plan_promotion(digest, env, view, parity)
    if decision.action is Action.NOOP:
        return ProtectionDecision(
            True, env_name, digest, decision.reasons[0].message, ReasonCode.ALREADY_LIVE.value
        )
    if decision.action is Action.PROMOTE:
        where = f"passed {env.previous}" if env.previous else f"{env_name} is the first environment"
        note = ""
        if env.previous and parity_checked:
            note = f", parity {env.previous} -> {env_name} holds"
        elif env.previous:
            note = "; parity not checked here (the artifact is not in the App's store)"
            note += ", the promote step checks it"
        return ProtectionDecision(True, env_name, digest, f"{short(digest)} {where}{note}", "approved")
    first = decision.reasons[0]
    label = {
        ReasonCode.UNVALIDATED: "unvalidated digest",
        ReasonCode.FAILED_BEFORE: "canary failure",
        ReasonCode.PARITY: "parity",
    }.get(first.code, first.code.value)
    rest = "; ".join(r.message for r in decision.reasons[1:])
    return ProtectionDecision(
        False, env_name, digest, f"{label}: {first.message}" + (f"; {rest}" if rest else ""), first.code.value
    )
