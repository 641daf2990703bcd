"""Promotion decisions. [pure]

`plan_promotion` decides from plain values (the ledger view, the parity result) whether an artifact
digest may be promoted to an environment; `conclude` folds in the promotion canary's verdict. Every
refusal carries a reason a person can act on; promoting what is already live is a no-op that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from app.promotion.environments import Environment

if TYPE_CHECKING:  # the ledger module does I/O; this one only reads its values
    from app.promotion.ledger import LedgerView
from app.promotion.parity import ParityResult


class Action(str, Enum):
    PROMOTE = "promote"  # run the canary, then go live
    NOOP = "noop"  # already live: nothing to do
    REFUSE = "refuse"


class ReasonCode(str, Enum):
    ALREADY_LIVE = "already-live"
    UNVALIDATED = "unvalidated-digest"  # not passed in the environment before
    FAILED_BEFORE = "canary-failed-before"  # its last attempt in the environment before failed
    PARITY = "parity"
    CANARY = "canary-failure"
    NO_LAST_KNOWN_GOOD = "no-last-known-good"
    NOTHING_LIVE = "nothing-live"
    ROLLED_BACK = "rolled-back-here"  # rolled back in this environment: going back needs --force


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    message: str
    hint: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code.value, "message": self.message, "hint": self.hint}


@dataclass(frozen=True, slots=True)
class PromotionDecision:
    """Whether `digest` goes to `environment`, and why (or why not)."""

    action: Action
    digest: str
    environment: str
    previous_environment: str | None
    previous_live: str | None  # what is live in the environment now
    reasons: tuple[Reason, ...] = ()
    kind: str = "promote"  # or "rollback"

    @property
    def refused(self) -> bool:
        return self.action is Action.REFUSE

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "kind": self.kind,
            "digest": self.digest,
            "environment": self.environment,
            "previous_environment": self.previous_environment,
            "previous_live": self.previous_live,
            "reasons": [r.to_json() for r in self.reasons],
        }


def short(digest: str | None) -> str:
    return "-" if not digest else digest.removeprefix("sha256:")[:12]


def plan_promotion(
    digest: str,
    env: Environment,
    view: LedgerView,
    parity: ParityResult | None,
    *,
    kind: str = "promote",
    forced: bool = False,
) -> PromotionDecision:
    """Decide the promotion of `digest` to `env`: no-op when already live there; refused when it has not
    passed the environment before (a failed canary there is named as such), when parity fails, or when
    it was rolled back in `env` (unless `forced`, whose reason the caller records in the ledger)."""
    live = view.live_in(env.name)
    decision = PromotionDecision(Action.PROMOTE, digest, env.name, env.previous, live, kind=kind)
    if live == digest:
        return _with(
            decision,
            Action.NOOP,
            Reason(ReasonCode.ALREADY_LIVE, f"{short(digest)} is already live in {env.name}: nothing to do"),
        )
    reasons: list[Reason] = []
    if kind == "promote" and view.rolled_back_in(env.name, digest) and not forced:
        reasons.append(
            Reason(
                ReasonCode.ROLLED_BACK,
                f"{short(digest)} was rolled back in {env.name}; promoting it again would bring back what "
                "the rollback removed",
                "promote a fixed artifact, or pass --force --reason TEXT to promote this one anyway "
                "(the reason is recorded in the ledger)",
            )
        )
    if env.previous is not None and not view.passed_in(env.previous, digest):
        if view.failed_in(env.previous, digest):
            reasons.append(
                Reason(
                    ReasonCode.FAILED_BEFORE,
                    f"{short(digest)} failed its promotion canary in {env.previous}, "
                    f"the environment before {env.name}",
                    f"fix the cause and promote a new artifact to {env.previous} first",
                )
            )
        else:
            reasons.append(
                Reason(
                    ReasonCode.UNVALIDATED,
                    f"{short(digest)} has not passed {env.previous}, the environment before {env.name}",
                    f"promote it to {env.previous} first: "
                    f"datacanary promote --artifact PATH --to {env.previous}",
                )
            )
    if parity is not None and not parity.ok:
        paths = ", ".join(d.path for d in parity.violations[:5])
        more = f" and {len(parity.violations) - 5} more" if len(parity.violations) > 5 else ""
        reasons.append(
            Reason(
                ReasonCode.PARITY,
                f"{parity.source} and {parity.target} differ outside the declared parameters: {paths}{more}",
                "make the environments agree, or declare the key under `parameters:` in datacanary.yml "
                f"(see `datacanary parity --from {parity.source} --to {parity.target}`)",
            )
        )
    return _with(decision, Action.REFUSE, *reasons) if reasons else decision


def plan_rollback(
    env: Environment, view: LedgerView, last_known_good: str | None, parity: ParityResult | None
) -> PromotionDecision:
    """Decide a rollback of `env` to its last-known-good digest, with the same checks as a promotion."""
    live = view.live_in(env.name)
    if live is None:
        return PromotionDecision(
            Action.REFUSE,
            "",
            env.name,
            env.previous,
            None,
            (
                Reason(
                    ReasonCode.NOTHING_LIVE,
                    f"nothing has been promoted to {env.name}, so there is nothing to roll back",
                ),
            ),
            kind="rollback",
        )
    if last_known_good is None:
        return PromotionDecision(
            Action.REFUSE,
            "",
            env.name,
            env.previous,
            live,
            (
                Reason(
                    ReasonCode.NO_LAST_KNOWN_GOOD,
                    f"{env.name} has no earlier good digest than the live {short(live)}",
                    "promote a fixed artifact instead",
                ),
            ),
            kind="rollback",
        )
    return plan_promotion(last_known_good, env, view, parity, kind="rollback")


def conclude(decision: PromotionDecision, canary_passed: bool, canary_summary: str) -> PromotionDecision:
    """The decision after the promotion canary ran: a failed canary refuses."""
    if decision.action is not Action.PROMOTE or canary_passed:
        return decision
    return _with(
        decision,
        Action.REFUSE,
        Reason(
            ReasonCode.CANARY,
            f"the promotion canary in {decision.environment} failed: {canary_summary}",
            "see the canary findings above; the live digest was left in place",
        ),
    )


def _with(decision: PromotionDecision, action: Action, *reasons: Reason) -> PromotionDecision:
    return PromotionDecision(
        action,
        decision.digest,
        decision.environment,
        decision.previous_environment,
        decision.previous_live,
        decision.reasons + reasons,
        decision.kind,
    )
