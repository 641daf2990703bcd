"""The SLO evaluation every front runs (CLI, Action, App): load the project and environment, measure,
store, and attach budgets and burn rates from the stored history."""

from __future__ import annotations

import datetime as dt

from app.errors import UsageError
from app.slo.report import SloReport


def parse_at(text: str | None) -> dt.datetime:
    """`--at` as an aware UTC datetime (naive input is taken as UTC); now when absent."""
    if not text:
        return dt.datetime.now(dt.UTC)
    try:
        at = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--at {text!r} is not an ISO 8601 time", hint="e.g. 2026-11-25T12:00:00Z") from None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def evaluate_env(
    project_dir: str, env: str, state: str | None, now: dt.datetime, store: bool = True
) -> SloReport:
    """Evaluate `env`'s SLOs as declared by what is live there (the live artifact, else the working tree)."""
    from app.runs.ledger import RunLedger
    from app.runs.session import open_session
    from app.runs.target import contracts, open_warehouse
    from app.slo.evaluate import RunFacts, evaluate
    from app.slo.health_measure import HealthRun
    from app.slo.health_store import HealthStore, statuses_of
    from app.slo.objectives import collect
    from app.slo.report import build, since
    from app.slo.store import EvaluationStore

    session = open_session(project_dir, env, state)
    try:
        tgt = session.target
        facts = {
            name: RunFacts(
                published_at=dt.datetime.fromisoformat(rec.started_at),
                duration_seconds=rec.duration,
                rows_written=rec.rows,
                version=f"v{rec.version}",
            )
            for name, rec in RunLedger(session.db).latest_published(env).items()
        }
        objectives = collect(session.project)
        profiles = HealthStore(session.db)
        health = HealthRun(lambda dataset: profiles.recent(env, dataset, now))
        warehouse = open_warehouse(tgt, read_only=True)  # a missing DuckDB file: exit 2, not created
        try:
            evaluation = evaluate(
                warehouse,
                env,
                objectives,
                now,
                facts,
                contracts(session.project),
                tgt.schema,
                tgt.source_schema,
                built=set(session.project.models),
                health=health,
            )
        finally:
            warehouse.close()
        evaluations = EvaluationStore(session.db)
        if store:
            evaluations.save(evaluation)
            for profile in health.profiles:
                profiles.save(env, profile, statuses_of(evaluation.results, profile.dataset))
        start = since(now, [o.budget_window for o in objectives])
        history = {o.key: evaluations.samples(env, o.key, start) for o in objectives}
        return build(evaluation, history)
    finally:
        session.db.close()
