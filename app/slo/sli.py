"""The SQL that measures each SLI, built with sqlglot. [pure]

Each query returns one row: `value` (the SLI), plus `detail` columns a person needs to act (the
missing partitions, the groups that disagree). `now` is passed in as epoch seconds so the same
evaluation can be replayed `--at` any time.
"""

from __future__ import annotations

import datetime as dt

import sqlglot
from sqlglot import exp

from app.project.config import InvariantConfig, InvariantSide
from app.slo.objectives import Objective

DIALECT = "duckdb"
# SLIs measured from the run ledger or the quality checks rather than from one query over the data
NOT_SQL = frozenset({"frequency", "cost.duration", "cost.rows", "cost.bytes", "correctness"})
_GRAIN_SECONDS = {"hour": 3600, "day": 86400, "week": 604800, "month": 2592000}


def table(name: str) -> exp.Table:
    """A dataset name (`orders` or `analytics.orders`) as a properly quoted table reference."""
    parts = name.split(".")
    return exp.table_(
        parts[-1],
        db=parts[-2] if len(parts) > 1 else None,
        catalog=parts[-3] if len(parts) > 2 else None,
        quoted=True,
    )


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _utc(now: dt.datetime) -> dt.datetime:
    """Naive UTC: DuckDB's EPOCH() of a naive TIMESTAMP reads it as UTC, whatever the session time zone."""
    return now if now.tzinfo is None else now.astimezone(dt.UTC).replace(tzinfo=None)


def _epoch(now: dt.datetime) -> exp.Expr:
    return exp.Literal.number(f"{(_utc(now) - dt.datetime(1970, 1, 1)).total_seconds():.6f}")


def _timestamp(now: dt.datetime) -> exp.Literal:
    return exp.Literal.string(_utc(now).isoformat(sep=" "))


def _fill(template: str, **values: exp.Expr) -> exp.Expr:
    return exp.replace_placeholders(sqlglot.parse_one(template, read=DIALECT), **values)


def query(obj: Objective, now: dt.datetime, relation: str | None = None) -> str | None:
    """DuckDB SQL for `obj`'s SLI, or None when it is not measured by a query (see NOT_SQL).

    `relation` overrides the dataset's table name (e.g. a versioned table being audited).
    """
    if obj.sli in NOT_SQL or (obj.sli == "freshness" and not obj.param("column")):
        return None
    tbl = table(relation or obj.dataset)
    now_e = _epoch(now)
    if obj.sli == "freshness":  # seconds since the newest row
        expr = _fill(
            "SELECT CAST(:now AS DOUBLE) - EPOCH(MAX(:col)) AS value, MAX(:col) AS newest FROM :tbl",
            now=now_e,
            col=_col(obj.param("column")),
            tbl=tbl,
        )
    elif obj.sli == "retention":  # age of the oldest row still kept
        expr = _fill(
            "SELECT CAST(:now AS DOUBLE) - EPOCH(MIN(:col)) AS value, MIN(:col) AS oldest FROM :tbl",
            now=now_e,
            col=_col(obj.param("column")),
            tbl=tbl,
        )
    elif obj.sli == "completeness.rows":
        expr = _fill("SELECT COUNT(*) AS value FROM :tbl", tbl=tbl)
    elif obj.sli == "completeness.partitions":
        expr = _partitions(obj, now, tbl)
    elif obj.sli == "completeness.late_arrival":
        expr = _late_arrival(obj, now_e, tbl)
    elif obj.sli == "consistency":
        inv: InvariantConfig = obj.param("invariant")
        expr = consistency(inv)
    else:
        raise ValueError(f"unknown SLI {obj.sli!r}")  # a programming error: objectives.py names them all
    return expr.sql(dialect=DIALECT)


