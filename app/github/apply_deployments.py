"""Performers of the promotion effects (deployments, deployment statuses, protection-rule reviews),
and the read-back of datacanary's deployments for the App's protection-rule decisions.

Importing this module registers the performers with `app.github.apply`. The port may implement the
operations itself (a fake in tests); for the PyGithub client they are done here over its repository.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from app.errors import GitHubError
from app.github.apply import ApplyContext, applies
from app.promotion.effects import RecordDeployment, ReviewProtectionRule, clip
from app.promotion.github_ledger import DeploymentRecord

# newest deployments read: enough history for a release path, a bounded number of requests
READ_LIMIT = 100


@runtime_checkable
class DeploymentPort(Protocol):
    def create_deployment(
        self, sha: str, environment: str, payload: dict[str, Any], description: str, production: bool
    ) -> int: ...

    def create_deployment_status(
        self, deployment_id: int, state: str, description: str, environment: str, log_url: str | None
    ) -> None: ...

    def review_protection_rule(self, run_id: int, environment: str, state: str, comment: str) -> None: ...

    def list_deployments(self, environment: str | None) -> list[DeploymentRecord]: ...


class _PyGithubDeployments:
    """The three operations over GitHubClient's PyGithub repository, with its error mapping."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._repo = client._repo  # the client's lazy PyGithub Repository (one request per operation)

    def create_deployment(
        self, sha: str, environment: str, payload: dict[str, Any], description: str, production: bool
    ) -> int:
        # required_contexts=[]: the gate already ran; GitHub would otherwise refuse while checks are pending
        deployment = self._client._call(
            lambda: self._repo.create_deployment(
                ref=sha,
                task="deploy",
                auto_merge=False,
                required_contexts=[],
                payload=payload,
                environment=environment,
                description=description,
                production_environment=production,
            )
        )
        return int(deployment.id)

    def create_deployment_status(
        self, deployment_id: int, state: str, description: str, environment: str, log_url: str | None
    ) -> None:
        def post() -> None:
            body: dict[str, Any] = {"state": state, "description": description, "environment": environment}
            if log_url:
                body["log_url"] = log_url
            self._repo._requester.requestJsonAndCheck(
                "POST", f"{self._repo.url}/deployments/{deployment_id}/statuses", input=body
            )

        self._client._call(post)

    def review_protection_rule(self, run_id: int, environment: str, state: str, comment: str) -> None:
        # PyGithub has no method for this endpoint; its requester keeps auth, base URL and retries
        self._client._call(
            lambda: self._repo._requester.requestJsonAndCheck(
                "POST",
                f"{self._repo.url}/actions/runs/{run_id}/deployment_protection_rule",
                input={"environment_name": environment, "state": state, "comment": comment},
            )
        )

    def list_deployments(self, environment: str | None) -> list[DeploymentRecord]:
        from github import GithubObject

        def fetch() -> list[DeploymentRecord]:
            out = []
            env = GithubObject.NotSet if environment is None else environment
            # counted by hand: slicing a PaginatedList past its end raises IndexError in PyGithub 2.x
            for n, d in enumerate(self._repo.get_deployments(environment=env)):
                if n >= READ_LIMIT:
                    break
                payload = d.payload if isinstance(d.payload, dict) else {}
                if not str(payload.get("digest", "")).startswith("sha256:"):
                    continue  # not datacanary's: no need to read its statuses
                states = tuple(str(s.state) for s in d.get_statuses())  # newest first
                out.append(DeploymentRecord(int(d.id), str(d.environment), str(d.sha), payload, states))
            return out

        result: list[DeploymentRecord] = self._client._call(fetch)
        return result


def read_deployments(port: Any, environment: str | None = None) -> list[DeploymentRecord]:
    """datacanary's newest deployments (all environments by default) with their status states."""
    return _adapt(port).list_deployments(environment)


def _deployments(ctx: ApplyContext) -> DeploymentPort:
    return _adapt(ctx.github())


def _adapt(port: Any) -> DeploymentPort:
    if isinstance(port, DeploymentPort):
        return port
    if hasattr(port, "_repo") and hasattr(port, "_call"):
        return _PyGithubDeployments(port)
    raise GitHubError(
        f"{type(port).__name__} cannot manage deployments", hint="use app.github.client.GitHubClient"
    )


@applies(RecordDeployment)
def _record_deployment(effect: RecordDeployment, ctx: ApplyContext) -> None:
    port = _deployments(ctx)
    deployment_id = ctx.call(
        port.create_deployment,
        effect.sha,
        effect.environment,
        dict(effect.payload),
        clip(effect.description),
        effect.production,
    )
    ctx.call(
        port.create_deployment_status,
        deployment_id,
        effect.state,
        clip(effect.description),
        effect.environment,
        effect.log_url,
    )


@applies(ReviewProtectionRule)
def _review_protection_rule(effect: ReviewProtectionRule, ctx: ApplyContext) -> None:
    port = _deployments(ctx)
    state = "approved" if effect.approved else "rejected"
    ctx.call(port.review_protection_rule, effect.run_id, effect.environment, state, effect.comment)
