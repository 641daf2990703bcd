"""The durable webhook inbox: every verified delivery is a row before GitHub gets its 202.

Workers claim rows with a lease (`claimed_at`); a worker that dies leaves its lease to expire and
the row is claimed again after `lease_seconds`. A row is finished with the claim token it was
claimed with, so a worker whose lease was taken over can no longer finish (or double-finish) it.
Redeliveries carry the same `X-GitHub-Delivery` id and hit the primary key: processed once, unless the
delivery failed for good (given up, or an error): then the redelivery is the operator's retry.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from dataclasses import dataclass

from app.state import StateDB

DDL = """
CREATE TABLE IF NOT EXISTS inbox (
    delivery_id   TEXT PRIMARY KEY,
    event         TEXT NOT NULL,
    action        TEXT,
    work_key      TEXT,             -- e.g. owner/repo#12: what the delivery works on
    head_sha      TEXT,             -- the commit it reports on
    sets_head     INTEGER NOT NULL DEFAULT 0,  -- a pull_request event: moves the key's current head
    head_at       TEXT,             -- when it moved it (ISO 8601 UTC: sorts as text)
    received_at   REAL NOT NULL,
    status        TEXT NOT NULL DEFAULT 'queued',
    available_at  REAL NOT NULL DEFAULT 0,   -- a released delivery waits (back-off) until then
    claim_token   TEXT,
    claimed_at    REAL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    finished_at   REAL,
    outcome       TEXT,
    detail        TEXT,
    body          BLOB NOT NULL     -- last: SQLite reads columns after a big blob through its overflow pages
);
-- small partial indexes: claims and the queue depth never scan finished deliveries
CREATE INDEX IF NOT EXISTS inbox_queued ON inbox (available_at) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS inbox_working ON inbox (claimed_at) WHERE status = 'working';
CREATE INDEX IF NOT EXISTS inbox_work_key ON inbox (work_key, sets_head);
"""


FAILED = ("failed", "error")  # outcomes of deliveries that did not get through: worth a redelivery


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook delivery as stored: the raw body is kept so work can be resumed after a crash."""

    delivery_id: str
    event: str
    action: str | None
    body: bytes
    work_key: str | None = None
    head_sha: str | None = None
    sets_head: bool = False
    head_at: str | None = None
    received_at: float = 0.0
    attempts: int = 0
    claim_token: str = ""


def _add_head_at(db: StateDB) -> None:
    """Give an inbox created before `head_at` existed that column (another process may just have)."""
    conn = db.connect()
    if any(row[1] == "head_at" for row in conn.execute("PRAGMA table_info(inbox)")):
        return
    try:
        conn.execute("ALTER TABLE inbox ADD COLUMN head_at TEXT")
    except sqlite3.OperationalError as exc:
        if "duplicate column" not in str(exc):
            raise


