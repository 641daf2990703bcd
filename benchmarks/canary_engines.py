"""Benchmark: the canary in PostgreSQL against the canary in DuckDB, same project, same run.

Two projects, each run by `datacanary check` as a whole process, once with `engine: duckdb` (sample files
read into the embedded sandbox) and once with `engine: postgres` (the same rows as tables in a real
PostgreSQL, sampled, built and reconciled there, scratch schemas created and dropped):

  demo    the bundled shop (3 sources, 6 models, 3 in the canary)
  N       benchmarks/lineage.py's generated project (`--models`, default 100), every staging model changed

The server is a throwaway cluster from Debian's binaries (tests/support/services.py), or
DATACANARY_BENCH_POSTGRES_URL (a superuser's URL). Prints time and peak memory of each run, and the ratio.

    python benchmarks/canary_engines.py
    python benchmarks/canary_engines.py --models 100 --rows 2000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from canary import add_data, change_every_staging, timed  # noqa: E402
from lineage import _git, generate  # noqa: E402

PG_TYPES = {"double": "double precision", "varchar": "text"}


class _Patch:
    def setattr(self, name: str, value: Any) -> None:
        import importlib

        module, attr = name.rsplit(".", 1)
        setattr(importlib.import_module(module), attr, value)


def _check(repo: Path, env: dict[str, str]) -> tuple[float, float, dict[str, Any]]:
    cmd = [sys.executable, "-m", "app.cli", "check", "--project", str(repo), "--base", "HEAD~1", "--head",
           "HEAD", "--format", "json", "--quiet"]  # fmt: skip
    old = dict(os.environ)
    os.environ.update(env)
    try:
        seconds, mb, out = timed(cmd, ROOT)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return seconds, mb, json.loads(out)


def _line(label: str, seconds: float, mb: float, report: dict[str, Any]) -> str:
    models = (report.get("canary") or {}).get("models", [])
    built = sum(1 for m in models if (m.get("head") or {}).get("status") == "built")
    return f"  {label:<9}{seconds:7.2f} s  {mb:6.0f} MB   ({len(models)} models in the canary, {built} built)"


def _demo(tmp: Path, url: str) -> None:
    from app.demo import build_demo_repo
    from tests.engines.demo_warehouse import load_postgres, warehouse_demo_repo

    duck = build_demo_repo(tmp / "demo-duck")
    db = _database(url, "bench_demo")
    load_postgres(db)
    pg = warehouse_demo_repo(tmp / "demo-pg", "postgres", _Patch())
    # build_demo_repo leaves the branch checked out: HEAD~1 is the base
    d = _check(duck.path, {})
    p = _check(pg.path, {"DATACANARY_POSTGRES_URL": db})
    print("demo (3 sources, 6 models)")
    print(_line("duckdb", *d))
    print(_line("postgres", *p) + f"   = {p[0] / d[0]:.1f}x DuckDB")


def _database(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"


def _generated(tmp: Path, url: str, models: int, rows: int) -> None:
    import duckdb
    import psycopg
    import yaml

    duck = tmp / "gen-duck"
    duck.mkdir()
    generate(duck, models)
    add_data(duck, rows)
    pg = tmp / "gen-pg"
    pg.mkdir()
    generate(pg, models)
    config = yaml.safe_load((duck / "datacanary.yml").read_text())
    db = _database(url, "bench_generated")
    con = duckdb.connect()
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA bench")
        for name, spec in config["sources"].items():
            cols = ", ".join(f'"{c}" {PG_TYPES.get(t, t)}' for c, t in spec["columns"].items())
            conn.execute(f'CREATE TABLE bench."{name}" ({cols})')
            data = con.execute(f"SELECT * FROM read_parquet('{duck / spec['path']}')").fetchall()
            with conn.cursor() as cur, cur.copy(f'COPY bench."{name}" FROM STDIN') as copy:
                for row in data:
                    copy.write_row(row)
            spec.pop("path")
            spec["table"] = f"bench.{name}"
    config["engine"] = "postgres"
    (pg / "datacanary.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    for root in (duck, pg):
        _git(root, "init", "-q", "-b", "main")
        _git(root, "add", ".")
        _git(root, "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-q", "-m", "base")
        change_every_staging(root)
        _git(root, "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qam", "head")
    d = _check(duck, {})
    p = _check(pg, {"DATACANARY_POSTGRES_URL": db})
    print(f"generated ({models} models, {len(config['sources'])} sources of {rows:,} rows)")
    print(_line("duckdb", *d))
    print(_line("postgres", *p) + f"   = {p[0] / d[0]:.1f}x DuckDB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--rows", type=int, default=2000, help="rows per source (default 2,000)")
    args = ap.parse_args()
    url = os.environ.get("DATACANARY_BENCH_POSTGRES_URL")
    server = None
    if not url:
        from tests.support.services import PostgresServer

        server = PostgresServer()
        url = server.url
    try:
        with tempfile.TemporaryDirectory(prefix="datacanary-bench-") as tmp:
            _demo(Path(tmp), url)
            _generated(Path(tmp), url, args.models, args.rows)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
