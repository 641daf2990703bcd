"""What the dashboard reads from the state database for one repository's environments: SLO
evaluations (with burn rates over time), incidents and their revert PRs, the promotion ledger and the
run ledger. Plain values for the templates; the stores' own classes are used where they answer the
question, SQL over their tables where they do not (lists across datasets, history for charts)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from app.promotion.ledger import Entry, Ledger
from app.revert.incidents import DDL as INCIDENTS_DDL
from app.runs.ledger import RunLedger, VersionRecord
from app.slo.budget import DEFAULT_RULES, Sample, burn_rate
from app.slo.objectives import DEFAULT_TARGET
from app.slo.status import Status
from app.slo.store import DDL as SLO_DDL
from app.state import StateDB, table_names

HISTORY = 200  # evaluations per SLI drawn in a chart


@dataclass(frozen=True, slots=True)
class Point:
    at: dt.datetime
    status: str
    value: float | None
    burn: float | None  # burn rate over the page rule's long window at this evaluation


@dataclass(frozen=True, slots=True)
class SliHistory:
    env: str
    key: str
    dataset: str
    sli: str
    latest: dict[str, Any]  # the last SliResult JSON
    target: float
    window: float  # seconds of the burn-rate window charted
    points: tuple[Point, ...]
    # data-health telemetry of the last evaluation (the detail of a health.* SLI), shown when present
    telemetry: dict[str, Any] = field(default_factory=dict)


def _parse(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def slo_histories(db: StateDB, env: str) -> list[SliHistory]:
    """Per SLI of `env`, its last evaluation and the burn rate at each of its last HISTORY ones."""
    db.ensure("slo_evaluations", SLO_DDL)
    rows = (
        db.connect()
        .execute(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY key ORDER BY at DESC) AS n"
            " FROM slo_evaluations WHERE env = ?) WHERE n <= ? ORDER BY key, at",
            (env, HISTORY),
        )
        .fetchall()
    )
    by_key: dict[str, list[Any]] = {}
    for row in rows:
        by_key.setdefault(row["key"], []).append(row)
    window = DEFAULT_RULES[0].long
    found = []
    for key, history in by_key.items():
        latest = json.loads(history[-1]["result"])
        target = float(latest.get("target") or DEFAULT_TARGET)
        samples = [Sample(_parse(r["at"]), Status(r["status"])) for r in history]
        points = tuple(
            Point(s.at, s.status.value, r["value"], burn_rate(samples[: i + 1], s.at, window, target))
            for i, (s, r) in enumerate(zip(samples, history, strict=True))
        )
        found.append(
            SliHistory(
                env,
                key,
                history[-1]["dataset"],
                history[-1]["sli"],
                latest,
                target,
                window,
                points,
                # a data-health SLI's measurement (app.slo.health: baseline, PSI/KS, columns drifted)
                telemetry=dict(latest.get("detail") or {})
                if str(latest.get("sli", "")).startswith("health.")
                else {},
            )
        )
    return found


# Where a repository's ledger database names environments (app.service.ledgers.LEDGER_TABLES).
ENV_COLUMNS = {
    "promotion": "environment",
    "run_versions": "env",
    "backfills": "env",
    "slo_evaluations": "env",
    "slo_health_profiles": "env",
    "revert_incidents": "env",
}


def environments(db: StateDB | None) -> list[str]:
    """The environments a repository's ledger database has rows of, sorted (none without a database)."""
    if db is None:
        return []
    conn = db.connect()
    tables = table_names(conn)
    parts = [f'SELECT "{c}" AS env FROM "{t}"' for t, c in ENV_COLUMNS.items() if t in tables]
    if not parts:
        return []
    return [r[0] for r in conn.execute(f"SELECT DISTINCT env FROM ({' UNION '.join(parts)}) ORDER BY env")]


def incidents(db: StateDB, env: str) -> list[dict[str, Any]]:
    """The incidents of `env`, newest first: the revert PR or issue each breach opened."""
    db.ensure("revert_incidents", INCIDENTS_DDL)
    rows = (
        db.connect()
        .execute("SELECT * FROM revert_incidents WHERE env = ? ORDER BY opened_at DESC", (env,))
        .fetchall()
    )
    return [dict(r) for r in rows]


def promotions(db: StateDB, env: str) -> tuple[Entry | None, list[Entry]]:
    """(the live row, every row newest first) of `env`'s promotion ledger."""
    ledger = Ledger(db)
    return ledger.live(env), ledger.history(env)


def runs(db: StateDB, env: str, limit: int = 100) -> list[VersionRecord]:
    """The run ledger's newest versions of `env` (every dataset), newest first; backfills included."""
    ledger = RunLedger(db)
    datasets = [
        r["dataset"]
        for r in db.connect().execute(
            "SELECT DISTINCT dataset FROM run_versions WHERE env = ? ORDER BY dataset", (env,)
        )
    ]
    found = [v for d in datasets for v in ledger.versions(env, d)]
    return sorted(found, key=lambda v: v.started_at, reverse=True)[:limit]


def backfills(db: StateDB, env: str, limit: int = 50) -> list[dict[str, Any]]:
    """The backfills of `env`, newest first: who, why, which commit, the window and its reconciliation."""
    from app.runs.backfill import history

    return history(RunLedger(db), env=env)[:limit]


def live_versions(db: StateDB, env: str) -> dict[str, int]:
    """Per dataset, the version its view points at."""
    return {d: v.version for d, v in RunLedger(db).latest_published(env).items()}


HEALTH_HISTORY = 100  # stored profiles per dataset drawn in the data-health charts


def health_histories(db: StateDB, env: str) -> dict[str, list[dict[str, Any]]]:
    """Per dataset of `env` with stored data-health profiles, its newest HEALTH_HISTORY ones, oldest
    first (`app.slo.health_store.history`)."""
    from app.slo.health_store import DDL as HEALTH_DDL
    from app.slo.health_store import history

    db.ensure("slo_health_profiles", HEALTH_DDL)
    datasets = [
        r["dataset"]
        for r in db.connect().execute(
            "SELECT DISTINCT dataset FROM slo_health_profiles WHERE env = ? ORDER BY dataset", (env,)
        )
    ]
    return {d: history(db, env, d, HEALTH_HISTORY) for d in datasets}
