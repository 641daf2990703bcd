"""Walking parsed YAML/JSON documents in tests."""

from __future__ import annotations

from typing import Any


def paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path in `value` (keys and list indexes), `here` first: edit targets for generated edits."""
    out = [here]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*here, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*here, i))
    return out
