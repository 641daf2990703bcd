"""Promote and roll back: verify the artifact, decide (pure), run the promotion canary in the target
environment, reconcile it with the environment before, and record the outcome in the ledger.

The I/O is all passed in: the state database, the artifact store, the project directory holding the
environments' data files, and the clock's reading (`at`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.errors import DatacanaryError
from app.findings import Finding, gate_verdict
from app.project.model import Project
from app.promotion.artifact import Artifact, Verification, open_artifact
from app.promotion.bundle import artifact_project
from app.promotion.environments import Environment, effective_project_config, environment
from app.promotion.envrun import EnvRun, run_in_environment
from app.promotion.fingerprint import GATE, reconcile
from app.promotion.github_ledger import merge
from app.promotion.ledger import Entry, Ledger, LedgerView
from app.promotion.parity import ParityResult, parity
from app.promotion.promote import Action, PromotionDecision, conclude, plan_promotion, plan_rollback, short
from app.promotion.store import ArtifactStore
from app.types import Location, Severity, Verdict


class ArtifactRefused(DatacanaryError):
    """The artifact does not verify: tampered or truncated. Exit 1 (a refusal), like a blocking finding."""

    exit_code = 1

    def __init__(self, verification: Verification) -> None:
        detail = "; ".join(f"{p.kind} {p.path}: {p.detail}" for p in verification.problems[:5])
        super().__init__(
            f"the artifact does not verify: {detail}", hint="rebuild it with `datacanary artifact build`"
        )
        self.verification = verification


@dataclass(frozen=True, slots=True)
class PromotionCanary:
    """The promotion canary: fingerprints in the target environment, reconciled with the one before."""

    environment: str
    baseline: str | None  # the environment whose results were the baseline
    run: EnvRun
    findings: tuple[Finding, ...]

    @property
    def verdict(self) -> Verdict:
        return gate_verdict(self.findings)

    @property
    def passed(self) -> bool:
        return self.verdict is not Verdict.FAIL

    def summary(self) -> str:
        blocking = [f for f in self.findings if f.blocking]
        if not blocking:
            return f"{len(self.run.models)} model(s) reconciled"
        head = "; ".join(f"{f.dataset}: {f.message}" for f in blocking[:3])
        return head + (f" (and {len(blocking) - 3} more)" if len(blocking) > 3 else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "environment": self.environment,
            "baseline": self.baseline,
            "sample_fraction": self.run.sample_fraction,
            "sources": dict(self.run.sources),
            "models": {m.name: m.fingerprint for m in self.run.models if m.fingerprint is not None},
            "failed_models": {m.name: m.error or m.skipped for m in self.run.models if m.fingerprint is None},
            "findings": [f.to_json() for f in self.findings],
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a promote or rollback did."""

    decision: PromotionDecision
    artifact: Artifact | None
    parity: ParityResult | None = None
    canary: PromotionCanary | None = None
    entry: Entry | None = None  # the ledger row written (None for a no-op or an early refusal)
    notes: tuple[str, ...] = field(default=())
    dry_run: bool = False  # decided only: no canary ran, nothing was recorded

    @property
    def exit_code(self) -> int:
        return 1 if self.decision.refused else 0


@dataclass(frozen=True, slots=True)
class Context:
    """The edges a promotion needs."""

    ledger: Ledger
    store: ArtifactStore
    project_dir: Path  # where the environments' `data` files are found
    actor: str
    at: str  # ISO 8601 UTC time of this promotion
    commit_sha: str | None = None
    progress: Callable[[str], None] | None = None
    # what else is known of earlier promotions (GitHub's deployments, when running in Actions)
    known: LedgerView | None = None
    dry_run: bool = False  # decide and stop: no canary, no ledger row, no artifact stored
    force_reason: str | None = None  # promote a digest rolled back in the target anyway, for this reason

    def view(self) -> LedgerView:
        """The local ledger, completed with what is `known` from elsewhere."""
        own = self.ledger.view()
        return own if self.known is None else merge(own, self.known)


def promote(data: bytes, env_name: str, ctx: Context) -> Outcome:
    """Promote the artifact `data` to `env_name`; refusals are values (exit 1), bad input raises."""
    artifact, verification = open_artifact(data)
    if not verification.ok:
        raise ArtifactRefused(verification)
    project = artifact_project(artifact)
    env = environment(project.config, env_name, project.config_path, project.config_doc)
    check = _parity(project, env)
    view = ctx.view()
    decision = plan_promotion(artifact.digest, env, view, check, forced=ctx.force_reason is not None)
    if ctx.force_reason is not None and view.rolled_back_in(env.name, artifact.digest):
        note = f"forced past its rollback in {env.name} by {ctx.actor}: {ctx.force_reason}"
        return _finish(decision, artifact, data, project, env, check, ctx, note)
    return _finish(decision, artifact, data, project, env, check, ctx)


