"""Deterministic, join-preserving sampling and its coverage figures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.canary import exprs as q
from app.canary.runner import Sandbox
from app.canary.sampling import BUCKETS, bucket, python_bucket, sample_select
from app.canary.sources import load_sources
from app.project.load import load_project
from app.project.tree import MemoryTree
from tests.canary.conftest import make_table


@pytest.fixture(scope="module")
def shared_db() -> Iterator[Sandbox]:
    box = Sandbox(threads=1)
    yield box
    box.close()


@settings(max_examples=60, deadline=None)
@given(
    value=st.one_of(st.integers(-(10**12), 10**12), st.text(max_size=12), st.none()),
    seed=st.integers(0, 10**6),
)
def test_bucket_is_md5_of_seed_and_value_on_every_machine(
    shared_db: Sandbox, value: object, seed: int
) -> None:
    # DuckDB computes the same bucket as plain Python's hashlib: no dependency on DuckDB's own hash.
    got = shared_db.query(
        f"SELECT {q.sql(bucket(q.lit(value) if value is not None else q.cast(q.fn('nullif', q.lit(1), q.lit(1)), 'VARCHAR'), seed))} AS b"  # noqa: E501
    )[0]["b"]
    assert got == python_bucket(value, seed)
    assert 0 <= got < BUCKETS


def _shop(
    fraction: float, orders_key: str = "customer_id", max_rows: int | None = None, seed: int = 5
) -> MemoryTree:
    customers = "customer_id,name\n" + "".join(f"{i},c{i}\n" for i in range(1, 301))
    orders = "order_id,customer_id,amount\n" + "".join(
        f"{i},{1 + (i * 7) % 300},{i % 50}\n" for i in range(1, 1201)
    )
    cap = f", max_rows: {max_rows}" if max_rows else ""
    config = (
        "name: s\nsources:\n"
        f"  customers:\n    path: data/customers.csv\n    sample: {{key: customer_id, fraction: {fraction}{cap}}}\n"
        f"  orders:\n    path: data/orders.csv\n    sample: {{key: {orders_key}, fraction: {fraction}}}\n"
        f"canary:\n  seed: {seed}\n"
    )
    return MemoryTree({"datacanary.yml": config, "data/customers.csv": customers, "data/orders.csv": orders})


def _load(tree: MemoryTree, tmp: Path) -> tuple[Sandbox, tuple, tuple]:  # type: ignore[type-arg]
    project = load_project(tree)
    db = Sandbox(threads=1)
    tmp.mkdir(exist_ok=True)
    # as the canary does: locked down first, the sample files readable only in their private folder
    db.lock_down(memory_limit="1GB", threads=1, allowed_directories=[tmp], temp_directory=tmp / "spill")
    cov, joins, refused = load_sources(db, project, tree, tmp, project.config.canary.seed)
    assert not refused
    return db, cov, joins


def _keys(db: Sandbox, source: str, column: str) -> list:  # type: ignore[type-arg]
    return [r[column] for r in db.query(f'SELECT "{column}" FROM "source"."{source}" ORDER BY 1')]


def test_same_seed_same_sample_and_joins_survive(tmp_path: Path) -> None:
    db1, cov, joins = _load(_shop(0.3), tmp_path / "a")
    db2, _, _ = _load(_shop(0.3), tmp_path / "b")
    assert _keys(db1, "orders", "order_id") == _keys(db2, "orders", "order_id")
    kept = set(_keys(db1, "customers", "customer_id"))
    assert kept == {i for i in range(1, 301) if python_bucket(i, 5) < 0.3 * BUCKETS}
    # every sampled order's customer is sampled too
    assert set(_keys(db1, "orders", "customer_id")) <= kept
    by = {c.name: c for c in cov}
    assert by["customers"].rows_total == 300 and by["customers"].rows_sampled == len(kept)
    (j,) = joins
    assert (j.child, j.parent, j.rate) == ("orders", "customers", 1.0)


def test_other_seed_other_sample(tmp_path: Path) -> None:
    db1, _, _ = _load(_shop(0.3, seed=1), tmp_path / "a")
    db2, _, _ = _load(_shop(0.3, seed=2), tmp_path / "b")
    assert _keys(db1, "customers", "customer_id") != _keys(db2, "customers", "customer_id")


def test_sampling_on_another_key_breaks_joins_and_says_so(tmp_path: Path) -> None:
    _, _, joins = _load(_shop(0.3, orders_key="order_id"), tmp_path)
    (j,) = joins
    assert j.joinable > 0 and j.rate is not None and j.rate < 0.6


def test_max_rows_cap_is_deterministic(tmp_path: Path) -> None:
    db1, cov, _ = _load(_shop(1.0, max_rows=25), tmp_path / "a")
    db2, _, _ = _load(_shop(1.0, max_rows=25), tmp_path / "b")
    assert len(_keys(db1, "customers", "customer_id")) == 25
    assert _keys(db1, "customers", "customer_id") == _keys(db2, "customers", "customer_id")
    expected = sorted(range(1, 301), key=lambda i: python_bucket(i, 5))[:25]
    assert set(_keys(db1, "customers", "customer_id")) == set(expected)


def test_sample_select_without_key_hashes_the_row(db: Sandbox) -> None:
    make_table(db, "t", [("a", "INTEGER"), ("b", "VARCHAR")], [(i, f"x{i}") for i in range(200)])
    sql = q.sql(sample_select(q.table("t"), key=None, fraction=0.5, max_rows=None, seed=3))
    first = db.query(sql)
    assert 50 < len(first) < 150 and first == db.query(sql)


def test_parquet_and_duckdb_sources(tmp_path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(
        "CREATE SCHEMA raw; CREATE TABLE raw.items AS SELECT range AS id, range % 3 AS g FROM range(50)"
    )
    con.execute(f"COPY raw.items TO '{tmp_path / 'items.parquet'}' (FORMAT parquet)")
    con.close()
    tree = MemoryTree(
        {
            "datacanary.yml": "name: s\nsources:\n  a: {path: items.parquet}\n  b: {path: 'w.duckdb:raw.items', "
            "sample: {key: id, fraction: 0.5}}\n",
            "items.parquet": (tmp_path / "items.parquet").read_bytes(),
            "w.duckdb": (tmp_path / "w.duckdb").read_bytes(),
        }
    )
    db, cov, _ = _load(tree, tmp_path / "work")
    by = {c.name: c for c in cov}
    assert (by["a"].rows_total, by["a"].rows_sampled) == (50, 50)
    assert by["b"].rows_total == 50 and 0 < by["b"].rows_sampled < 50


def test_source_without_data_is_an_empty_typed_table(tmp_path: Path) -> None:
    tree = MemoryTree({"datacanary.yml": "name: s\nsources:\n  a: {columns: {id: bigint, at: timestamp}}\n"})
    db, cov, _ = _load(tree, tmp_path)
    assert db.columns(q.sql(q.table("a", "source"))) == [("id", "BIGINT"), ("at", "TIMESTAMP")]
    assert "no sample data" in (cov[0].note or "")
