"""`deployment_protection_rule.requested`: datacanary as a custom deployment protection rule.

GitHub asks before a workflow job deploys to a protected environment; the answer comes from the
promotion ledger in the App's state database (and the artifact store next to it) and goes back as a
ReviewProtectionRule effect: approved, or rejected with the reason (parity, unvalidated digest, canary
failure). https://docs.github.com/actions/deployment/protecting-deployments/creating-custom-deployment-protection-rules
"""

from __future__ import annotations

from pathlib import Path

import app.github.apply_deployments  # noqa: F401  (registers the performers of the effects returned here)
from app.effects import Effect
from app.github.events import DeploymentProtectionRuleEvent
from app.promotion.effects import ReviewProtectionRule
from app.promotion.ledger import Ledger
from app.promotion.protection import ProtectionDecision, digest_from, review
from app.promotion.store import ArtifactStore
from app.report.env import render
from app.service.context import HandlerContext
from app.service.dispatch import Router
from app.state import StateDB

router = Router()


@router.register("deployment_protection_rule", "requested")
def on_protection_rule(event: DeploymentProtectionRuleEvent, ctx: HandlerContext) -> list[Effect]:
    decision = decide(event, ctx.db)
    comment = render(
        "promotion/protection.md.j2",
        approved=decision.approved,
        environment=decision.environment,
        reason=decision.reason,
        digest_short=(decision.digest or "-").removeprefix("sha256:")[:12],
    )
    return [ReviewProtectionRule(event.run_id, event.environment, decision.approved, comment.strip())]


def decide(event: DeploymentProtectionRuleEvent, db: StateDB) -> ProtectionDecision:
    """The protection-rule decision for `event` from the ledger and artifact store of `db`."""
    from app.errors import DatacanaryError
    from app.promotion.artifact import open_artifact
    from app.promotion.bundle import artifact_project
    from app.promotion.parity import parity

    ledger = Ledger(db)
    digest = digest_from(event.deployment_payload, event.sha, ledger.history())
    config, check = None, None
    store = ArtifactStore(Path(db.path).parent / "artifacts")
    if digest is not None and store.has(digest):
        try:
            project = artifact_project(open_artifact(store.get(digest))[0])
        except DatacanaryError:
            project = None  # a corrupted store entry: decided as an unknown artifact, never approved
        if project is not None:
            config = project.config
            names = list(config.environments)
            if event.environment in names and names.index(event.environment) > 0:
                previous = names[names.index(event.environment) - 1]
                check = parity(config, previous, event.environment, project.config_doc)
    return review(event.environment, digest, config, ledger.view(), check, event.sha)
