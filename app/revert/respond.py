"""From SLO breaches to revert plans: the edge that gathers what the pure planners need (git history,
the promotion and run ledgers, stored evaluations, lineage) and records what was opened."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.github.apply import ApplyResult
from app.project.model import Project
from app.revert import history
from app.revert.culprit import Culprit, Lineage, find
from app.revert.incidents import IncidentStore
from app.revert.plan import Breach, FileState, RestoreStep, RevertPlan, fingerprint, plan
from app.runs.ledger import RunLedger
from app.slo.report import SloReport
from app.slo.status import SliResult
from app.slo.store import EvaluationStore
from app.state import StateDB

DEFAULT_SUPPRESSION = dt.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Repository:
    """The git checkout of the data project's repository and its GitHub identity."""

    path: Path
    full_name: str  # owner/name
    default_branch: str = "main"


def lineage_of(project: Project) -> Lineage:
    """Datasets' defining files (model SQL, contract) and what each model reads, repository-relative."""
    from app.sql.analyze import analyze

    analysis = analyze(project)
    files: dict[str, list[str]] = {name: [m.path] for name, m in analysis.models.items()}
    for contract in project.contracts:
        for d in contract.datasets:
            files.setdefault(d.name, []).append(contract.path)
    return Lineage(
        upstream={n: tuple(m.upstream) + tuple(m.sources) for n, m in analysis.models.items()},
        files={k: tuple(v) for k, v in files.items()},
        shared=(project.config_path,),
    )


def triggering(report: SloReport, trigger: str = "page") -> tuple[SliResult, ...]:
    """The breaches to act on: paging burn-rate alerts (default), or every breach (`trigger="breach"`)."""
    rows = report.paging if trigger == "page" else report.breaches
    return tuple(r.result for r in rows if r.result.status.value == "breach")


def respond(
    results: Sequence[SliResult],
    *,
    env: str,
    at: dt.datetime,
    repo: Repository,
    project: Project,
    db: StateDB,
    suppression: dt.timedelta = DEFAULT_SUPPRESSION,
) -> list[RevertPlan]:
    """One plan per incident: breaches that share a culprit become one revert pull request."""
    from app.promotion.ledger import Ledger, Status

    if not results:
        return []
    lineage = lineage_of(project)
    promotions = [
        (e.commit_sha, dt.datetime.fromisoformat(e.promoted_at.replace("Z", "+00:00")))
        for e in Ledger(db).history(env)
        if e.commit_sha and e.status is not Status.FAILED
    ]
    changes = history.promoted(repo.path, history.merged_changes(repo.path, repo.default_branch), promotions)
    store = EvaluationStore(db)
    groups: dict[str, tuple[Culprit | None, list[SliResult]]] = {}
    for result in results:
        since = store.last_good(env, result.objective.key, at)
        culprit = find(result.objective.datasets, changes, lineage, since, at)
        key = culprit.change.commit if culprit else result.objective.key
        groups.setdefault(key, (culprit, []))[1].append(result)
    head = history.resolve_branch(repo.path, repo.default_branch)
    incidents = IncidentStore(db)
    plans = []
    for culprit, grouped in groups.values():
        breach = Breach(env, at, tuple(grouped))
        files = _file_states(repo.path, culprit, head) if culprit else []
        restore = _restore_plan(RunLedger(db), env, breach, culprit)
        owners = () if breach.owners else _codeowners(repo.path, head, culprit, breach, lineage)
        existing = incidents.get(fingerprint(breach, culprit))
        plans.append(
            plan(
                breach,
                culprit,
                files,
                repo=repo.full_name,
                default_branch=repo.default_branch,
                head_sha=head,
                restore=restore,
                existing=existing,
                now=at,
                suppression=suppression,
                owners=owners,
            )
        )
    return plans


def _codeowners(
    repo: Path, head: str, culprit: Culprit | None, breach: Breach, lineage: Lineage
) -> tuple[str, ...]:
    """Owners by CODEOWNERS when no contract names one: of the culprit's files, else the datasets' files."""
    from app.revert.codeowners import LOCATIONS, owners_for

    for location in LOCATIONS:
        text = history.show(repo, head, location)
        if text is not None:
            paths = (
                culprit.files if culprit else [f for d in breach.datasets for f in lineage.files.get(d, ())]
            )
            return owners_for(text.decode("utf-8", "replace"), paths)
    return ()


def _file_states(repo: Path, culprit: Culprit, head: str) -> list[FileState]:
    c = culprit.change
    return [
        FileState(
            p, history.show(repo, c.parent, p), history.show(repo, c.commit, p), history.show(repo, head, p)
        )
        for p in c.files
    ]


def _restore_plan(ledger: RunLedger, env: str, breach: Breach, culprit: Culprit | None) -> list[RestoreStep]:
    """For each affected dataset, the newest audited version published before the culprit reached the
    environment (or before the breach without a culprit), when its view points elsewhere now."""
    cutoff = culprit.promoted_at if culprit else breach.at
    affected = list(dict.fromkeys([*(culprit.path if culprit else ()), *breach.datasets]))
    steps = []
    for dataset in affected:
        live = ledger.live_version(env, dataset)
        good = [
            v
            for v in ledger.versions(env, dataset)
            if v.audited and not v.dropped and dt.datetime.fromisoformat(v.started_at) < cutoff
        ]
        if good and good[-1].version != live:
            steps.append(RestoreStep(dataset, good[-1].version, good[-1].started_at, live))
    return steps


def record(plans: Sequence[RevertPlan], applied: ApplyResult, env: str, at: dt.datetime, db: StateDB) -> None:
    """Remember what each plan opened (numbers by effect ref), so the next alert updates it."""
    incidents = IncidentStore(db)
    for p in plans:
        if p.kind == "update":
            incidents.alerted(p.fingerprint, at)
        elif p.kind != "suppressed":
            number = applied.check_runs.get(f"revert:{p.fingerprint}")
            kind = "pull" if p.kind == "revert" else "issue"
            incidents.opened(
                p.fingerprint, env, kind, number, p.culprit.change.commit if p.culprit else None, at
            )


@dataclass(frozen=True, slots=True)
class Handled:
    plans: tuple[RevertPlan, ...]
    applied: ApplyResult | None  # None on a dry run or when there was nothing to do


def handle(
    results: Sequence[SliResult],
    *,
    env: str,
    at: dt.datetime,
    repo: Repository,
    project_root: str,
    db: StateDB,
    port: Any,
    retry: Any = None,
    suppression: dt.timedelta = DEFAULT_SUPPRESSION,
    dry_run: bool = False,
) -> Handled:
    """Plan for `results`, apply the effects with `port` (a RevertPort), and remember what was opened.
    The lineage is read from the default branch of `repo` (repository-relative paths)."""
    import app.github.apply_revert  # noqa: F401  (registers the revert performers)
    from app.github.apply import apply
    from app.project.git import GitTree
    from app.project.load import load_project

    if not results:
        return Handled((), None)
    project = load_project(
        GitTree(repo.path, history.resolve_branch(repo.path, repo.default_branch)), project_root
    )
    plans = tuple(
        respond(results, env=env, at=at, repo=repo, project=project, db=db, suppression=suppression)
    )
    if dry_run:
        return Handled(plans, None)
    applied = apply([e for p in plans for e in p.effects], port=port, retry=retry)
    record(plans, applied, env, at, db)
    return Handled(plans, applied)
