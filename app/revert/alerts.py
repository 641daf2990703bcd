"""Alertmanager webhooks (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config) as
breach signals: parsed once into typed groups, one per (repository, environment), and handled like a
scheduled `mode: slo` run: evaluate, find the culprit, open or update the one revert pull request.

Alerts name their target with labels: `repository` (owner/name), `environment`, and optionally
`dataset` and `sli` to narrow which SLIs the alert is about.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.revert.respond import DEFAULT_SUPPRESSION, Handled, Repository, handle
from app.slo.objectives import Objective
from app.slo.status import SliResult, Status


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Alert(_Loose):
    status: str  # firing | resolved
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str | None = None  # noqa: N815 - Alertmanager's field names
    fingerprint: str | None = None


class AlertmanagerPayload(_Loose):
    version: str = "4"
    status: str
    receiver: str | None = None
    groupKey: str | None = None  # noqa: N815
    commonLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    alerts: list[Alert]


@dataclass(frozen=True, slots=True)
class AlertGroup:
    """Firing alerts about one environment of one repository."""

    repository: str
    environment: str
    datasets: frozenset[str]  # empty: any dataset
    slis: frozenset[str]  # empty: any SLI
    names: tuple[str, ...]  # alertnames, for messages


def groups(payload: AlertmanagerPayload) -> tuple[list[AlertGroup], list[str]]:
    """Firing alerts grouped by (repository, environment), and the problems of alerts without them."""
    found: dict[tuple[str, str], list[Alert]] = {}
    problems: list[str] = []
    for i, alert in enumerate(payload.alerts):
        if alert.status != "firing":
            continue  # a resolved alert needs no revert; the incident stays for people to close
        labels = {**payload.commonLabels, **alert.labels}
        repo, env = labels.get("repository", ""), labels.get("environment", "")
        if "/" not in repo or not env:
            problems.append(
                f"alerts[{i}] ({labels.get('alertname', '?')}) needs `repository` (owner/name) "
                f"and `environment` labels"
            )
            continue
        found.setdefault((repo, env), []).append(alert)
    out = []
    for (repo, env), alerts in sorted(found.items()):
        group_labels = [{**payload.commonLabels, **a.labels} for a in alerts]
        out.append(
            AlertGroup(
                repository=repo,
                environment=env,
                datasets=frozenset(lb["dataset"] for lb in group_labels if lb.get("dataset")),
                slis=frozenset(lb["sli"] for lb in group_labels if lb.get("sli")),
                names=tuple(dict.fromkeys(lb.get("alertname", "alert") for lb in group_labels)),
            )
        )
    return out, problems


def matching(
    group: AlertGroup, breached: Sequence[SliResult], objectives: Sequence[Objective]
) -> tuple[SliResult, ...]:
    """The breached SLIs the alert is about; when our own evaluation does not see the breach (the alert
    came from elsewhere), the alerted datasets' objectives are taken as breached on the alert's word."""

    def wanted(o: Objective) -> bool:
        return (not group.datasets or bool(group.datasets & set(o.datasets))) and (
            not group.slis or o.sli in group.slis or o.key in group.slis
        )

    hits = tuple(r for r in breached if wanted(r.objective))
    if hits or not group.datasets:
        return hits
    reason = f"alert {', '.join(group.names)} firing"
    return tuple(SliResult(o, None, Status.BREACH, reason=reason) for o in objectives if wanted(o))


AlertProcessor = Callable[[AlertGroup], object]
log = logging.getLogger("datacanary.alerts")


def local_processor(
    repo_path: Path,
    repository: str,
    *,
    project_root: str = "",
    default_branch: str = "main",
    state: str | None = None,
    port_for: Callable[[str], Any],
    clock: Callable[[], dt.datetime] | None = None,
    suppression: dt.timedelta = DEFAULT_SUPPRESSION,
    retry: Any = None,
) -> AlertProcessor:
    """A processor for a service next to a clone of the data repository (kept fetched, with history) and
    the environments' data: evaluate, then handle the alerted breaches. `port_for(repository)` gives a
    RevertPort authenticated as the App (its installation token)."""
    from app.runs.session import open_session
    from app.slo.objectives import collect
    from app.slo.service import evaluate_env

    now = clock or (lambda: dt.datetime.now(dt.UTC))

    def process(group: AlertGroup) -> Handled | None:
        if group.repository != repository:
            log.warning("alert for %s ignored: this service handles %s", group.repository, repository)
            return None
        at = now()
        project_dir = str(repo_path / project_root)
        report = evaluate_env(project_dir, group.environment, state, at)
        session = open_session(project_dir, group.environment, state)
        try:
            results = matching(group, [r.result for r in report.breaches], collect(session.project))
            return handle(
                results,
                env=group.environment,
                at=at,
                repo=Repository(repo_path, group.repository, default_branch),
                project_root=project_root,
                db=session.db,
                port=port_for(group.repository),
                retry=retry,
                suppression=suppression,
            )
        finally:
            session.db.close()

    return process
