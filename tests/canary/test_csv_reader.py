"""A CSV sample is sniffed once and then read with the options found (Sandbox.source): the same rows,
names and types as DuckDB's own read_csv of the file, whatever the file holds, and a header cell is a
name, never SQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.canary.inputs import TableSpec
from app.canary.runner import Sandbox

REPO = Path(__file__).resolve().parents[2]

_cell = st.one_of(
    st.none(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.dates(dt.date(1990, 1, 1), dt.date(2040, 1, 1)).map(str),
    st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2040, 1, 1)).map(lambda v: v.isoformat(" ")),
    st.sampled_from(["007", "paid", "a,b", 'say "hi"', "", "x\ny", "TRUE", "false"]),
    st.text(alphabet="ab'\"{},; ", max_size=4),
)
_name = st.text(alphabet="abcXY_'\"{}: 1", min_size=1, max_size=5)


def _plain(db: Sandbox, path: Path) -> tuple[list[tuple[str, str]], list[tuple[object, ...]]]:
    cur = db.conn.execute(f"SELECT * FROM read_csv('{path}')")
    types = [(d[0], str(d[1])) for d in cur.description or ()]
    return types, sorted(cur.fetchall(), key=repr)


def _sniffed_once(db: Sandbox, path: Path) -> tuple[list[tuple[str, str]], list[tuple[object, ...]]]:
    reader = db.source(TableSpec(str(path), "csv"), "unused")
    assert "auto_detect = false" in reader  # read with what was sniffed, not sniffed again
    cur = db.conn.execute(f"SELECT * FROM {reader}")
    types = [(d[0], str(d[1])) for d in cur.description or ()]
    return types, sorted(cur.fetchall(), key=repr)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(_name, min_size=1, max_size=5, unique_by=str.lower),
    rows=st.lists(st.lists(_cell, min_size=5, max_size=5), min_size=1, max_size=30),
    delimiter=st.sampled_from([",", ";", "|", "\t"]),
)
def test_a_sniffed_once_csv_reads_as_duckdb_reads_it(
    db: Sandbox, tmp_path: Path, names: list[str], rows: list[list[object]], delimiter: str
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(names)
    writer.writerows([["" if v is None else v for v in r[: len(names)]] for r in rows])
    path = tmp_path / "sample.csv"
    path.write_text(out.getvalue())
    assert _sniffed_once(db, path) == _plain(db, path)


def test_a_header_cell_with_quotes_and_braces_is_a_column_name_not_sql(db: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "hostile.csv"
    path.write_text('a\'b,"c""d","e}\'); SELECT 1; --"\n1,2,3\n')
    types, rows = _sniffed_once(db, path)
    assert [n for n, _ in types] == ["a'b", 'c"d', "e}'); SELECT 1; --"]
    assert rows == [(1, 2, 3)]


def test_every_csv_of_the_repository_reads_as_duckdb_reads_it(db: Sandbox) -> None:
    """The demo's, the dbt projects' seeds, the benchmark corpus's: real files we did not generate."""
    files = sorted(p for p in REPO.glob("**/*.csv") if ".venv" not in p.parts and "_work" not in p.parts)
    assert len(files) >= 10
    for path in files:
        assert _sniffed_once(db, path) == _plain(db, path), path
