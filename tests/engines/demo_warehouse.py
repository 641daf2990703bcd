"""The bundled demo in a warehouse: its raw tables loaded into PostgreSQL or Spark, and a git repository
of the demo whose datacanary.yml says `engine: <kind>` and names each source's warehouse table."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import yaml

from app.demo import DemoRepo, build_demo_repo, demo_dir

SCHEMA = "shop"


def declared_sources() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load((demo_dir() / "project" / "datacanary.yml").read_text())
    return dict(config["sources"])


def warehouse_demo_repo(dest: Path, engine: str, monkeypatch: Any) -> DemoRepo:
    """The demo repository (base and head) with `engine:` and `sources.<name>.table: shop.<name>`."""
    src = dest.parent / f"{dest.name}-src"
    shutil.copytree(demo_dir(), src)
    for side in ("project", "head"):
        path = src / side / "datacanary.yml"
        text = path.read_text()
        for name in declared_sources():
            text = text.replace(f"  {name}:\n", f"  {name}:\n    table: {SCHEMA}.{name}\n")
        path.write_text(text.replace("dialect: duckdb\n", f"dialect: duckdb\nengine: {engine}\n"))
    monkeypatch.setattr("app.demo.demo_dir", lambda: src)
    return build_demo_repo(dest)


def _rows(name: str) -> tuple[list[str], list[list[str | None]]]:
    with (demo_dir() / "project" / "data" / f"{name}.csv").open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, [[v if v != "" else None for v in row] for row in reader]


def load_postgres(url: str) -> None:
    """shop.raw_* in the database at `url`, typed as datacanary.yml declares them."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        for name, spec in declared_sources().items():
            cols = ", ".join(f'"{c}" {t}' for c, t in spec["columns"].items())
            conn.execute(f'CREATE TABLE {SCHEMA}."{name}" ({cols})')
            header, rows = _rows(name)
            with conn.cursor() as cur:
                names = ", ".join(f'"{c}"' for c in header)
                with cur.copy(f'COPY {SCHEMA}."{name}" ({names}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)


def load_spark(spark: Any) -> None:
    """shop.raw_* in the Spark session's catalog, typed as datacanary.yml declares them."""
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {SCHEMA}")
    for name, spec in declared_sources().items():
        spark.sql(f"DROP TABLE IF EXISTS {SCHEMA}.{name}")
        header, rows = _rows(name)
        cols = ", ".join(f"`{c}` STRING" for c in header)
        df = spark.createDataFrame(rows, schema=cols)
        types = {"varchar": "string"}
        typed = ", ".join(f"CAST(`{c}` AS {types.get(t, t)}) AS `{c}`" for c, t in spec["columns"].items())
        df.createOrReplaceTempView(f"__raw_{name}")
        spark.sql(f"CREATE TABLE {SCHEMA}.{name} USING parquet AS SELECT {typed} FROM __raw_{name}")
        spark.catalog.dropTempView(f"__raw_{name}")
