"""`deployment_protection_rule.requested`: datacanary as a custom deployment protection rule.

GitHub asks before a workflow job deploys to a protected environment. The answer comes from the
promotion ledger: the repository's own in the App (ledger database + artifact store), completed with the deployments
datacanary's Action recorded on GitHub (digest and promotion path in their payloads), so promotions
that ran on runners with their own state count too. It goes back as a ReviewProtectionRule effect:
approved, or rejected with the reason (parity, unvalidated digest, canary failure).
https://docs.github.com/actions/deployment/protecting-deployments/creating-custom-deployment-protection-rules
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import app.github.apply_deployments  # noqa: F401  (registers the performers of the effects returned here)
from app.effects import Effect
from app.errors import DatacanaryError
from app.github.events import DeploymentProtectionRuleEvent
from app.github.port import GitHubHttpError
from app.promotion.effects import ReviewProtectionRule
from app.promotion.github_ledger import DeploymentRecord, digest_for_sha, merge, view_from_deployments
from app.promotion.ledger import Ledger
from app.promotion.protection import ProtectionDecision, digest_from, path_environments, review
from app.promotion.store import ArtifactStore
from app.report.env import render
from app.service.context import HandlerContext
from app.service.dispatch import Router
from app.state import StateDB

router = Router()


@router.register("deployment_protection_rule", "requested")
def on_protection_rule(event: DeploymentProtectionRuleEvent, ctx: HandlerContext) -> list[Effect]:
    records: list[DeploymentRecord] = []
    try:
        from app.github.apply_deployments import read_deployments

        records = read_deployments(ctx.github(event.installation_id, event.repo.full_name))
    except GitHubHttpError as exc:
        if exc.transient:
            raise  # GitHub down or rate limiting: the worker tries again; a rejection would be final
    except DatacanaryError:
        pass  # GitHub's record is a complement; the App's own ledger still decides
    decision = decide(event, ctx.ledger(event.repo.full_name), records)
    comment = render(
        "promotion/protection.md.j2",
        approved=decision.approved,
        environment=decision.environment,
        reason=decision.reason,
        digest_short=(decision.digest or "-").removeprefix("sha256:")[:12],
    )
    return [ReviewProtectionRule(event.run_id, event.environment, decision.approved, comment.strip())]


def decide(
    event: DeploymentProtectionRuleEvent, db: StateDB, records: Sequence[DeploymentRecord] = ()
) -> ProtectionDecision:
    """The protection-rule decision for `event` from the ledger and artifact store of `db` (the
    repository's ledger database), and from datacanary's deployments on GitHub (`records`)."""
    from app.promotion.artifact import open_artifact
    from app.promotion.bundle import artifact_project
    from app.promotion.environments import environments
    from app.promotion.parity import parity

    ledger = Ledger(db)
    view = merge(ledger.view(), view_from_deployments(records))
    digest = digest_from(event.deployment_payload, event.sha, ledger.history()) or digest_for_sha(
        list(records), event.sha
    )
    if digest is None:
        return review(event.environment, None, None, view, None, event.sha)
    store = ArtifactStore(Path(db.path).parent / "artifacts")
    project = None
    if store.has(digest):
        try:
            project = artifact_project(open_artifact(store.get(digest))[0])
        except DatacanaryError:
            project = None  # a corrupted store entry: decided as if the artifact were not there
    if project is not None:
        envs = environments(project.config)
        env = next((e for e in envs if e.name == event.environment), None)
        check = None
        if env is not None and env.previous is not None:
            check = parity(project.config, env.previous, env.name, project.config_doc)
        return review(event.environment, digest, envs, view, check, event.sha)
    path = _path_from(records, digest)
    envs_known = path_environments(path) if path else None
    return review(event.environment, digest, envs_known, view, None, event.sha, parity_checked=False)


def _path_from(records: Sequence[DeploymentRecord], digest: str) -> list[str]:
    for r in sorted(records, key=lambda r: -r.id):
        names = r.payload.get("environments")
        if r.digest == digest and isinstance(names, list) and all(isinstance(n, str) for n in names):
            return list(names)
    return []
