"""The edge of the health checks: profile each dataset that has health objectives in one query on the
evaluation's connection, and judge it against the stored history handed in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.slo import health
from app.slo.health import Profile
from app.slo.health_sql import profile_query, read_profile
from app.slo.objectives import Objective
from app.slo.sli import table
from app.slo.status import SliResult, Status, judge


@dataclass
class HealthRun:
    """What an evaluation's health checks read (`history(dataset)`: stored profiles, newest first) and
    what they measured (`profiles`, to be stored with the evaluation's statuses)."""

    history: Callable[[str], Sequence[Profile]]
    profiles: list[Profile] = field(default_factory=list)


def _columns(conn: Any, relation: str) -> list[tuple[str, str]]:
    cur = conn.execute(f"SELECT * FROM {table(relation).sql(dialect='duckdb')} LIMIT 0")
    return [(d[0], str(d[1])) for d in cur.description]


def measure(
    conn: Any, objectives: Sequence[Objective], now: dt.datetime, run: HealthRun, built: Collection[str] = ()
) -> dict[str, SliResult]:
    """Results of every health objective by key; a dataset that cannot be read is unknown when it was
    never published (in `built`, no history), else a breach like every other SLI."""
    import duckdb

    by_dataset: dict[str, list[Objective]] = {}
    for obj in objectives:
        by_dataset.setdefault(obj.dataset, []).append(obj)
    out: dict[str, SliResult] = {}
    for dataset, objs in by_dataset.items():
        past = run.history(dataset)
        try:
            cols = _columns(conn, dataset)
            row = conn.execute(profile_query(dataset, cols))
            names = [d[0] for d in row.description]
            record = dict(zip(names, row.fetchone() or (), strict=False))
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            for obj in objs:
                if isinstance(exc, duckdb.CatalogException) and not past and dataset in built:
                    out[obj.key] = judge(obj, None, reason=f"{dataset} never published in this environment")
                else:
                    out[obj.key] = SliResult(obj, None, Status.BREACH, reason=f"cannot profile: {first}")
            continue
        profile = read_profile(dataset, now, cols, record)
        run.profiles.append(profile)
        for result in health.judge_all(objs, profile, past):
            out[result.objective.key] = result
    return out
