"""A small project with a `prod` environment whose DuckDB file holds the sources."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFIG = """
name: shop
sources:
  raw_orders:
    columns: {order_id: bigint, amount: double, ordered_at: timestamp}
environments:
  prod:
    parameters: {data: prod.duckdb, schema: analytics}
slos:
  orders:
    freshness: {column: ordered_at, max_lag: 2h}
    completeness: {min_rows: 3}
invariants:
  - name: revenue_matches_orders
    left: {dataset: orders, measure: sum(amount)}
    right: {dataset: revenue, measure: sum(total)}
    tolerance: {absolute: 0.01}
"""

CONTRACT = """
apiVersion: v3.1.0
kind: DataContract
id: orders
name: Orders
version: 1.0.0
status: active
team:
  name: sales
  members:
    - username: ada-lovelace
      role: owner
schema:
  - name: orders
    properties:
      - name: order_id
        logicalType: integer
        required: true
        unique: true
      - name: amount
        logicalType: number
        required: true
      - name: ordered_at
        logicalType: timestamp
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    import duckdb

    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "contracts").mkdir()
    (root / "datacanary.yml").write_text(CONFIG)
    (root / "contracts" / "orders.odcs.yaml").write_text(CONTRACT)
    (root / "models" / "orders.sql").write_text("select order_id, amount, ordered_at from raw_orders\n")
    (root / "models" / "revenue.sql").write_text(
        "select cast(ordered_at as date) as day, sum(amount) as total from orders group by 1\n"
    )
    conn = duckdb.connect(str(root / "prod.duckdb"))
    conn.execute(
        "CREATE TABLE raw_orders AS SELECT range AS order_id, 10.0 AS amount, "
        "TIMESTAMP '2026-11-25 11:00:00' - range * INTERVAL 1 HOUR AS ordered_at FROM range(5)"
    )
    conn.close()
    return root
