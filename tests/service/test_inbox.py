"""The durable inbox: redeliveries stored once, claims with leases that expire, finishing only with
the current claim, and supersession by a newer head of the same pull request."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.service.inbox import Delivery, Inbox
from app.state import StateDB


@pytest.fixture
def inbox(tmp_path: Path) -> Inbox:
    return Inbox(StateDB(tmp_path / "state.sqlite", autocheckpoint=False))  # as the web process has it


def _d(did: str, *, key: str | None = None, head: str | None = None, sets: bool = False) -> Delivery:
    return Delivery(
        did, "pull_request", "opened", b"{}", work_key=key, head_sha=head, sets_head=sets, received_at=1.0
    )


def test_a_delivery_id_is_stored_once(inbox: Inbox) -> None:
    assert inbox.add(_d("a")) is True
    assert inbox.add(_d("a")) is False
    assert inbox.depth() == 1


def test_claims_come_in_arrival_order_and_are_exclusive(inbox: Inbox) -> None:
    for did in ("b", "a", "c"):
        inbox.add(_d(did))
    claimed = [inbox.claim(now=10, lease_seconds=60) for _ in range(4)]
    assert [d.delivery_id if d else None for d in claimed] == ["b", "a", "c", None]
    assert all(d is None or d.attempts == 1 for d in claimed)


def test_a_stale_lease_is_claimed_again(inbox: Inbox) -> None:
    inbox.add(_d("a"))
    first = inbox.claim(now=10, lease_seconds=60)
    assert first is not None
    assert inbox.claim(now=69, lease_seconds=60) is None  # lease still held
    second = inbox.claim(now=71, lease_seconds=60)
    assert second is not None and second.attempts == 2 and second.claim_token != first.claim_token
    assert not inbox.renew(first, now=71) and inbox.renew(second, now=100)
    assert inbox.claim(now=159, lease_seconds=60) is None  # renewed at 100: held until 160
    assert inbox.finish(first, "done", now=72) is False  # the old worker cannot finish it any more
    assert inbox.finish(second, "done", now=72) is True
    assert inbox.finish(second, "done", now=73) is False  # nor finish it twice
    assert inbox.depth() == 0 and inbox.outcomes() == {"done": 1}


def test_released_delivery_is_queued_again(inbox: Inbox) -> None:
    inbox.add(_d("a"))
    claimed = inbox.claim(now=10, lease_seconds=60)
    assert claimed is not None
    inbox.release(claimed, "GitHub answered 502", retry_at=20)
    assert inbox.claim(now=19, lease_seconds=60) is None
    again = inbox.claim(now=20, lease_seconds=60)
    assert again is not None and again.attempts == 2
    assert inbox.get("a")["detail"] == "GitHub answered 502"  # type: ignore[index]


def test_a_newer_head_supersedes_older_work_for_the_same_pr(inbox: Inbox) -> None:
    old = _d("1", key="o/r#1", head="old", sets=True)
    new = _d("2", key="o/r#1", head="new", sets=True)
    inbox.add(old)
    assert inbox.superseded_by(old) is None
    inbox.add(new)
    assert inbox.superseded_by(old) == "new"
    assert inbox.superseded_by(new) is None


def test_a_rerun_of_an_old_head_does_not_supersede_the_current_head(inbox: Inbox) -> None:
    current = _d("1", key="o/r#1", head="new", sets=True)
    rerun_old = _d("2", key="o/r#1", head="old")  # a re-run button on an older commit
    inbox.add(current)
    inbox.add(rerun_old)
    assert inbox.superseded_by(current) is None
    assert inbox.superseded_by(rerun_old) == "new"


def test_a_state_file_from_before_head_times_keeps_its_queue_and_orders_new_heads(tmp_path: Path) -> None:
    import sqlite3

    from app.service.inbox import DDL

    path = tmp_path / "old.sqlite"
    old_ddl = DDL.replace("    head_at       TEXT,", "").split("-- small partial")[0]
    with sqlite3.connect(path) as conn:
        conn.executescript(old_ddl)
        conn.execute(
            "INSERT INTO inbox (delivery_id, event, body, work_key, head_sha, sets_head, received_at)"
            " VALUES ('queued-before', 'pull_request', x'7b7d', 'o/r#1', 'a', 1, 1.0)"
        )
    inbox = Inbox(StateDB(path))
    late = Delivery(
        "late",
        "pull_request",
        "opened",
        b"{}",
        work_key="o/r#1",
        head_sha="b",
        sets_head=True,
        head_at="2024-03-01T10:00:00Z",
    )
    inbox.add(late)
    assert inbox.superseded_by(late) is None
    assert inbox.claim(now=2.0, lease_seconds=60).delivery_id == "queued-before"  # type: ignore[union-attr]


def test_other_prs_and_keyless_work_are_independent(inbox: Inbox) -> None:
    one = _d("1", key="o/r#1", head="a", sets=True)
    inbox.add(one)
    inbox.add(_d("2", key="o/r#2", head="b", sets=True))
    inbox.add(_d("3"))
    assert inbox.superseded_by(one) is None
    assert inbox.superseded_by(_d("3")) is None


def test_the_inbox_survives_a_new_process(tmp_path: Path) -> None:
    Inbox(StateDB(tmp_path / "s.sqlite")).add(_d("a"))
    reopened = Inbox(StateDB(tmp_path / "s.sqlite"))
    assert reopened.add(_d("a")) is False
    claimed = reopened.claim(now=1, lease_seconds=1)
    assert claimed is not None and claimed.body == b"{}"


def test_storing_never_checkpoints_the_wal_and_checkpoint_copies_all_of_it(inbox: Inbox) -> None:
    body = b"x" * 25_000  # a pull_request payload's size
    for i in range(400):  # about 2,500 pages: SQLite's automatic checkpoint would run at 1,000
        inbox.add(Delivery(f"d{i}", "pull_request", "opened", body, received_at=1.0))
    # every insert went into the WAL, none stopped to copy it: an automatic checkpoint would have
    # reset it at 1,000 pages (the WAL file keeps its size either way, so its frames are what count)
    frames, copied = inbox.checkpoint()
    assert frames > 1000 and copied == frames
    assert inbox.depth() == 400


def test_heads_set_in_the_same_second_are_tied_and_a_later_one_is_not(inbox: Inbox) -> None:
    def at(did: str, head: str, when: str | None) -> Delivery:
        return Delivery(
            did, "pull_request", "synchronize", b"{}", work_key="o/r#1", head_sha=head, sets_head=True,
            head_at=when, received_at=1.0,
        )  # fmt: skip

    a, b = at("1", "a", "2024-03-01T10:00:07Z"), at("2", "b", "2024-03-01T10:00:07Z")
    inbox.add(a)
    assert inbox.tied_heads(a) == frozenset()  # one head: nothing to order
    inbox.add(b)
    assert inbox.tied_heads(a) == inbox.tied_heads(b) == {"a", "b"}
    rerun = _d("3", key="o/r#1", head="a")  # a re-run of a, not a head of its own
    assert inbox.tied_heads(rerun) == {"a", "b"}
    c = at("4", "c", "2024-03-01T10:00:09Z")
    inbox.add(c)
    assert inbox.tied_heads(a) == inbox.tied_heads(c) == frozenset()  # c is later: the record orders them
    assert inbox.superseded_by(a) == "c"
