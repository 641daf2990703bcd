"""The SQL that measures each SLI, built with sqlglot. [pure]

Each query returns one row: `value` (the SLI), plus `detail` columns a person needs to act (the
missing partitions, the groups that disagree). `now` is passed in as epoch seconds so the same
evaluation can be replayed `--at` any time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

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


def query(
    obj: Objective,
    now: dt.datetime,
    relation: str | None = None,
    dialect: str = DIALECT,
    names: Mapping[str, str] | None = None,
) -> str | None:
    """SQL for `obj`'s SLI in `dialect` (duckdb, postgres, spark), or None when it is not measured by a
    query (see NOT_SQL). Built in DuckDB's dialect and transpiled, with `portable`'s fixes.

    `relation` overrides the dataset's table name (e.g. a versioned table being audited); `names`
    qualifies unqualified dataset names (`orders` -> `analytics.orders`), for engines without a
    search path over several schemas (Spark).
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
    if names:
        expr = expr.transform(lambda n: _qualified(n, names))
    return portable(expr, dialect).sql(dialect=dialect)


def _qualified(node: exp.Expr, names: Mapping[str, str]) -> exp.Expr:
    if isinstance(node, exp.Table) and not node.db and node.name in names:
        return table(names[node.name]).as_(node.alias) if node.alias else table(names[node.name])
    return node


def portable(expr: exp.Expr, dialect: str) -> exp.Expr:
    """`expr` (DuckDB) rewritten where sqlglot's transpile alone gives other values or invalid SQL:
    Spark's UNIX_TIMESTAMP drops the fraction of a second (UNIX_MICROS keeps it); Spark's COLLECT_LIST
    takes no ORDER BY (sorted after instead); PostgreSQL has no STRUCT (a JSON object) and slices an
    aggregate only in parentheses, and cannot FULL JOIN on IS NOT DISTINCT FROM (two equalities
    instead: NULL-ness and the key's text); Spark slices with SLICE."""
    if dialect == DIALECT:
        return expr

    def fix(node: exp.Expr) -> exp.Expr:
        if dialect == "spark" and isinstance(node, exp.TimeToUnix):
            ts = exp.Cast(this=node.this.copy(), to=exp.DataType.build("TIMESTAMP", dialect="spark"))
            return exp.Div(
                this=exp.Anonymous(this="UNIX_MICROS", expressions=[ts]),
                expression=exp.Literal.number("1000000.0"),
            )
        if dialect == "spark" and isinstance(node, (exp.ArrayAgg, exp.Filter)):
            agg = node.this if isinstance(node, exp.Filter) else node
            if isinstance(agg, exp.ArrayAgg) and isinstance(agg.this, exp.Order):
                plain = exp.ArrayAgg(this=agg.this.this.copy())
                inner = (
                    exp.Filter(this=plain, expression=node.expression.copy()) if agg is not node else plain
                )
                return exp.Anonymous(this="SORT_ARRAY", expressions=[inner])
        if dialect == "postgres" and isinstance(node, exp.NullSafeEQ) and isinstance(node.parent, exp.Join):
            left, right = node.this, node.expression

            def text(e: exp.Expr) -> exp.Expr:
                return exp.Coalesce(
                    this=exp.Cast(this=e.copy(), to=exp.DataType.build("TEXT")),
                    expressions=[exp.Literal.string("")],
                )

            nulls = exp.EQ(
                this=exp.Paren(this=exp.Is(this=left.copy(), expression=exp.Null())),
                expression=exp.Paren(this=exp.Is(this=right.copy(), expression=exp.Null())),
            )
            return exp.and_(nulls, exp.EQ(this=text(left), expression=text(right)))
        if dialect == "postgres" and isinstance(node, exp.Struct):
            pairs: list[exp.Expr] = []
            for e in node.expressions:
                pairs += [exp.Literal.string(e.this.name), e.expression.copy()]
            return exp.Anonymous(this="JSON_BUILD_OBJECT", expressions=pairs)
        if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
            cut = node.expressions[0]
            if isinstance(cut, exp.Slice) and dialect == "postgres":
                return exp.Bracket(this=exp.Paren(this=node.this.transform(fix)), expressions=[cut.copy()])
            if isinstance(cut, exp.Slice) and dialect == "spark":
                length = exp.Literal.number(int(cut.expression.name) - int(cut.this.name) + 1)
                return exp.Anonymous(
                    this="SLICE", expressions=[node.this.transform(fix), cut.this.copy(), length]
                )
        return node

    return expr.transform(fix)


def _partitions(obj: Objective, now: dt.datetime, tbl: exp.Table) -> exp.Expr:
    """How many of the last N complete partitions (hour/day/week/month) have at least one row."""
    grain = str(obj.param("grain", "day"))
    if grain not in _GRAIN_SECONDS:
        raise ValueError(f"unknown partition grain {grain!r}")  # config.py's Literal makes this unreachable
    n = int(obj.threshold)
    # the expected periods are listed, not generated: every engine reads a VALUES list alike, while
    # GENERATE_SERIES of timestamps is DuckDB's and PostgreSQL's only (Spark explodes a SEQUENCE)
    starts = _periods(_utc(now), grain, n)
    values = ", ".join(f"(CAST('{p.isoformat(sep=' ')}' AS TIMESTAMP))" for p in starts)
    return _fill(
        f"""
        WITH expected AS (
          SELECT p FROM (VALUES {values}) AS g(p)
        ), present AS (
          SELECT DISTINCT DATE_TRUNC('{grain}', CAST(:col AS TIMESTAMP)) AS p FROM :tbl
        )
        SELECT COUNT(present.p) AS value,
               LIST(CAST(expected.p AS VARCHAR) ORDER BY expected.p)
                 FILTER (WHERE present.p IS NULL) AS missing
        FROM expected LEFT JOIN present ON expected.p = present.p
        """,
        col=_col(obj.param("column")),
        tbl=tbl,
    )


def _periods(now: dt.datetime, grain: str, n: int) -> list[dt.datetime]:
    """The starts of the `n` complete periods of `grain` before the one `now` is in, oldest first (as
    DATE_TRUNC cuts them: weeks start on Monday, months on the 1st)."""
    start = now.replace(minute=0, second=0, microsecond=0)
    if grain != "hour":
        start = start.replace(hour=0)
    if grain == "week":
        start -= dt.timedelta(days=start.weekday())
    if grain == "month":
        start = start.replace(day=1)
        out = []
        y, m = start.year, start.month
        for _ in range(n):
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)
            out.append(start.replace(year=y, month=m))
        return out[::-1]
    step = dt.timedelta(seconds=_GRAIN_SECONDS[grain])
    return [start - step * k for k in range(n, 0, -1)]


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
