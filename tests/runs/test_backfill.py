"""`datacanary backfill` end to end: a windowed model in a prod DuckDB file, a state DB, real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from app.cli import main

CONFIG = """
name: shop
sources:
  raw_events:
    columns: {event_id: bigint, day: date, amount: double}
environments:
  prod:
    parameters: {data: prod.duckdb, schema: analytics}
windows:
  daily:
    column: day
"""

CONTRACT = """
apiVersion: v3.1.0
kind: DataContract
id: daily
name: Daily
version: 1.0.0
status: active
schema:
  - name: daily
    properties:
      - name: day
        logicalType: date
        required: true
        primaryKey: true
      - name: total
        logicalType: number
        required: true
      - name: events
        logicalType: integer
"""

DAILY = """select day, sum(amount) as total, count(*) as events
from raw_events
where day >= :window_start and day < :window_end
group by day
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / "models").mkdir(parents=True)
    (root / "contracts").mkdir()
    (root / "datacanary.yml").write_text(CONFIG)
    (root / "contracts" / "daily.odcs.yaml").write_text(CONTRACT)
    (root / "models" / "daily.sql").write_text(DAILY)
    (root / "models" / "weekly.sql").write_text(
        "select date_trunc('week', day) as week, sum(total) as total from daily group by 1\n"
    )
    conn = duckdb.connect(str(root / "prod.duckdb"))
    conn.execute(
        "CREATE TABLE raw_events AS SELECT range AS event_id,"
        " DATE '2026-11-01' + CAST(range % 30 AS INTEGER) AS day, CAST(1 AS DOUBLE) AS amount FROM range(300)"
    )
    conn.close()
    return root


