"""Output columns whose values change on every run: computed from a volatile function (`now()`,
`current_timestamp`, `current_date`, `random()`, `uuid()`, `gen_random_uuid()`, ...) or a value dbt
renders per invocation (`'{{ invocation_id }}'`, `'{{ run_started_at }}'`), directly, through CTEs, or
through an upstream model's column. Base and head can never agree on them, so the canary leaves them
out of its comparison and says so. [pure]
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, build_scope

from app.sql.analysis import Analysis, ColumnRef, ModelAnalysis
from app.sql.dag import closure
from app.sql.lineage import _Walker

_FUNCTIONS: tuple[type[exp.Expr], ...] = (
    exp.CurrentTimestamp,
    exp.CurrentTimestampLTZ,
    exp.CurrentDate,
    exp.CurrentDatetime,
    exp.CurrentTime,
    exp.Localtime,
    exp.Localtimestamp,
    exp.Rand,
    exp.Randn,
    exp.Randstr,
    exp.Uuid,
)
# spelled as plain function calls by some dialects (sqlglot keeps them as Anonymous)
_NAMES = frozenset(
    {
        "now",
        "get_current_timestamp",
        "transaction_timestamp",
        "statement_timestamp",
        "clock_timestamp",
        "timeofday",
        "sysdate",
        "systimestamp",
        "sysdatetime",
        "sysutcdatetime",
        "getutcdate",
        "uuid_generate_v4",
        "random_uuid",
        "newsequentialid",
        "current_timestamp_utc",
    }
)
# dbt renders these per invocation: `invocation_id` (a UUID), `run_started_at` (a UTC timestamp to us)
_INVOCATION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_RUN_STARTED = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$")
# cheap test on the SQL text before any tree is rebuilt: most models have none of these
_MAYBE = re.compile(
    r"\b(current_(timestamp|date|time|datetime)\w*|localtime\w*|now|today|rand\w*|random\w*|\w*uuid\w*|"
    r"newid|newsequentialid|sys(date|timestamp|datetime|utcdatetime)|get(utc)?date|timeofday|"
    r"(clock|transaction|statement|get_current)_timestamp)\b"
    r"|'[0-9a-f]{8}-[0-9a-f]{4}-|'\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}\.\d{6}\+00:00'",
    re.I,
)
_PSEUDO = ""  # the table of a pseudo column standing for a volatile value in lineage


def volatile_reason(node: exp.Expr) -> str | None:
    """Why `node` itself yields a new value on every run, or None."""
    if isinstance(node, _FUNCTIONS):
        return node.sql(dialect="duckdb").lower()
    if isinstance(node, exp.Anonymous) and node.name.lower() in _NAMES:
        return f"{node.name.lower()}()"
    if isinstance(node, exp.Literal) and node.is_string:
        if _INVOCATION_ID.match(node.this):
            return "dbt's invocation_id"
        if _RUN_STARTED.match(node.this):
            return "dbt's run_started_at"
    return None


class _VolatileWalker(_Walker):
    """Lineage where every volatile value is a column of its own, (`""`, why)."""

    def expr_refs(self, scope: Scope, node: exp.Expr) -> frozenset[ColumnRef]:
        found = set(super().expr_refs(scope, node))
        for n in node.walk(prune=lambda n: isinstance(n, exp.Query) and n is not node):
            why = volatile_reason(n)
            if why is not None:
                found.add((_PSEUDO, why))
        return frozenset(found)


def _direct(model: ModelAnalysis) -> dict[str, str]:
    """Output columns of `model` computed from a volatile value in its own SQL (through its CTEs)."""
    if not _MAYBE.search(model.sql):
        return {}
    query = model.qualified
    root = build_scope(query)
    if root is None:  # pragma: no cover - analysed models are queries
        return {}
    walker = _VolatileWalker(root, model.reads_tables)
    out = {}
    for name in query.named_selects:
        reasons = sorted(why for table, why in walker.output(root, name) if table == _PSEUDO)
        if reasons:
            out[name] = reasons[0]
    return out


def volatile_columns(an: Analysis, only: set[str] | None = None) -> dict[str, dict[str, str]]:
    """model -> output column -> why its values differ on every run (`current_timestamp()`, or
    `stg_customers.extracted_on: current_date()` for one read from an upstream model), for the models
    of `only` (default: all) and what they read."""
    edges = {n: m.upstream for n, m in an.models.items()}
    wanted = None if only is None else set(only) | closure(only, edges)
    out: dict[str, dict[str, str]] = {}
    for name in an.order:
        if wanted is not None and name not in wanted:
            continue
        model = an.models[name]
        found = _direct(model)
        for column in model.column_names:
            if column in found:
                continue
            for table, up in sorted(model.lineage.get(column, ())):
                why = out.get(table, {}).get(up)
                if why is not None:
                    found[column] = f"{table}.{up}: {why.split(': ')[-1]}"
                    break
        if found:
            out[name] = found
    return out


def excluded_columns(
    base: Analysis | None, head: Analysis, only: set[str] | None = None
) -> Mapping[str, Mapping[str, str]]:
    """`volatile_columns` of head, with those of base for columns only base computes so."""
    found = volatile_columns(head, only)
    if base is not None:
        for model, cols in volatile_columns(base, only).items():
            for column, why in cols.items():
                found.setdefault(model, {}).setdefault(column, why)
    return found
