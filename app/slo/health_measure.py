"""The edge of the health checks: profile each dataset that has health objectives in one query on the
evaluation's warehouse (DuckDB, PostgreSQL or Spark, app.runs.warehouse), and judge it against the
stored history handed in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.slo import health
from app.slo.health import Profile
from app.slo.health_sql import profile_query, read_profile
from app.slo.objectives import Objective
from app.slo.status import SliResult, Status, judge


@dataclass
class HealthRun:
    """What an evaluation's health checks read (`history(dataset)`: stored profiles, newest first) and
    what they measured (`profiles`, to be stored with the evaluation's statuses)."""

    history: Callable[[str], Sequence[Profile]]
    profiles: list[Profile] = field(default_factory=list)


def measure(
    conn: Any,
    objectives: Sequence[Objective],
    now: dt.datetime,
    run: HealthRun,
    built: Collection[str] = (),
    relations: Mapping[str, str | None] | None = None,
) -> dict[str, SliResult]:
    """Results of every health objective by key. `conn` is a Warehouse (or what app.runs.warehouse.wrap
    takes); `relations` maps a dataset to the relation that holds it (None: found nowhere), default the
    dataset's own name. A dataset found nowhere is unknown when it was never published (in `built`, no
    history), else a breach like every other SLI; one the engine cannot profile is a breach naming the
    engine's error."""
    from app.engines import EngineError
    from app.runs.warehouse import wrap

    wh = wrap(conn)
    by_dataset: dict[str, list[Objective]] = {}
    for obj in objectives:
        by_dataset.setdefault(obj.dataset, []).append(obj)
    out: dict[str, SliResult] = {}
    enums: set[str] | None = None  # the engine's enum types: one catalog query for every dataset
    for dataset, objs in by_dataset.items():
        past = run.history(dataset)
        relation = dataset if relations is None else relations.get(dataset, dataset)
        try:
            if relation is None:
                raise EngineError(wh.name, f"{dataset} not found on {wh.name}")
            cols = wh.column_types(relation)
            enums = wh.enum_types() if enums is None else enums
            record = wh.first(profile_query(relation, cols, wh.dialect, enums))
        except EngineError as exc:
            for obj in objs:
                if relation is None and not past and dataset in built:
                    out[obj.key] = judge(obj, None, reason=f"{dataset} never published in this environment")
                else:
                    out[obj.key] = SliResult(
                        obj, None, Status.BREACH, reason=f"cannot profile: {exc.message}"
                    )
            continue
        profile = read_profile(dataset, now, cols, record, wh.dialect, enums)
        run.profiles.append(profile)
        for result in health.judge_all(objs, profile, past):
            out[result.objective.key] = result
    return out
