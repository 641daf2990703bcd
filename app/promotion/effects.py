"""GitHub effects of promotion: a deployment (with the artifact digest in its payload) and its status,
and the review of a custom deployment protection rule. Performed by app.github.apply_deployments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from app.effects import Effect

# GitHub cuts deployment and status descriptions at 140 characters
DESCRIPTION_LIMIT = 140


def clip(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class RecordDeployment(Effect):
    """Create a deployment of `sha` to `environment` and give it a status: the ledger's GitHub record.

    https://docs.github.com/rest/deployments/deployments#create-a-deployment and
    https://docs.github.com/rest/deployments/statuses#create-a-deployment-status"""

    sha: str
    environment: str
    state: str  # success | failure | error | inactive
    description: str
    payload: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    production: bool = False
    log_url: str | None = None

    def describe(self) -> str:
        digest = str(self.payload.get("digest", ""))[:19]
        return f"record deployment of {self.sha[:12]} ({digest}) to {self.environment}: {self.state}"


@dataclass(frozen=True, slots=True)
class ReviewProtectionRule(Effect):
    """Approve or reject a workflow run's pending deployment to `environment` (custom protection rule).

    https://docs.github.com/rest/actions/workflow-runs#review-custom-deployment-protection-rules-for-a-workflow-run"""

    run_id: int
    environment: str
    approved: bool
    comment: str

    def describe(self) -> str:
        verb = "approve" if self.approved else "reject"
        return f"{verb} deployment of run {self.run_id} to {self.environment}: {self.comment[:60]}"
