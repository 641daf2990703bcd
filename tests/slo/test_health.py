"""Data-health monitors over a real DuckDB environment evaluated many times (real SQLite state)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import ConfigError
from app.project.config import parse_config
from app.slo.health import ks, psi
from app.slo.health_store import history
from app.slo.service import evaluate_env
from app.state import StateDB
from tests.slo.test_slo_command import _slo

START = dt.datetime(2026, 10, 5, 6, 0, tzinfo=dt.UTC)  # a Monday


def _project(tmp_path: Path, health: str) -> Path:
    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "datacanary.yml").write_text(
        "name: shop\nsources:\n  events:\n    columns: {id: bigint}\n"
        "environments:\n  prod:\n    parameters: {data: prod.duckdb}\n"
        f"slos:\n  events:\n    health:\n{health}"
    )
    return root


def _load(root: Path, sql: str) -> None:
    conn = duckdb.connect(str(root / "prod.duckdb"))
    conn.execute(f"CREATE OR REPLACE TABLE events AS {sql}")
    conn.close()


def _eval(root: Path, at: dt.datetime) -> dict[str, dict[str, object]]:
    report = evaluate_env(str(root), "prod", str(root / "state.sqlite"), at)
    return {r.objective.sli: r.to_json() for r in report.evaluation.results}


ROWS = (
    "SELECT range AS id, CASE WHEN range % 4 = 0 THEN 'cancelled' ELSE 'shipped' END AS status,"
    " (range % 100) * 1.0 AS amount FROM range({n})"
)


def test_a_weekly_pattern_is_not_an_anomaly_but_a_weekday_drop_is(tmp_path: Path) -> None:
    root = _project(tmp_path, "      volume: {season: day_of_week, min_history: 3}\n")
    for day in range(28):  # four weeks: weekends carry 40% of a weekday's rows
        at = START + dt.timedelta(days=day)
        n = (400 if at.weekday() >= 5 else 1000) + day % 3 * 7
        _load(root, ROWS.format(n=n))
        status = _eval(root, at)["health.volume"]
        assert status["status"] == ("unknown" if day < 21 else "ok"), (day, status)
        assert bool(status["detail"].get("learning")) == (day < 21)
    saturday = START + dt.timedelta(days=33)
    _load(root, ROWS.format(n=405))
    assert _eval(root, saturday)["health.volume"]["status"] == "ok"
    tuesday = START + dt.timedelta(days=36)
    _load(root, ROWS.format(n=420))  # a weekend's volume on a Tuesday: rows went missing
    drop = _eval(root, tuesday)["health.volume"]
    assert drop["status"] == "breach" and drop["detail"]["rows"] == 420
    assert drop["detail"]["expected"][0] > 900


def test_without_the_season_the_weekend_would_have_looked_anomalous(tmp_path: Path) -> None:
    root = _project(tmp_path, "      volume: {min_history: 3}\n")
    for day in range(5):
        _load(root, ROWS.format(n=1000 + day))
        _eval(root, START + dt.timedelta(days=day))
    _load(root, ROWS.format(n=400))
    assert _eval(root, START + dt.timedelta(days=5))["health.volume"]["status"] == "breach"


def test_few_evaluations_are_learning_not_pass_or_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path, "      volume: true\n      schema: true\n      distribution: true\n")
    _load(root, ROWS.format(n=100))
    results = _eval(root, START)
    assert {k: (r["status"], r["detail"].get("learning")) for k, r in results.items()} == {
        "health.volume": ("unknown", True),
        "health.schema": ("unknown", True),
        "health.distribution": ("unknown", True),
    }
    assert "0 of 5 evaluation(s)" in str(results["health.volume"]["reason"])
    code, out = _slo(capsys, root, (START + dt.timedelta(hours=1)).isoformat())
    assert code == 0 and "learn   events:health.volume" in out and "ok      events:health.schema" in out


def test_a_retyped_and_a_removed_column_breach_the_schema_and_an_added_one_does_not(tmp_path: Path) -> None:
    root = _project(tmp_path, "      schema: {}\n")
    _load(root, ROWS.format(n=100))
    _eval(root, START)
    _load(root, "SELECT id, status, amount, 1 AS extra FROM (" + ROWS.format(n=100) + ")")
    added = _eval(root, START + dt.timedelta(hours=1))["health.schema"]
    assert added["status"] == "ok" and added["detail"]["added"] == ["extra"]
    _load(
        root,
        "SELECT CAST(id AS VARCHAR) AS id, amount, extra FROM (SELECT *, 1 AS extra FROM ("
        + ROWS.format(n=100)
        + "))",
    )
    drift = _eval(root, START + dt.timedelta(hours=2))["health.schema"]
    assert drift["status"] == "breach" and drift["value"] == 2
    assert drift["detail"]["removed"] == ["status"]
    assert drift["detail"]["retyped"] == [{"column": "id", "from": "BIGINT", "to": "VARCHAR"}]
    assert "retyped id BIGINT -> VARCHAR" in str(drift["reason"])


def _shift(tmp_path: Path, after: str) -> dict[str, object]:
    root = _project(tmp_path, "      distribution: {}\n")
    for hour in range(3):
        _load(root, ROWS.format(n=5000 + hour))
        assert _eval(root, START + dt.timedelta(hours=hour))["health.distribution"]["status"] in (
            "ok",
            "unknown",
        )
    _load(root, after)
    return _eval(root, START + dt.timedelta(hours=3))["health.distribution"]


def test_a_renamed_category_breaches_by_psi(tmp_path: Path) -> None:
    renamed = _shift(
        tmp_path,
        "SELECT id, REPLACE(status, 'shipped', 'SHIPPED') AS status, amount FROM ("
        + ROWS.format(n=5000)
        + ")",
    )
    assert renamed["status"] == "breach"
    (col,) = renamed["detail"]["shifted"]
    assert col["column"] == "status" and col["psi"] >= 0.2 and col["level"] == "breach"


def test_a_numeric_shift_breaches_by_ks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    after = "SELECT id, status, amount + 40 AS amount FROM (" + ROWS.format(n=5000) + ")"
    shifted = _shift(tmp_path, after)
    assert shifted["status"] == "breach"
    (col,) = shifted["detail"]["shifted"]
    assert col["column"] == "amount" and col["ks"] >= 0.3 and col["mean"][1] > col["mean"][0] + 39
    at = (START + dt.timedelta(hours=4)).isoformat()
    code, out = _slo(capsys, tmp_path / "p", at, "--format", "markdown", "--no-store")
    assert code == 1 and "❌ breach | `events:health.distribution`" in out
    assert "| `amount` | breach |" in out
    code, out = _slo(capsys, tmp_path / "p", at, "--no-store")
    assert "breach amount: PSI" in out and "mean 49.48 -> 89.5" in out


def test_the_same_data_again_is_no_shift_and_history_is_readable(tmp_path: Path) -> None:
    same = _shift(tmp_path, ROWS.format(n=5003))
    assert same["status"] == "ok" and same["value"] == 0
    points = history(StateDB(tmp_path / "p" / "state.sqlite"), "prod", "events", limit=10)
    assert [p["rows"] for p in points] == [5000, 5001, 5002, 5003]
    assert points[-1]["statuses"] == {"health.distribution": "ok"}
    assert {c["name"]: c["kind"] for c in points[-1]["columns"]} == {
        "id": "numeric",
        "status": "categorical",
        "amount": "numeric",
    }
    json.dumps(points)  # plain data for the dashboard


def test_a_bad_health_key_names_its_line() -> None:
    text = "name: x\nslos:\n  orders:\n    health:\n      volume: {max_z: -1}\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text, "datacanary.yml")
    assert err.value.location is not None and err.value.location.line == 5
    assert "max_z" in str(err.value)


freqs = st.dictionaries(st.sampled_from("abcdefgh"), st.integers(1, 10_000), min_size=1)
sketches = st.lists(st.floats(-1e6, 1e6), min_size=21, max_size=21).map(sorted)


@given(freqs, freqs)
def test_psi_is_zero_for_identical_frequencies_and_symmetric(a: dict[str, int], b: dict[str, int]) -> None:
    assert psi(a, a) == pytest.approx(0.0, abs=1e-12)
    assert psi({k: v * 3 for k, v in a.items()}, a) == pytest.approx(0.0, abs=1e-12)  # shares, not counts
    assert psi(a, b) == pytest.approx(psi(b, a))
    assert psi(a, b) >= 0


@given(sketches, sketches)
def test_ks_is_zero_for_identical_sketches_symmetric_and_bounded(a: list[float], b: list[float]) -> None:
    assert ks(a, a) == 0.0
    assert ks(a, b) == pytest.approx(ks(b, a))
    assert 0.0 <= ks(a, b) <= 1.0


def test_profiles_stored_with_duckdbs_hash_buckets_are_never_compared_with_md5_buckets(
    tmp_path: Path,
) -> None:
    """A profile stored before bucket schemes were recorded (its columns' JSON has no bucket_scheme:
    DuckDB HASH() buckets) is no baseline for the portable buckets: learning, saying why, then the
    new profile is the baseline."""
    import sqlite3

    root = _project(tmp_path, "      distribution: {}\n")
    _load(root, ROWS.format(n=5000))
    _eval(root, START)  # creates the state database and one profile
    db = sqlite3.connect(root / "state.sqlite")
    (columns,) = db.execute("SELECT columns FROM slo_health_profiles").fetchone()
    old = json.loads(columns)
    for c in old:
        c.pop("bucket_scheme")
        if c["kind"] == "categorical":  # what HASH() % 64 put where: other buckets than md5's
            c["buckets"] = {str((int(k) + 7) % 64): v for k, v in c["buckets"].items()}
    db.execute("UPDATE slo_health_profiles SET columns = ?", (json.dumps(old),))
    db.commit()
    db.close()
    relearn = _eval(root, START + dt.timedelta(hours=1))["health.distribution"]
    assert relearn["status"] == "unknown" and relearn["detail"]["learning"] is True
    assert "scheme 1 (DuckDB's HASH)" in str(relearn["reason"]) and relearn["detail"]["bucket_scheme"] == [
        [1],
        2,
    ]
    again = _eval(root, START + dt.timedelta(hours=2))["health.distribution"]
    assert (
        again["status"] == "ok" and again["detail"]["baseline"] == (START + dt.timedelta(hours=1)).isoformat()
    )
    points = history(StateDB(root / "state.sqlite"), "prod", "events", limit=10)
    schemes = [[c["bucket_scheme"] for c in p["columns"] if c["kind"] == "categorical"] for p in points]
    assert schemes == [[1], [2], [2]]  # oldest first: the old one read as scheme 1, the new ones say 2
