"""The dashboard's Jinja2 environment: the report's loader and filters, HTML autoescaping on (every
value on a page came from a repository or from GitHub)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import jinja2

from app.report.env import environment as text_environment


def _when(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, int | float):
        value = dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    base = text_environment()
    env = jinja2.Environment(
        loader=base.loader,
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update({k: base.filters[k] for k in ("num", "pct", "signed", "tojson")})
    env.filters["when"] = _when
    env.filters["short"] = lambda sha: str(sha or "")[:7]
    return env


def page(template: str, **context: Any) -> str:
    """Render `templates/dashboard/<template>`."""
    return environment().get_template(f"dashboard/{template}").render(**context)
