"""Reading fields out of an untrusted JSON payload by dotted path, with an `EventError` naming the path
of anything missing or mistyped. The building blocks of `app.github.events`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from app.errors import DatacanaryError

T = TypeVar("T")


class EventError(DatacanaryError):
    """A webhook or Action event payload lacks a field datacanary needs."""


def walk(payload: Any, path: str) -> tuple[bool, Any]:
    """(found, value) at a dotted path."""
    node = payload
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def req(payload: Any, path: str, kind: type[T]) -> T:
    """The value at `path`, which must be present and of type `kind`."""
    found, value = walk(payload, path)
    if not found or value is None:
        raise EventError(f"event payload has no `{path}`", hint="is this the event datacanary expects?")
    # bool is an int in Python; a payload with `true` where an id belongs is still malformed
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise EventError(f"event payload field `{path}` is {type(value).__name__}, expected {kind.__name__}")
    return value


def opt(payload: Any, path: str, kind: type[T]) -> T | None:
    """The value at `path` if present and not null (then of type `kind`), else None."""
    found, value = walk(payload, path)
    if not found or value is None:
        return None
    return req(payload, path, kind)


@dataclass(frozen=True, slots=True)
class Repo:
    """The repository an event is about."""

    full_name: str
    id: int | None = None
    default_branch: str | None = None

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]


def repo_of(payload: Any, path: str = "repository") -> Repo:
    full = req(payload, f"{path}.full_name", str)
    if "/" not in full:
        raise EventError(f"event payload field `{path}.full_name` is not owner/name: {full!r}")
    return Repo(full, opt(payload, f"{path}.id", int), opt(payload, f"{path}.default_branch", str))


def pull_numbers(payload: Any, path: str) -> tuple[int, ...]:
    found, value = walk(payload, path)
    if not found or not isinstance(value, list):
        return ()
    return tuple(req(pr, "number", int) for pr in value if isinstance(pr, Mapping))


def names(payload: Any, path: str) -> tuple[str, ...]:
    found, value = walk(payload, path)
    if not found or not isinstance(value, list):
        return ()
    return tuple(req(r, "full_name", str) for r in value if isinstance(r, Mapping))
