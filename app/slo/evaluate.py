"""Measure every SLI of an environment: queries over its database (a DuckDB file opened read-only, or
PostgreSQL or Spark, in their dialect), facts from the run ledger (publish times, run cost) and the
contract's quality checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.contracts.model import Dataset
from app.slo import sli
from app.slo.durations import humanize
from app.slo.objectives import Objective
from app.slo.status import Evaluation, SliResult, Status, judge

if TYPE_CHECKING:
    from app.slo.health_measure import HealthRun

# (severity, passed) of each quality rule of a dataset, or None when they cannot be checked
QualityCheck = Callable[[str], Sequence[tuple[str, bool]] | None]


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the run ledger knows about a dataset's latest published run."""

    published_at: dt.datetime | None = None
    duration_seconds: float | None = None
    rows_written: float | None = None
    version: str | None = None


def weighted_pass_rate(outcomes: Sequence[tuple[str, bool]], weights: Mapping[str, float]) -> float | None:
    """Share of rule weight that passed; a severity without a weight counts 1. [pure]

    >>> weighted_pass_rate([("error", True), ("warning", False)], {"error": 3, "warning": 1})
    0.75
    """
    total = sum(weights.get(sev, 1.0) for sev, _ in outcomes)
    if total <= 0:
        return None
    return sum(weights.get(sev, 1.0) for sev, ok in outcomes if ok) / total


def measure_facts(
    obj: Objective, now: dt.datetime, facts: RunFacts | None, quality: QualityCheck | None
) -> SliResult:
    """SLIs that come from the ledger or from quality checks rather than from one query. [pure]"""
    if obj.sli in ("frequency", "freshness"):  # freshness without a column: the age of the last publish
        if facts is None or facts.published_at is None:
            return judge(obj, None, reason="never published by `datacanary run` in this environment")
        return ahead_of_time(
            obj,
            (now - facts.published_at).total_seconds(),
            {"published_at": facts.published_at.isoformat(), "version": facts.version},
        )
    if obj.sli == "cost.bytes":  # the old `max_bytes` key: said plainly, never a made-up number
        return judge(
            obj,
            None,
            reason="DuckDB reports no size in bytes for a table, so cost.max_bytes is not measured:"
            " use cost.max_rows (rows the run wrote)",
        )
    if obj.sli in ("cost.duration", "cost.rows"):
        value = (
            None
            if facts is None
            else (facts.duration_seconds if obj.sli == "cost.duration" else facts.rows_written)
        )
        return judge(
            obj,
            value,
            {"version": facts.version if facts else None},
            reason=None if value is not None else "no run of this dataset in the run ledger",
        )
    if obj.sli == "correctness":
        outcomes = quality(obj.dataset) if quality is not None else None
        if not outcomes:
            return judge(obj, None, reason="no quality rules could be checked")
        weights = dict(obj.param("weights", (("error", 3.0), ("warning", 1.0), ("info", 0.0))))
        failed = [sev for sev, ok in outcomes if not ok]
        return judge(
            obj,
            weighted_pass_rate(outcomes, weights),
            {"rules": len(outcomes), "failed": len(failed), "failed_by_severity": _count(failed)},
        )
    raise ValueError(f"{obj.sli} is measured by a query")


