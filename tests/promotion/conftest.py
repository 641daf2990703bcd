"""A small shop project with three environments, each with its own DuckDB file of source data."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.state import StateDB

CONFIG = """\
name: shop
dialect: duckdb
sources:
  raw_orders:
    sample: {key: customer_id}
    columns: {order_id: bigint, customer_id: bigint, amount: double, status: varchar}
  raw_customers:
    sample: {key: customer_id}
    columns: {customer_id: bigint, country: varchar}
canary:
  thresholds: {changed_rows_pct: 5, row_count_change_pct: 10}
parameters:
  schema: analytics
  data: null
  sample_fraction: 1.0
  warehouse_size: small
environments:
  dev:
    parameters: {schema: dev, data: data/dev.duckdb}
  staging:
    parameters: {schema: staging, data: data/staging.duckdb, warehouse_size: medium}
  prod:
    parameters: {schema: prod, data: data/prod.duckdb, sample_fraction: 0.5, warehouse_size: large}
"""

ORDERS_SQL = """\
select o.order_id, o.customer_id, c.country, o.amount
from raw_orders as o
left join raw_customers as c on c.customer_id = o.customer_id
where o.status <> 'cancelled'
"""

REVENUE_SQL = """\
select country, sum(amount) as revenue, count(*) as orders
from fct_orders
group by country
"""

CONTRACT = """\
apiVersion: v3.0.2
kind: DataContract
id: fct_orders
name: fct_orders
version: 1.0.0
status: active
schema:
  - name: fct_orders
    properties:
      - name: order_id
        logicalType: integer
        physicalType: bigint
        required: true
        primaryKey: true
      - name: customer_id
        logicalType: integer
        physicalType: bigint
      - name: country
        logicalType: string
        physicalType: varchar
      - name: amount
        logicalType: number
        physicalType: double
"""


def write_project(root: Path, config: str = CONFIG, orders_sql: str = ORDERS_SQL) -> Path:
    """Write the shop project's files under `root` (no data)."""
    (root / "models" / "marts").mkdir(parents=True, exist_ok=True)
    (root / "contracts").mkdir(parents=True, exist_ok=True)
    (root / "datacanary.yml").write_text(config)
    (root / "models" / "fct_orders.sql").write_text(orders_sql)
    (root / "models" / "marts" / "revenue.sql").write_text(REVENUE_SQL)
    (root / "contracts" / "fct_orders.odcs.yaml").write_text(CONTRACT)
    return root


def write_env_data(path: Path, customers: int = 40, orphan_every: int = 0) -> None:
    """A DuckDB file with raw_orders and raw_customers; `orphan_every` drops every Nth customer."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    con.execute(
        "create table raw_customers as select i::bigint as customer_id,"
        " (['NL','DE','FR','US'])[1 + i % 4] as country from range(1, ? + 1) t(i)"
        + (" where i % ? <> 0" if orphan_every else ""),
        [customers, orphan_every] if orphan_every else [customers],
    )
    con.execute(
        "create table raw_orders as select i::bigint as order_id, (1 + i % ?)::bigint as customer_id,"
        " (i % 97) * 1.5 as amount, case when i % 10 = 0 then 'cancelled' else 'paid' end as status"
        " from range(1, ? + 1) t(i)",
        [customers, customers * 5],
    )
    con.close()


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """The shop project with dev, staging and prod data."""
    root = write_project(tmp_path / "shop")
    for env in ("dev", "staging", "prod"):
        write_env_data(root / "data" / f"{env}.duckdb")
    return root


@pytest.fixture
def state(tmp_path: Path) -> StateDB:
    db = StateDB(tmp_path / "state" / "state.sqlite")
    yield db
    db.close()
