"""The dashboard's pages for one readable repository: (template, context), or None for a 404. Blocking
(SQLite): the routes run these off the event loop, after the access check. `db` is the App's state
database (gate results); `ledger` the repository's own ledger database, None when it has none."""

from __future__ import annotations

from typing import Any

from app.config import Settings
from app.dashboard import reads, views
from app.dashboard.access import Repo
from app.dashboard.results import GateResults
from app.state import StateDB

Page = tuple[str, dict[str, Any]] | None


def repo_page(db: StateDB, repo: Repo, settings: Settings, *, ledger: StateDB | None = None) -> Page:
    runs = GateResults(db).recent(repo.full_name)
    envs = reads.environments(ledger)
    rows = [
        {"run": r, "href": views.result_href(r), "checks": views.check_run_links(r, settings.web_url())}
        for r in runs
    ]
    return "repo.html.j2", {
        "results": rows,
        "envs": envs,
        "base": views.repo_base(repo.full_name),
    }


def report(db: StateDB, repo: Repo, number: int, sha: str) -> tuple[Any, dict[str, Any]] | None:
    return GateResults(db).find(repo.full_name, number, sha)


def result_page(db: StateDB, repo: Repo, settings: Settings, *, number: int, sha: str) -> Page:
    found = report(db, repo, number, sha)
    if found is None:
        return None
    run, rep = found
    return "result.html.j2", {
        **views.result_page(run, rep, settings.web_url()),
        "base": views.repo_base(repo.full_name),
    }


def model_page(db: StateDB, repo: Repo, settings: Settings, *, number: int, sha: str, model: str) -> Page:
    found = report(db, repo, number, sha)
    if found is None:
        return None
    context = views.model_page(*found, model)
    if context is None:
        return None
    return "model.html.j2", {**context, "base": views.repo_base(repo.full_name)}


def env_page(db: StateDB, repo: Repo, settings: Settings, *, env: str, ledger: StateDB | None = None) -> Page:
    """SLO status and burn rates per dataset, incidents with their revert PRs, the promotion ledger."""
    envs = reads.environments(ledger)
    if ledger is None or env not in envs:
        return None
    db = ledger
    live, history = reads.promotions(db, env)
    slis = reads.slo_histories(db, env)
    return "env.html.j2", {
        "env": env,
        "envs": envs,
        "cards": views.slo_cards(slis),
        "health": views.health_cards(reads.health_histories(db, env), slis),
        "incidents": reads.incidents(db, env),
        "live": live,
        "promotions": history,
        "web": settings.web_url(),
        "base": views.repo_base(repo.full_name),
    }


def runs_page(
    db: StateDB, repo: Repo, settings: Settings, *, env: str, ledger: StateDB | None = None
) -> Page:
    """The run ledger of an environment: every version written (runs and backfills), audits, restores."""
    envs = reads.environments(ledger)
    if ledger is None or env not in envs:
        return None
    db = ledger
    return "runs.html.j2", {
        "env": env,
        "envs": envs,
        "runs": reads.runs(db, env),
        "backfills": reads.backfills(db, env),
        "live_versions": reads.live_versions(db, env),
        "base": views.repo_base(repo.full_name),
    }


def results_json(db: StateDB, repo: Repo, settings: Settings) -> dict[str, Any]:
    return {
        "repository": repo.full_name,
        "results": [
            {
                "pull_request": r.pr_number,
                "head_sha": r.head_sha,
                "base_sha": r.base_sha,
                "at": r.at,
                "verdict": r.verdict,
                "gates": list(r.gates),
                "check_runs": views.check_run_links(r, settings.web_url()),
                "report": f"/dashboard/api/{repo.full_name}/pull/{r.pr_number or 0}/{r.head_sha}/report.json",
            }
            for r in GateResults(db).recent(repo.full_name)
        ],
    }