def _partitions(obj: Objective, now: dt.datetime, tbl: exp.Table) -> exp.Expr:
    """How many of the last N complete partitions (hour/day/week/month) have at least one row."""
    grain = str(obj.param("grain", "day"))
    if grain not in _GRAIN_SECONDS:
        raise ValueError(f"unknown partition grain {grain!r}")  # config.py's Literal makes this unreachable
    n = int(obj.threshold)
    return _fill(
        f"""
        WITH expected AS (
          SELECT p FROM generate_series(
            DATE_TRUNC('{grain}', CAST(:now AS TIMESTAMP)) - :n * INTERVAL 1 {grain},
            DATE_TRUNC('{grain}', CAST(:now AS TIMESTAMP)) - INTERVAL 1 {grain},
            INTERVAL 1 {grain}) AS g(p)
        ), present AS (
          SELECT DISTINCT DATE_TRUNC('{grain}', CAST(:col AS TIMESTAMP)) AS p FROM :tbl
        )
        SELECT COUNT(present.p) AS value,
               LIST(CAST(expected.p AS VARCHAR) ORDER BY expected.p)
                 FILTER (WHERE present.p IS NULL) AS missing
        FROM expected LEFT JOIN present ON expected.p = present.p
        """,
        now=_timestamp(now),
        n=exp.Literal.number(n),
        col=_col(obj.param("column")),
        tbl=tbl,
    )


def _late_arrival(obj: Objective, now_e: exp.Expr, tbl: exp.Table) -> exp.Expr:
    """Share of rows that arrived within `lookback` whose arrival is more than `max_delay` after the event."""
    return _fill(
        """
        SELECT AVG(CASE WHEN EPOCH(:arr) - EPOCH(:evt) > :delay THEN 1.0 ELSE 0.0 END) AS value,
               COUNT(*) AS arrived,
               COUNT(*) FILTER (WHERE EPOCH(:arr) - EPOCH(:evt) > :delay) AS late
        FROM :tbl
        WHERE EPOCH(:arr) >= CAST(:now AS DOUBLE) - :lookback AND EPOCH(:arr) <= CAST(:now AS DOUBLE)
        """,
        arr=_col(obj.param("arrival_column")),
        evt=_col(obj.param("event_column")),
        delay=exp.Literal.number(obj.param("max_delay")),
        lookback=exp.Literal.number(obj.param("lookback")),
        now=now_e,
        tbl=tbl,
    )


def _side(side: InvariantSide) -> exp.Select:
    measure = sqlglot.parse_one(side.measure, read=DIALECT)
    key: exp.Expr = sqlglot.parse_one(side.by, read=DIALECT) if side.by else exp.Literal.number(1)
    select = exp.select(exp.alias_(key, "k"), exp.alias_(measure, "v")).from_(table(side.dataset))
    if side.where:
        select = select.where(sqlglot.parse_one(side.where, read=DIALECT))
    return select.group_by(exp.Literal.number(1))


def consistency(inv: InvariantConfig) -> exp.Expr:
    """Groups where the two aggregates disagree beyond the tolerance (a group missing on one side is 0)."""
    abs_tol = inv.tolerance.absolute if inv.tolerance.absolute is not None else 0.0
    rel_tol = inv.tolerance.relative if inv.tolerance.relative is not None else 0.0
    return _fill(
        """
        WITH l AS (:left), r AS (:right), j AS (
          SELECT COALESCE(l.k, r.k) AS k, COALESCE(l.v, 0) AS lv, COALESCE(r.v, 0) AS rv
          FROM l FULL OUTER JOIN r ON l.k IS NOT DISTINCT FROM r.k
        ), bad AS (
          SELECT * FROM j WHERE ABS(lv - rv) > GREATEST(:abs, :rel * GREATEST(ABS(lv), ABS(rv)))
        )
        SELECT (SELECT COUNT(*) FROM bad) AS value,
               (SELECT COUNT(*) FROM j) AS groups,
               (SELECT LIST(STRUCT_PACK(k := CAST(k AS VARCHAR), left := lv, right := rv) ORDER BY k)[1:5]
                  FROM bad) AS examples
        """,
        left=_side(inv.left),
        right=_side(inv.right),
        abs=exp.Literal.number(abs_tol),
        rel=exp.Literal.number(rel_tol),
    )