def rollback(env_name: str, ctx: Context, config_project: Project) -> Outcome:
    """Promote `env_name`'s last-known-good digest back (from the artifact store), with the same checks.
    `config_project` (the working project) names the environments until the artifact is loaded."""
    env = environment(config_project.config, env_name, config_project.config_path, config_project.config_doc)
    lkg = ctx.ledger.last_known_good(env.name)
    decision = plan_rollback(env, ctx.ledger.view(), lkg.digest if lkg else None, None)
    if decision.refused:
        return Outcome(decision, None)
    data = ctx.store.get(decision.digest)
    artifact, _ = open_artifact(data)
    project = artifact_project(artifact)
    env = environment(project.config, env_name, project.config_path, project.config_doc)
    check = _parity(project, env)
    decision = plan_rollback(env, ctx.ledger.view(), decision.digest, check)
    # the digest goes back with the commit it was built from, not the commit this job runs on
    ctx = replace(ctx, commit_sha=(lkg.commit_sha if lkg else None) or ctx.commit_sha)
    return _finish(decision, artifact, data, project, env, check, ctx)


def _parity(project: Project, env: Environment) -> ParityResult | None:
    if env.previous is None:
        return None
    return parity(project.config, env.previous, env.name, project.config_doc)


def _finish(
    decision: PromotionDecision,
    artifact: Artifact,
    data: bytes,
    project: Project,
    env: Environment,
    check: ParityResult | None,
    ctx: Context,
    note: str | None = None,
) -> Outcome:
    if decision.action is Action.NOOP and not ctx.dry_run:
        # already live: nothing to promote, but a store that lost (or damaged) the live artifact gets it
        # back, which is what the store's own error tells the user to do
        ctx.store.put(artifact.digest, data)
    if decision.action is not Action.PROMOTE or ctx.dry_run:
        return Outcome(decision, artifact, check, dry_run=ctx.dry_run)
    canary = run_canary(artifact, project, env, ctx)
    # kept before recording, so every digest in the ledger can be rolled back to
    ctx.store.put(artifact.digest, data)
    decision = conclude(decision, canary.passed, canary.summary())
    entry = ctx.ledger.record(
        digest=artifact.digest,
        environment=env.name,
        at=ctx.at,
        actor=ctx.actor,
        passed=canary.passed,
        canary=canary.to_json(),
        kind=decision.kind,
        reason=canary.summary() if not canary.passed else (note or _rollback_note(decision, ctx.actor)),
        project=project.config.name,
        commit_sha=ctx.commit_sha,
    )
    return Outcome(decision, artifact, check, canary, entry)


def run_canary(artifact: Artifact, project: Project, env: Environment, ctx: Context) -> PromotionCanary:
    """Run the artifact's models on a sample of `env`'s data and reconcile each with the baseline: the
    same digest's results in the environment before (for a rollback without one: its own last run here)."""
    config = effective_project_config(project.config, env.name, project.config_path, project.config_doc)
    order = [m for m in artifact.lineage().get("order", []) if m in project.models]
    run = run_in_environment(project, order, env, config, ctx.project_dir, progress=ctx.progress)
    baseline_env, baseline = _baseline(ctx.ledger, artifact.digest, env)
    findings: list[Finding] = []
    for m in run.models:
        loc = Location(m.path, 1)
        if m.fingerprint is None:
            why = f"failed in {env.name}: {m.error}" if m.error else f"was not built: {m.skipped}"
            findings.append(
                Finding(
                    GATE,
                    "model-failed",
                    Severity.ERROR,
                    f"model {m.name} {why}",
                    dataset=m.name,
                    location=loc,
                )
            )
            continue
        before = (baseline or {}).get("models", {}).get(m.name)
        findings += reconcile(m.name, m.path, before, m.fingerprint, config.canary.thresholds, baseline_env)
    return PromotionCanary(env.name, baseline_env if baseline else None, run, tuple(findings))


def _baseline(ledger: Ledger, digest: str, env: Environment) -> tuple[str | None, dict[str, Any] | None]:
    for name in (env.previous, env.name):
        if name is None:
            continue
        entry = ledger.last_passed(name, digest)
        if entry is not None:
            return name, dict(entry.canary)
    return env.previous, None


def _rollback_note(decision: PromotionDecision, actor: str) -> str | None:
    if decision.kind != "rollback":
        return None
    return f"rolled back from {short(decision.previous_live)} to {short(decision.digest)} by {actor}"