def _count(items: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


def evaluate(
    database: Any,
    env: str,
    objectives: Sequence[Objective],
    now: dt.datetime,
    facts: Mapping[str, RunFacts] | None = None,
    contracts: Mapping[str, Dataset] | None = None,
    schema: str = "main",
    source_schema: str = "main",
    built: Collection[str] = (),
    health: HealthRun | None = None,
) -> Evaluation:
    """Measure every objective at `now` in `database` (a DuckDB file's path, opened read-only, or an
    open app.runs.warehouse.Warehouse, not closed here); datasets resolve in `schema`
    (where `datacanary run` publishes them) and then `source_schema`. `built` names the datasets
    `datacanary run` builds: one missing with no publish in `facts` is unknown (never published), not
    a breach. `health` holds the stored profiles the health objectives compare with, and collects the
    profiles measured now."""
    from app.engines import EngineError
    from app.runs.audit import outcomes, run_checks
    from app.runs.envdb import open_env
    from app.runs.warehouse import DuckDBWarehouse, Warehouse
    from app.slo.health import SLIS
    from app.slo.health_measure import HealthRun

    facts = facts or {}
    contracts = contracts or {}
    results: list[SliResult] = []
    own = not isinstance(database, Warehouse)
    conn = DuckDBWarehouse(open_env(database, read_only=True)) if own else database

    def quality(dataset: str) -> Sequence[tuple[str, bool]] | None:
        if dataset not in contracts:
            return None
        try:
            return outcomes(run_checks(conn, contracts[dataset], f"{schema}.{dataset}"))
        except EngineError:
            return None  # the dataset cannot be read: its other SLIs say so

    try:
        conn.use(schema, source_schema)  # a schema no run has created yet is left out
        checks = [o for o in objectives if o.sli in SLIS]
        healthy = (
            _health(conn, checks, now, health or HealthRun(lambda d: ()), built, (schema, source_schema))
            if checks
            else {}
        )
        for obj in objectives:
            if obj.key in healthy:
                results.append(healthy[obj.key])
                continue
            datasets = obj.datasets or (obj.dataset,)
            names, missing = _resolve(conn, datasets, (schema, source_schema))
            sql = sli.query(obj, now, dialect=conn.dialect, names=names)
            if sql is None:
                results.append(measure_facts(obj, now, facts.get(obj.dataset), quality))
                continue
            never = [d for d in datasets if d in built and d not in facts]
            results.append(_run(conn, obj, sql, never, missing))
    finally:
        if own:
            conn.close()
    return Evaluation(env=env, at=now, results=tuple(results))


def _health(
    conn: Any,
    checks: Sequence[Objective],
    now: dt.datetime,
    run: Any,
    built: Collection[str],
    schemas: Sequence[str] = ("main",),
) -> dict[str, SliResult]:
    """The data-health SLIs (app.slo.health_measure), profiled on the environment's engine, each dataset
    resolved in `schemas` like every other SLI's."""
    from app.slo.health_measure import measure

    datasets = list(dict.fromkeys(o.dataset for o in checks))
    names, missing = _resolve(conn, datasets, schemas)
    relations = {d: None if d in missing else names.get(d, d) for d in datasets}
    return measure(conn, checks, now, run, built, relations)


def _resolve(conn: Any, datasets: Sequence[str], schemas: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Each unqualified dataset as `schema.dataset` of the first of `schemas` that has it, and the
    datasets found nowhere (a qualified name is looked up in its own schema)."""
    names: dict[str, str] = {}
    missing = []
    for d in datasets:
        where = [(d.rsplit(".", 1)[0], d.rsplit(".", 1)[1])] if "." in d else [(s, d) for s in schemas]
        found = next((f"{s}.{t}" for s, t in where if conn.kind(s, t) is not None), None)
        if found is None:
            missing.append(d)
        elif "." not in d:
            names[d] = found
    return names, missing


def _run(
    conn: Any, obj: Objective, sql: str, never_published: Sequence[str] = (), missing: Sequence[str] = ()
) -> SliResult:
    from app.engines import EngineError

    if missing:
        if never_published:  # nothing was ever there to be late or incomplete: no data, not an outage
            return judge(
                obj,
                None,
                {"never_published": list(never_published)},
                reason=f"{', '.join(never_published)} never published by `datacanary run` in this environment",
            )
        # a dataset that was published and is gone is the worst breach there is, not an unknown
        return SliResult(
            obj, None, Status.BREACH, reason=f"cannot read: {', '.join(missing)} not found on {conn.name}"
        )
    try:
        row = conn.first(sql)
    except EngineError as exc:
        return judge(obj, None, reason=f"query failed: {exc.message}")
    record = dict(row)
    value = record.pop("value", None)
    return ahead_of_time(obj, None if value is None else float(value), record)


# SLIs that are an age at the evaluation time: a negative age means data stamped after that time
_AGES = frozenset({"freshness", "frequency", "retention"})


def ahead_of_time(obj: Objective, value: float | None, detail: Mapping[str, Any]) -> SliResult:
    """Judge `value`, except that a negative age (data stamped after `--at`, or clock skew) is unknown
    with the reason said, never a good freshness. [pure]"""
    if obj.sli not in _AGES or value is None or value >= 0:
        return judge(obj, value, detail)
    return judge(
        obj,
        None,
        {**detail, "ahead_seconds": -value},
        reason=f"data is stamped {humanize(-value)} after the evaluation time (evaluated --at a time"
        " before the data, or the clocks disagree): cannot judge its age",
    )