class Inbox:
    """Insert, claim, finish and count deliveries in the state database."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.ensure("inbox", DDL)
        _add_head_at(db)
        # One writer at a time inside the process, queued on a Python lock: SQLite's own busy handler
        # backs off with growing sleeps, which starved the webhook route's inserts behind busy workers
        # (seconds of ack latency under load); this lock keeps each insert to the time of one write.
        self._write = threading.Lock()

    def add(self, delivery: Delivery) -> bool:
        """Store a delivery; False when its id was seen before (a redelivery: not processed again).

        The web process opens its StateDB with `autocheckpoint=False`: SQLite's automatic checkpoint runs
        in the commit that crosses 1,000 pages, copying megabytes and syncing the file, which held single
        inserts for up to 0.4 s on a busy disk (an acknowledgment waits for it); `checkpoint()` does it
        off the acknowledgment path."""
        conn = self.db.connect()
        with self._write:
            cur = conn.execute(
                "INSERT OR IGNORE INTO inbox"
                " (delivery_id, event, action, body, work_key, head_sha, sets_head, head_at, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    delivery.delivery_id,
                    delivery.event,
                    delivery.action,
                    delivery.body,
                    delivery.work_key,
                    delivery.head_sha,
                    int(delivery.sets_head),
                    delivery.head_at,
                    delivery.received_at,
                ),
            )
        return cur.rowcount == 1

    def retry_failed(self, delivery_id: str) -> bool:
        """Queue again a delivery that failed for good (its redelivery: GitHub's "Redeliver" button is how
        an operator retries one); False when it is queued, running or was handled. It counts as resumed
        (runs recorded before are reused, not created again) and gets the attempts left after one."""
        with self._write:
            cur = self.db.connect().execute(
                "UPDATE inbox SET status = 'queued', claim_token = NULL, claimed_at = NULL, attempts = 1,"
                " available_at = 0, finished_at = NULL, outcome = NULL"
                " WHERE delivery_id = ? AND status = 'done' AND outcome IN (?, ?)",
                (delivery_id, *FAILED),
            )
        return cur.rowcount == 1

    def checkpoint(self) -> tuple[int, int]:
        """Copy the WAL into the database file without waiting for or blocking anyone (PASSIVE): the
        service runs it every second. Returns (frames in the WAL, frames checkpointed)."""
        row = self.db.connect().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(row[1]), int(row[2])

    def claim(self, now: float, lease_seconds: float) -> Delivery | None:
        """Take the oldest queued delivery, or one whose worker's lease ran out; None when idle."""
        token = secrets.token_hex(8)
        # One statement, so the write lock is held only inside SQLite: a worker process (running nicer
        # than the web process) preempted between the statements of a transaction kept the webhook
        # route's insert waiting for as long as the kernel left it off the CPU.
        with self._write:
            rows = (
                self.db.connect()
                .execute(
                    "UPDATE inbox SET status = 'working', claim_token = ?, claimed_at = ?,"
                    " attempts = attempts + 1"
                    " WHERE rowid = (SELECT min(rowid) FROM ("
                    "  SELECT rowid FROM (SELECT rowid FROM inbox WHERE status = 'queued'"
                    "   AND available_at <= ? ORDER BY rowid LIMIT 1)"
                    "  UNION ALL"
                    "  SELECT rowid FROM (SELECT rowid FROM inbox WHERE status = 'working'"
                    "   AND claimed_at < ? ORDER BY rowid LIMIT 1)))"
                    " RETURNING delivery_id, event, action, body, work_key, head_sha, sets_head,"
                    " received_at, attempts",
                    (token, now, now, now - lease_seconds),
                )
                .fetchall()  # to the end: the statement, and with it the write, is over
            )
        if not rows:
            return None
        row = rows[0]
        return Delivery(
            delivery_id=row["delivery_id"],
            event=row["event"],
            action=row["action"],
            body=bytes(row["body"]),
            work_key=row["work_key"],
            head_sha=row["head_sha"],
            sets_head=bool(row["sets_head"]),
            received_at=row["received_at"],
            attempts=row["attempts"],  # as updated
            claim_token=token,
        )

    def renew(self, delivery: Delivery, now: float) -> bool:
        """Extend the lease of a claimed delivery; False when another worker took it over meanwhile."""
        with self._write:
            cur = self.db.connect().execute(
                "UPDATE inbox SET claimed_at = ?"
                " WHERE delivery_id = ? AND claim_token = ? AND status = 'working'",
                (now, delivery.delivery_id, delivery.claim_token),
            )
        return cur.rowcount == 1

    def finish(self, delivery: Delivery, outcome: str, now: float, detail: str | None = None) -> bool:
        """Mark a claimed delivery done; False when another worker holds it now (its result is dropped)."""
        with self._write:
            cur = self.db.connect().execute(
                "UPDATE inbox SET status = 'done', outcome = ?, detail = ?, finished_at = ?"
                " WHERE delivery_id = ? AND claim_token = ? AND status = 'working'",
                (outcome, detail, now, delivery.delivery_id, delivery.claim_token),
            )
        return cur.rowcount == 1

    def release(
        self, delivery: Delivery, detail: str, retry_at: float = 0.0, *, counted: bool = True
    ) -> None:
        """Give a claimed delivery back to the queue, to be claimed again from `retry_at` (epoch s);
        `counted=False`: this attempt does not count (it waited for another delivery)."""
        with self._write:
            self.db.connect().execute(
                "UPDATE inbox SET status = 'queued', claim_token = NULL, detail = ?, available_at = ?,"
                " attempts = attempts - ? WHERE delivery_id = ? AND claim_token = ?",
                (detail, retry_at, 0 if counted else 1, delivery.delivery_id, delivery.claim_token),
            )

    def superseded_by(self, delivery: Delivery) -> str | None:
        """The newer head sha that replaced `delivery`'s head for its work key, if any.

        The current head of a key is the head of its latest head-setting delivery (a pull_request
        event), latest by the time it says the head was set, then by arrival: GitHub may deliver a
        push's synchronize before the PR's opened. A delivery about any other head (an older push, a
        re-run of an old commit) is stale.
        """
        if delivery.work_key is None or delivery.head_sha is None:
            return None
        row = (
            self.db.connect()
            .execute(
                "SELECT head_sha FROM inbox WHERE work_key = ? AND sets_head = 1"
                " ORDER BY head_at IS NULL, head_at DESC, rowid DESC LIMIT 1",
                (delivery.work_key,),
            )
            .fetchone()
        )
        if row is None or row["head_sha"] in (None, delivery.head_sha):
            return None
        return str(row["head_sha"])

    def tied_heads(self, delivery: Delivery) -> frozenset[str]:
        """The heads of `delivery`'s work key whose pull_request deliveries share the latest time the
        head was set, when there are several and `delivery`'s is one of them (else empty): GitHub's
        `updated_at` counts whole seconds, so two pushes in one second cannot be ordered by it, and
        arrival order is not GitHub's order. The worker asks GitHub then (`Workers._newer_head`)."""
        if delivery.work_key is None or delivery.head_sha is None:
            return frozenset()
        rows = (
            self.db.connect()
            .execute(
                "SELECT DISTINCT head_sha FROM inbox WHERE work_key = ? AND sets_head = 1 AND head_at ="
                " (SELECT max(head_at) FROM inbox WHERE work_key = ? AND sets_head = 1)",
                (delivery.work_key, delivery.work_key),
            )
            .fetchall()
        )
        heads = frozenset(str(r["head_sha"]) for r in rows if r["head_sha"] is not None)
        return heads if len(heads) > 1 and delivery.head_sha in heads else frozenset()

    def pull_request_body(self, repo: str, head_sha: str) -> bytes | None:
        """The latest stored pull_request delivery of `repo` whose head is `head_sha` (raw body)."""
        row = (
            self.db.connect()
            .execute(
                "SELECT body FROM inbox WHERE work_key >= ? AND work_key < ? AND sets_head = 1"
                " AND head_sha = ? ORDER BY rowid DESC LIMIT 1",
                (f"{repo}#", f"{repo}$", head_sha),  # '$' sorts right after '#': the key range of repo's PRs
            )
            .fetchone()
        )
        return None if row is None else bytes(row["body"])

    def depth(self) -> int:
        """How many deliveries wait or are being worked on."""
        row = (
            self.db.connect()
            .execute(
                "SELECT (SELECT count(*) FROM inbox WHERE status = 'queued')"
                " + (SELECT count(*) FROM inbox WHERE status = 'working')"
            )
            .fetchone()
        )
        return int(row[0])

    def outcomes(self) -> dict[str, int]:
        """Finished deliveries counted by outcome (for tests and the benchmark)."""
        rows = (
            self.db.connect()
            .execute("SELECT outcome, count(*) FROM inbox WHERE status = 'done' GROUP BY outcome")
            .fetchall()
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def get(self, delivery_id: str) -> dict[str, object] | None:
        row = (
            self.db.connect().execute("SELECT * FROM inbox WHERE delivery_id = ?", (delivery_id,)).fetchone()
        )
        return None if row is None else dict(row)
