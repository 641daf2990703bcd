from __future__ import annotations

import sqlite3

import pytest

from app.promotion.ledger import Ledger, Status

A, B, C = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64


def _promote(
    ledger: Ledger,
    digest: str,
    env: str,
    passed: bool = True,
    kind: str = "promote",
    at: str = "2026-01-01T00:00:00Z",
):
    return ledger.record(
        digest=digest,
        environment=env,
        at=at,
        actor="ci",
        passed=passed,
        canary={"verdict": "pass" if passed else "fail"},
        kind=kind,
    )


def test_a_passed_promotion_goes_live_and_supersedes_the_previous(state):
    ledger = Ledger(state)
    first = _promote(ledger, A, "prod")
    second = _promote(ledger, B, "prod")
    assert ledger.live("prod").digest == B
    assert second.previous_digest == A and first.previous_digest is None
    assert ledger.entry(first.id).status is Status.SUPERSEDED
    assert ledger.passed_digests("prod") == [B, A]


def test_a_failed_attempt_never_goes_live(state):
    ledger = Ledger(state)
    _promote(ledger, A, "prod")
    failed = _promote(ledger, B, "prod", passed=False)
    assert failed.status is Status.FAILED and failed.previous_digest == A
    assert ledger.live("prod").digest == A
    view = ledger.view()
    assert view.failed_in("prod", B) and not view.passed_in("prod", B)


def test_the_database_refuses_two_live_rows_in_one_environment(state):
    Ledger(state)
    conn = state.connect()
    conn.execute(
        "INSERT INTO promotion (digest, environment, promoted_at, actor, status)"
        " VALUES ('x','e','t','a','live')"
    )
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO promotion (digest, environment, promoted_at, actor, status)"
            " VALUES ('y','e','t','a','live')"
        )


def test_last_known_good_is_the_previous_passed_digest(state):
    ledger = Ledger(state)
    for d in (A, B, C):
        _promote(ledger, d, "prod")
    assert ledger.last_known_good("prod").digest == B


def test_a_rolled_back_digest_is_no_longer_passed_nor_last_known_good(state):
    ledger = Ledger(state)
    for d in (A, B, C):
        _promote(ledger, d, "prod")
    _promote(ledger, B, "prod", kind="rollback")  # C -> rolled-back, B live again
    assert ledger.live("prod").digest == B
    assert [e.status for e in ledger.history("prod", C)] == [Status.ROLLED_BACK]
    assert not ledger.view().passed_in("prod", C)
    assert ledger.last_known_good("prod").digest == A  # never C, never the live B
    _promote(ledger, A, "prod", kind="rollback")
    assert ledger.last_known_good("prod") is None


def test_passed_and_live_are_per_environment(state):
    ledger = Ledger(state)
    _promote(ledger, A, "staging")
    _promote(ledger, B, "staging")
    _promote(ledger, A, "prod")
    view = ledger.view()
    assert view.live == {"staging": B, "prod": A}
    assert view.passed == {"staging": frozenset({A, B}), "prod": frozenset({A})}
    assert ledger.last_passed("staging", A).canary["verdict"] == "pass"


def test_the_ledger_survives_reopening_the_state_file(state, tmp_path):
    from app.state import StateDB

    _promote(Ledger(state), A, "dev")
    again = StateDB(state.path)
    try:
        assert Ledger(again).live("dev").digest == A
    finally:
        again.close()
