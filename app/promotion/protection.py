"""Custom deployment protection rule: approve or reject a deployment from the promotion ledger. [pure]

The digest comes from the deployment payload (`digest`, as datacanary's Action records it) or else from
the ledger's record of which artifact was built from the deployed commit. The checks are those of a
promotion: passed in the environment before, not failed there, parity of the two environments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.project.config import ProjectConfig
from app.promotion.environments import environments
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


def review(
    env_name: str,
    digest: str | None,
    config: ProjectConfig | None,
    view: LedgerView,
    parity: ParityResult | None,
    sha: str | None = None,
) -> ProtectionDecision:
    """Approve when the digest may be promoted to `env_name` (or is live there already); reject with why."""
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
    if config is None:
        return ProtectionDecision(
            False,
            env_name,
            digest,
            f"unvalidated digest: artifact {short(digest)} was never promoted with datacanary, "
            "so its environments and parity are unknown",
            ReasonCode.UNVALIDATED.value,
        )
    env = next((e for e in environments(config) if e.name == env_name), None)
    if env is None:
        declared = ", ".join(config.environments) or "none"
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
        parity_note = f", parity {env.previous} -> {env_name} holds" if env.previous else ""
        return ProtectionDecision(True, env_name, digest, f"{short(digest)} {where}{parity_note}", "approved")
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
