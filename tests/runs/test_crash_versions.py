"""Crashes of `run` and `backfill` between their DuckDB work and their ledger record: version numbers
are never reused, recovery never drops what a view reads, and what a crash left live is recorded."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from app.runs import backfill
from app.runs.ledger import RunLedger, VersionRecord
from app.runs.wap import RunRequest
from app.runs.window import parse_window
from app.state import StateDB
from tests.runs.test_backfill import _cli, _late_events, _rows, _spawn, shop

__all__ = ["shop"]  # the fixture, used by name


def _ledger(root: Path) -> RunLedger:
    return RunLedger(StateDB(root / "state.sqlite"))


def _tables(root: Path, like: str) -> list[str]:
    rows = _rows(
        root,
        f"SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '{like}' ORDER BY table_name",
    )
    return [str(r[0]) for r in rows]


def test_a_run_after_a_backfill_killed_before_commit_never_reuses_its_version(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(capsys, shop, "run")[0] == 0
    p = _spawn(shop, "2026-11-10..2026-11-13", {"DATACANARY_BACKFILL_KILL_AT": "written"})
    p.communicate(timeout=120)
    assert p.returncode == -9
    code, out = _cli(capsys, shop, "run", "--force")
    assert code == 0, out
    live = _ledger(shop).live_version("prod", "daily")
    assert live == 3  # v2 was the dead backfill's number
    # the next backfill recovers the dead one: the table the view reads stays
    p = _spawn(shop, "2026-11-20..2026-11-22")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert "nothing of it is live" in err
    assert f"daily__v{live}" in _tables(shop, "daily__v%")
    assert _rows(shop, "SELECT COUNT(*) FROM analytics.daily") == [(30,)]


def _dead_backfill(root: Path, version: int) -> tuple[RunLedger, str]:
    """A backfill record left 'running' by a process that died, as `execute` leaves it."""
    ledger = _ledger(root)
    now = dt.datetime.now(dt.UTC)
    window = parse_window("2026-11-10..2026-11-13")
    run = RunRequest("prod", "analytics", "main", window.text, "a", "dead-run", now)
    req = backfill.BackfillRequest(run, "daily", "day", window, "bob", "r", "c")
    ledger.db.ensure("backfill", backfill.DDL)
    backfill._start(ledger, req, "running", version, 1)
    return ledger, "dead-run"


def _prepared_json(ledger: RunLedger, run_id: str) -> None:
    """`prepared` as execute stores it: dataclasses.asdict of the VersionRecord."""
    import dataclasses

    row = ledger.db.connect().execute("SELECT * FROM backfills WHERE run_id = ?", (run_id,)).fetchone()
    rec = VersionRecord(
        run_id, "prod", "daily", row["version"], f"analytics.daily__v{row['version']}", row["run_window"],
        "fp", "a", "published", False, None, row["started_at"], None, 1.0, False,
    )  # fmt: skip
    backfill._update(ledger, run_id, prepared=json.dumps(dataclasses.asdict(rec)))


def test_recovery_never_drops_a_table_a_view_reads(tmp_path: Path) -> None:
    conn = duckdb.connect(str(tmp_path / "env.duckdb"))
    conn.execute("CREATE SCHEMA analytics")
    conn.execute("CREATE TABLE analytics.daily__v2 AS SELECT 1 AS x")
    conn.execute("CREATE VIEW analytics.daily AS SELECT * FROM daily__v2")
    ledger, run_id = _dead_backfill(tmp_path, 2)  # it died before its record was prepared
    said = backfill.recover(conn, ledger, "analytics", [run_id])
    assert "kept" in said[0] and "analytics.daily" in said[0], said
    assert conn.execute("SELECT x FROM analytics.daily").fetchall() == [(1,)]


def test_recovery_reads_the_views_target_exactly(tmp_path: Path) -> None:
    conn = duckdb.connect(str(tmp_path / "env.duckdb"))
    conn.execute("CREATE SCHEMA analytics")
    conn.execute("CREATE TABLE analytics.daily__v20 AS SELECT 1 AS x")
    conn.execute("CREATE VIEW analytics.daily AS SELECT * FROM daily__v20")
    ledger, run_id = _dead_backfill(tmp_path, 2)
    _prepared_json(ledger, run_id)  # killed at `prepared`: DuckDB rolled back, there is no daily__v2
    said = backfill.recover(conn, ledger, "analytics", [run_id])
    assert said == [f"backfill {run_id} died before publishing: nothing of it is live"]
    assert ledger.version("prod", "daily", 2) is None  # __v20 is not __v2: v2 was never published
    assert ledger.live_version("prod", "daily") is None


def _backfill_killed_after_commit(shop: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A run publishes v1, late events arrive, and a backfill is killed once its v2 is committed (the
    view reads it, the ledger does not know it); its run id."""
    assert _cli(capsys, shop, "run")[0] == 0
    _late_events(shop)
    p = _spawn(shop, "2026-11-10..2026-11-13", {"DATACANARY_BACKFILL_KILL_AT": "committed"})
    p.communicate(timeout=120)
    assert p.returncode == -9
    return str(_ledger(shop).db.connect().execute("SELECT run_id FROM backfills").fetchone()["run_id"])


