"""Benchmark: loading CSV sample files the way the canary does (their columns, their rows counted, their
sample taken: three reads), with the file sniffed once (`Sandbox.source`) against a plain read_csv that
DuckDB sniffs on every read, in one run.

    python benchmarks/csv_sources.py

Files: the demo's three CSVs (400-1,900 rows: DuckDB 2.0's sniffer is at its slowest there) and generated
ones of 2,000, 20,000 and 200,000 rows with an integer, a text, a decimal and a timestamp column.
Baseline: the same three reads of the same rows from Parquet (nothing to sniff).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from reconcile import best  # noqa: E402

from app.canary.inputs import TableSpec  # noqa: E402
from app.canary.runner import Sandbox  # noqa: E402


def three_reads(db: Sandbox, reader: str) -> None:
    db.query(f"DESCRIBE SELECT * FROM {reader}")
    db.query(f"SELECT count(*) AS n FROM {reader}")
    db.execute(
        f"CREATE OR REPLACE TEMP TABLE __s AS SELECT * FROM {reader} USING SAMPLE 50 PERCENT (bernoulli)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="datacanary-csv-") as tmp:
        work = Path(tmp)
        db = Sandbox(threads=2)
        files = sorted((ROOT / "fixtures" / "demo" / "project" / "data").glob("*.csv"))
        for rows in (2_000, 20_000, 200_000):
            path = work / f"generated_{rows}.csv"
            db.execute(
                f"COPY (SELECT i AS id, 'v' || (i % 97) AS name, (i % 10000)::DECIMAL(12, 2) AS amount, "
                f"TIMESTAMP '2026-01-01' + to_seconds(i) AS at FROM range({rows}) t(i)) TO '{path}'"
            )
            files.append(path)
        print(f"{'file':28s} {'rows':>8s} {'plain':>9s} {'sniffed once':>13s} {'parquet':>9s}  once / plain")
        for path in files:
            parquet = work / (path.stem + ".parquet")
            db.execute(f"COPY (SELECT * FROM read_csv('{path}')) TO '{parquet}' (FORMAT parquet)")
            n = db.query(f"SELECT count(*) AS n FROM read_csv('{path}')")[0]["n"]
            plain = best(lambda p=path: three_reads(db, f"read_csv('{p}')"), 5)
            once = best(lambda p=path: three_reads(db, db.source(TableSpec(str(p), "csv"), "b")), 5)
            floor = best(lambda p=parquet: three_reads(db, f"read_parquet('{p}')"), 5)
            print(
                f"{path.name:28s} {n:8,d} {plain * 1000:7.1f}ms {once * 1000:11.1f}ms {floor * 1000:7.1f}ms"
                f"  {once / plain:.2f}x   (once = {once / floor:.0f}x the Parquet floor)"
            )
        db.close()


if __name__ == "__main__":
    main()
