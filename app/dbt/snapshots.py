"""A snapshot's output as its readers see it: the compiled select plus dbt's meta columns
(`dbt_scd_id`, `dbt_updated_at`, `dbt_valid_from`, `dbt_valid_to`, and `dbt_is_deleted` with
`hard_deletes: new_record`), so models reading a snapshot's history resolve their columns."""

from __future__ import annotations

import json

from sqlglot import exp

from app.dbt.nodes import DbtModel

_META = (
    ("dbt_scd_id", "varchar"),
    ("dbt_updated_at", "timestamp"),
    ("dbt_valid_from", "timestamp"),
    ("dbt_valid_to", "timestamp"),
)


def snapshot_sql(sql: str, snapshot: DbtModel, dialect: str) -> str:
    """`sql` (the snapshot's compiled select) with the meta columns, null in a canary run."""
    config = {k: json.loads(v) for k, v in snapshot.config}
    renamed = config.get("snapshot_meta_column_names") or {}
    columns = list(_META)
    if config.get("hard_deletes") == "new_record":
        columns.append(("dbt_is_deleted", "varchar"))
    meta = ", ".join(
        exp.cast(exp.null(), kind).as_(str(renamed.get(name) or name)).sql(dialect=dialect)
        for name, kind in columns
    )
    # wrapped as text, not regenerated, so the select keeps its own lines for findings
    return f"select dbt_snapshot.*, {meta} from ({sql}\n) as dbt_snapshot"
