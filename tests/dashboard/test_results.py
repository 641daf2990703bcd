"""The gate results the workers keep for the dashboard (real SQLite)."""

from __future__ import annotations

from pathlib import Path

from app.dashboard.results import GateResults
from app.state import StateDB


def _save(store: GateResults, head: str, verdict: str, retention: int = 3, pr: int = 1) -> None:
    report = {"verdict": verdict, "head": head[:7], "gates": [{"name": "contracts", "verdict": verdict}]}
    store.save(
        report,
        repo="Acme/Shop",
        installation_id=1,
        pr_number=pr,
        head_sha=head,
        base_sha="b" * 40,
        delivery_id=f"d-{head}",
        at=1.0,
        retention=retention,
    )


def test_a_re_run_of_a_head_replaces_its_result_and_old_results_are_dropped(tmp_path: Path) -> None:
    store = GateResults(StateDB(tmp_path / "state.sqlite"))
    _save(store, "a" * 40, "fail")
    _save(store, "a" * 40, "pass")  # the same head gated again (a re-run)
    assert [r.verdict for r in store.recent("acme/shop")] == ["pass"]
    for head in "bcde":
        _save(store, head * 40, "warn")
    assert [r.head_sha[0] for r in store.recent("acme/shop")] == ["e", "d", "c"]  # retention 3
    found = store.find("ACME/shop", 1, "eeeeeee")
    assert found is not None and found[1]["head"] == "eeeeeee"
    assert store.find("acme/shop", 1, "a" * 40) is None  # dropped
    assert store.find("acme/shop", 2, "e" * 40) is None  # another pull request
    assert store.find("acme/shop", 1, "e%") is None  # no LIKE pattern from a URL
