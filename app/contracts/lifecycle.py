"""A contract's (or a schema object's) lifecycle `status`: what moving it means to consumers.

ODCS lists proposed, draft, active, deprecated and retired (v3.0.0's examples: development, test,
production). Retired ends the promise: readers fail or read data nobody maintains (breaking).
Deprecated announces that end: nothing breaks yet, but whether a reader breaks depends on whether it
moves before the retirement, which the contract cannot tell (unknown, a warning by default). Leaving
`active` for `draft` or `proposed` puts the promises back up for change (unknown too). Every other move
(draft -> active, deprecated -> active, a status declared) is info.

>>> status_kind("active", "retired")
(<ChangeKind.STATUS_RETIRED: 'status-retired'>, None)
>>> status_kind("draft", "active")
(<ChangeKind.STATUS_CHANGED: 'status-changed'>, None)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.contracts.rules import Change, ChangeKind
from app.types import Impact, Location

K = ChangeKind
# v3.0.0's examples (production, test, development) read as the later lifecycle names
_ALIASES = {"production": "active", "test": "draft", "development": "draft"}
_IN_FORCE = {"active", "deprecated"}
_NOT_YET = {"proposed", "draft"}
_WHY = {
    K.STATUS_RETIRED: "the producer no longer serves it: its readers fail or read data nobody maintains",
    K.STATUS_DEPRECATED: "readers should move off it before it is retired",
}


def _plain(status: str | None) -> str | None:
    if status is None or not str(status).strip():
        return None
    name = str(status).strip().lower()
    return _ALIASES.get(name, name)


def status_kind(old: str | None, new: str | None) -> tuple[ChangeKind, Impact | None] | None:
    """The kind of a status move, with an impact where it differs from the rules table's; None: no move."""
    a, b = _plain(old), _plain(new)
    if a == b:
        return None
    if b == "retired":
        return K.STATUS_RETIRED, None
    if b == "deprecated" and a != "retired":
        return K.STATUS_DEPRECATED, None
    if a in _IN_FORCE and b in _NOT_YET:
        return K.STATUS_CHANGED, Impact.UNKNOWN  # the promises are up for change again
    if b is not None and b not in _NOT_YET | _IN_FORCE:
        return K.STATUS_CHANGED, Impact.UNKNOWN  # a status ODCS does not list: no known meaning
    return K.STATUS_CHANGED, None


def status_change(
    old: str | None,
    new: str | None,
    *,
    what: str,
    dataset: str,
    location: Location | None,
    base_location: Location | None,
) -> list[Change]:
    """The change of `what` ("contract", "dataset orders") from status `old` to `new`, if any."""
    found = status_kind(old, new)
    if found is None:
        return []
    kind, impact = found
    why = _WHY.get(kind)
    if impact is Impact.UNKNOWN:
        why = (
            "its promises may change without notice again"
            if _plain(new) in _NOT_YET
            else "a status ODCS does not list (proposed, draft, active, deprecated, retired): its meaning"
            " for readers is unknown"
        )
    message = f"{what} status {_shown(old)} -> {_shown(new)}" + (f": {why}" if why else "")
    change = Change.of(
        kind, dataset, message, location=location, base_location=base_location, old=old, new=new
    )
    return [change if impact is None else replace(change, impact=impact)]


def _shown(status: Any) -> str:
    return "unset" if status is None else str(status)