def _cli(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str]:
    code = main([*args, "--env", "prod", "--project", str(root), "--state", str(root / "state.sqlite"), "-q"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _backfill(root: Path, window: str = "2026-11-10..2026-11-13", *more: str) -> list[str]:
    return ["backfill", "daily", "--window", window, "--reason", "late events", "--actor", "ada", *more]


def _rows(root: Path, sql: str) -> list[tuple[object, ...]]:
    conn = duckdb.connect(str(root / "prod.duckdb"), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _late_events(root: Path) -> None:
    """Late data for 11-11 and a correction for 11-25 (outside the backfilled window)."""
    conn = duckdb.connect(str(root / "prod.duckdb"))
    conn.execute("INSERT INTO raw_events SELECT 1000 + range, DATE '2026-11-11', 5.0 FROM range(4)")
    conn.execute("UPDATE raw_events SET amount = 99 WHERE day = DATE '2026-11-25'")
    conn.close()


OUTSIDE = (
    "SELECT * FROM analytics.daily WHERE day < DATE '2026-11-10' OR day >= DATE '2026-11-13' ORDER BY day"
)


def test_backfill_replaces_only_the_window_and_reconciles_it(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(capsys, shop, "run")[0] == 0
    before = _rows(shop, OUTSIDE)
    _late_events(shop)
    code, out = _cli(capsys, shop, *_backfill(shop), "--format", "json")
    report = json.loads(out)
    assert code == 0, out
    assert report["status"] == "published" and report["version"] == 2 and report["previous_version"] == 1
    assert (report["actor"], report["reason"]) == ("ada", "late events")
    recon = report["reconciliation"]
    assert (recon["added"], recon["removed"], recon["changed"], recon["unchanged"]) == (0, 0, 1, 2)
    # rows outside the window are v1's, byte for byte, although their source changed (11-25)
    assert _rows(shop, OUTSIDE) == before
    assert _rows(shop, "SELECT total, events FROM analytics.daily WHERE day = DATE '2026-11-11'") == [
        (30.0, 14)
    ]
    assert _rows(shop, "SELECT COUNT(*) FROM analytics.daily") == [(30,)]
    # downstream rebuilt from the repaired view, as `run` does
    assert report["downstream"] == [
        {"dataset": "weekly", "status": "published", "version": 2, "reason": None}
    ]
    from app.runs.backfill import history
    from app.runs.ledger import RunLedger
    from app.state import StateDB

    (rec,) = history(RunLedger(StateDB(shop / "state.sqlite")), "prod", "daily")
    assert rec["status"] == "published" and rec["reconciliation"]["changed"] == 1 and rec["actor"] == "ada"


def test_text_report_and_the_same_backfill_again_is_refused_unless_forced(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli(capsys, shop, "run")
    _late_events(shop)
    code, out = _cli(capsys, shop, *_backfill(shop))
    assert code == 0 and "PUBLISHED v2 (was v1" in out and "changed 1" in out, out
    code, out = _cli(capsys, shop, *_backfill(shop))
    assert code == 1 and "REFUSED" in out and "--force" in out
    code, out = _cli(capsys, shop, *_backfill(shop), "--force", "--format", "markdown")
    assert code == 0 and "| who | ada |" in out and "identical" in out


def test_failed_audit_leaves_the_live_view_on_the_old_version(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli(capsys, shop, "run")
    before = _rows(shop, "SELECT * FROM analytics.daily ORDER BY day")
    conn = duckdb.connect(str(shop / "prod.duckdb"))
    conn.execute("UPDATE raw_events SET amount = NULL WHERE day = DATE '2026-11-11'")  # total NULL: required
    conn.close()
    code, out = _cli(capsys, shop, *_backfill(shop))
    assert code == 1 and "AUDIT-FAILED" in out and "the view still reads v1" in out, out
    assert _rows(shop, "SELECT * FROM analytics.daily ORDER BY day") == before


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--window", "2026-11-13..2026-11-10"], "FROM is after TO"),
        (["--window", "yesterday..today"], "is not a date or a timestamp"),
        (["--window", "2026-11-10"], "is not FROM..TO"),
        (["--window", "2026-11-10T06:00..2026-11-11"], "not whole days"),
    ],
)
def test_bad_windows_exit_2_with_what_to_do(
    shop: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    _cli(capsys, shop, "run")
    code, out = _cli(capsys, shop, "backfill", "daily", "--reason", "r", "--actor", "a", *args)
    assert code == 2 and says in out and "hint:" in out and "Traceback" not in out


def test_unknown_dataset_unwindowed_model_and_missing_env_exit_2(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli(capsys, shop, "run")
    w = ["--window", "2026-11-10..2026-11-11", "--reason", "r", "--actor", "a"]
    code, out = _cli(capsys, shop, "backfill", "dialy", *w)
    assert code == 2 and "unknown dataset 'dialy'" in out and "daily" in out
    code, out = _cli(capsys, shop, "backfill", "weekly", *w)
    assert code == 2 and "declares no window column" in out
    code = main(["backfill", "daily", *w, "--env", "qa", "--project", str(shop), "--state", str(shop / "s")])
    assert code == 2 and "qa" in capsys.readouterr().err


def test_model_rows_outside_the_window_fail_without_publishing(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli(capsys, shop, "run")
    # a filter on the wrong column: the window's rows would double rows outside it
    (shop / "models" / "daily.sql").write_text(DAILY.replace("where day >=", "where day + 5 >="))
    code, out = _cli(capsys, shop, *_backfill(shop), "--working-tree")
    assert code == 1 and "outside the window" in out
    assert _rows(shop, "SELECT COUNT(*), COUNT(DISTINCT day) FROM analytics.daily") == [(30, 30)]


def _spawn(root: Path, window: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    argv = [
        sys.executable,
        "-m",
        "app.cli",
        *_backfill(root, window),
        "--env",
        "prod",
        "--project",
        str(root),
        "--state",
        str(root / "state.sqlite"),
        "--format",
        "json",
    ]
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )


def test_two_processes_racing_overlapping_windows_one_is_refused(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli(capsys, shop, "run")
    # hold the lease the way a running backfill does, from another live process
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import datetime as dt

        from app.runs.backfill import BackfillRequest, acquire
        from app.runs.ledger import RunLedger
        from app.runs.wap import RunRequest
        from app.runs.window import parse_window
        from app.state import StateDB

        db = StateDB(shop / "state.sqlite")
        ledger = RunLedger(db)
        now = dt.datetime.now(dt.UTC)
        window = parse_window("2026-11-01..2026-11-12")
        run = RunRequest("prod", "analytics", "main", window.text, "a", "other-run", now)
        req = BackfillRequest(run, "daily", "day", window, "bob", "r", "c")
        lease, _ = acquire(ledger, req, now)
        db.connect().execute("UPDATE backfill_leases SET pid = ? WHERE id = ?", (holder.pid, lease))
        db.close()
        racers = [_spawn(shop, "2026-11-10..2026-11-13"), _spawn(shop, "2026-11-11..2026-11-20")]
        outs = [p.communicate(timeout=120) for p in racers]
        for p, (_, err) in zip(racers, outs, strict=True):
            assert p.returncode == 1 and "backfill other-run of" in err and "by bob" in err, err
        # a window that does not overlap runs meanwhile
        p = _spawn(shop, "2026-11-20..2026-11-22")
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    finally:
        holder.kill()
        holder.wait()
    # the holder died: its lease is stale, the next backfill takes it
    p = _spawn(shop, "2026-11-10..2026-11-13")
    assert p.communicate(timeout=120) and p.returncode == 0


def test_simultaneous_overlapping_backfills_never_both_apply(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli(capsys, shop, "run")
    racers = [_spawn(shop, "2026-11-10..2026-11-13", {"DATACANARY_BACKFILL_HOLD": "1"}) for _ in range(2)]
    results = [(p.communicate(timeout=120), p.returncode) for p in racers]
    codes = sorted(code for _, code in results)
    assert codes == [0, 1], results
    assert _rows(shop, "SELECT COUNT(*) FROM analytics.daily") == [(30,)]


@pytest.mark.parametrize("stage", ["written", "prepared", "committed"])
def test_a_crash_leaves_nothing_half_published_and_the_lock_recovers(
    shop: Path, capsys: pytest.CaptureFixture[str], stage: str
) -> None:
    _cli(capsys, shop, "run")
    before = _rows(shop, "SELECT * FROM analytics.daily ORDER BY day")
    _late_events(shop)
    p = _spawn(shop, "2026-11-10..2026-11-13", {"DATACANARY_BACKFILL_KILL_AT": stage})
    p.communicate(timeout=120)
    assert p.returncode == -9
    after = _rows(shop, "SELECT * FROM analytics.daily ORDER BY day")
    assert after == before if stage != "committed" else after != before  # all of v1 or all of v2
    p = _spawn(shop, "2026-11-10..2026-11-13")
    out, err = p.communicate(timeout=120)
    report = json.loads(out)
    if stage == "committed":  # v2 was published: the ledger is finished, the rerun is the same backfill
        assert p.returncode == 1 and report["status"] == "refused", err
    else:
        assert p.returncode == 0 and report["status"] == "published", err
    tables = _rows(
        shop,
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'analytics'"
        " AND table_name LIKE 'daily%' ORDER BY 1",
    )
    from app.runs.ledger import RunLedger
    from app.state import StateDB

    ledger = RunLedger(StateDB(shop / "state.sqlite"))
    live = ledger.live_version("prod", "daily")
    assert (f"daily__v{live}",) in tables
    assert _rows(shop, "SELECT total FROM analytics.daily WHERE day = DATE '2026-11-11'") == [(30.0,)]