def test_a_backfill_killed_after_commit_is_adopted_by_the_next_run_and_recovery(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = _backfill_killed_after_commit(shop, capsys)
    code, out = _cli(capsys, shop, "run", "--force")
    assert code == 0, out
    assert "the view reads v2" in out and "recorded v2 as live" in out, out
    ledger = _ledger(shop)
    v2 = ledger.version("prod", "daily", 2)
    assert v2 is not None and v2.status == "published" and v2.run_id == dead  # the backfill's, not failed
    assert ledger.live_version("prod", "daily") == 3
    p = _spawn(shop, "2026-11-20..2026-11-22")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert f"backfill {dead} had published v2" in err
    (row,) = [h for h in backfill.history(_ledger(shop), "prod", "daily") if h["run_id"] == dead]
    assert row["status"] == "published"


def test_recovery_of_a_committed_backfill_records_it_live_and_the_next_builds_on_it(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _backfill_killed_after_commit(shop, capsys)
    p = _spawn(shop, "2026-11-20..2026-11-22")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert json.loads(out)["previous_version"] == 2  # built on the crashed backfill's v2, not v1
    assert _rows(shop, "SELECT total FROM analytics.daily WHERE day = DATE '2026-11-11'") == [(30.0,)]


CRASH_BEFORE_RECORD = """
import os, signal, sys
from app.runs import ledger as L
orig = L.RunLedger.record
def record(self, rec):
    if rec.dataset == "orders":
        os.kill(os.getpid(), signal.SIGKILL)
    return orig(self, rec)
L.RunLedger.record = record
from app.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_run_killed_between_the_view_swap_and_its_record_is_finished_by_the_next_run(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = project / "state.sqlite"
    argv = ["run", "--env", "prod", "--project", str(project), "--state", str(state), "-q"]
    p = subprocess.run(
        [sys.executable, "-c", CRASH_BEFORE_RECORD, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        check=False,
    )
    assert p.returncode == -9, p.stderr
    assert _rows(project, "SELECT COUNT(*) FROM analytics.orders") == [(5,)]  # v1 is live, unrecorded
    from app.cli import main

    code = main(argv)
    out = capsys.readouterr()
    text = out.out + out.err
    assert code == 0, text
    assert "the view reads v1" in text and "recorded v1 as live" in text, text
    assert "views still show the previous version" not in text
    ledger = RunLedger(StateDB(state))
    assert ledger.live_version("prod", "orders") == 1
    assert ledger.live_version("prod", "revenue") is not None


def test_a_run_skips_version_numbers_whose_tables_exist(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = duckdb.connect(str(project / "prod.duckdb"))
    conn.execute("CREATE SCHEMA analytics")
    conn.execute("CREATE TABLE analytics.orders__v1 AS SELECT 42 AS somebody_elses")
    conn.close()
    from app.cli import main

    state = project / "state.sqlite"
    code = main(["run", "--env", "prod", "--project", str(project), "--state", str(state), "-q"])
    assert code == 0, capsys.readouterr()
    assert RunLedger(StateDB(state)).live_version("prod", "orders") == 2
    assert _rows(project, "SELECT * FROM analytics.orders__v1") == [(42,)]


@pytest.mark.parametrize(
    "spelling",
    [
        "2026-11-10T00:00:00..2026-11-13T00:00:00",
        "20261110..20261113",
        "2026-11-10T00:00:00Z..2026-11-13T00:00:00Z",
    ],
)
def test_the_same_backfill_spelled_otherwise_is_refused(
    shop: Path, capsys: pytest.CaptureFixture[str], spelling: str
) -> None:
    assert _cli(capsys, shop, "run")[0] == 0
    _late_events(shop)
    window = ["--window", "2026-11-10..2026-11-13", "--reason", "r", "--actor", "a"]
    assert _cli(capsys, shop, "backfill", "daily", *window)[0] == 0
    window[1] = spelling
    code, out = _cli(capsys, shop, "backfill", "daily", *window)
    assert code == 1 and "REFUSED" in out, out


def test_window_key_is_one_text_per_bounds() -> None:
    assert parse_window("2026-11-10T00:00:00..2026-11-13").key == "2026-11-10..2026-11-13"
    assert parse_window("2026-11-10T06:00..2026-11-13").key == "2026-11-10 06:00:00..2026-11-13 00:00:00"
    assert parse_window("2026-11-10T06:00+02:00..2026-11-13").key.startswith("2026-11-10 04:00:00")
