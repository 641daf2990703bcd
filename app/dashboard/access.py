"""Who is logged in and what they may see. Sessions live in the web process's memory (a restart asks
everyone to log in again, and no user token is ever written to disk); the browser holds only a signed
cookie naming its session. What a user can read is asked of GitHub with their own token and trusted
for a short while."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from app.github.oauth import UserClient

MAX_SESSIONS = 10_000
SESSION_SECONDS = 8 * 3600  # GitHub App user tokens live 8 hours


@dataclass(frozen=True, slots=True)
class Repo:
    installation_id: int
    full_name: str


@dataclass
class Session:
    id: str
    login: str
    token: str
    expires_at: float
    readable: dict[str, Repo] = field(default_factory=dict)  # lower-cased owner/name -> Repo
    checked_at: float = float("-inf")


Lister = Callable[[str], dict[str, Repo]]  # user token -> readable repositories


def github_lister(api_url: str) -> Lister:
    """The repositories a user can read among this App's installations, asked of GitHub."""

    def readable(token: str) -> dict[str, Repo]:
        found: dict[str, Repo] = {}
        with UserClient(api_url, token) as client:
            for installation in client.installations():
                for name in client.repositories(installation.id):
                    found[name.lower()] = Repo(installation.id, name)
        return found

    return readable


class Sessions:
    """Logged-in users of this process, oldest evicted beyond MAX_SESSIONS."""

    def __init__(self, lister: Lister, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()
        self._lister = lister
        self._ttl = ttl
        self._clock = clock

    def open(self, login: str, token: str, expires_in: float | None) -> Session:
        now = self._clock()
        life = min(expires_in, SESSION_SECONDS) if expires_in else SESSION_SECONDS
        session = Session(secrets.token_urlsafe(32), login, token, now + life)
        with self._lock:
            self._sessions[session.id] = session
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str) -> Session | None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.expires_at <= self._clock():
                del self._sessions[session_id]
                return None
            return session

    def close(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def readable(self, session: Session) -> dict[str, Repo]:
        """What the user can read now: GitHub's answer of at most `ttl` seconds ago (blocking: call it
        off the event loop). Raises ExpiredLogin when GitHub no longer takes the token."""
        now = self._clock()
        if now - session.checked_at >= self._ttl:
            session.readable = self._lister(session.token)
            session.checked_at = now
        return session.readable
