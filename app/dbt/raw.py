"""The fallback when a manifest has no `compiled_code` (written by `dbt parse`): resolve the Jinja
that every model uses, `ref`, `source`, `config` and `this`, and refuse anything else."""

from __future__ import annotations

import re
from collections.abc import Callable

from app.errors import ProjectError
from app.types import Location

_REF = re.compile(
    r"\{\{-?\s*ref\(\s*(?:(['\"])[^'\"]*\1\s*,\s*)?(['\"])([^'\"]+)\2"
    r"\s*(?:,\s*(?:v|version)\s*=\s*['\"]?([\w.]+)['\"]?\s*)?\)\s*-?\}\}"
)
_SOURCE = re.compile(r"\{\{-?\s*source\(\s*(['\"])([^'\"]+)\1\s*,\s*(['\"])([^'\"]+)\3\s*\)\s*-?\}\}")
_CONFIG = re.compile(r"\{\{-?\s*config\((?:[^{}]|\{[^{}]*\})*\)\s*-?\}\}")
_THIS = re.compile(r"\{\{-?\s*this\s*-?\}\}")
_COMMENT = re.compile(r"\{#.*?#\}", re.S)


def render_raw(
    raw: str,
    path: str,
    *,
    this: str,
    ref: Callable[[str, str | None], str | None],
    source: Callable[[str, str], str | None],
) -> str:
    """`raw` with refs and sources replaced by dataset names; ProjectError for any other Jinja."""
    out = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), raw)
    out = _CONFIG.sub(lambda m: "\n" * m.group(0).count("\n"), out)
    out = _THIS.sub(this, out)

    def _ref(m: re.Match[str]) -> str:
        return ref(m.group(3), m.group(4)) or _missing(f"ref('{m.group(3)}')", raw, m.start(), path)

    def _source(m: re.Match[str]) -> str:
        return source(m.group(2), m.group(4)) or _missing(
            f"source('{m.group(2)}', '{m.group(4)}')", raw, m.start(), path
        )

    out = _SOURCE.sub(_source, _REF.sub(_ref, out))
    left = re.search(r"\{\{|\{%", out)
    if left:
        line = out.count("\n", 0, left.start()) + 1
        raise ProjectError(
            "the manifest has no compiled SQL for this model and its Jinja is more than ref/source/config",
            Location(path, line),
            "run `dbt compile` (not `dbt parse`) so the manifest carries compiled_code",
        )
    return out


def _missing(what: str, raw: str, at: int, path: str) -> str:
    raise ProjectError(
        f"{what} does not resolve to a node of the manifest",
        Location(path, raw.count("\n", 0, at) + 1),
        "check the name, or regenerate the manifest with `dbt compile`",
    )
