"""The one Jinja2 environment. Templates live in `templates/` at the repository top (shipped inside the
wheel as `app/_templates`). Every human-facing text goes through `render`."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import jinja2


def templates_dir() -> Path:
    """Where the templates are: inside the installed package, or the checkout's `templates/`."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("datacanary templates not found; reinstall the package")  # packaging bug


def md_escape(value: Any) -> str:
    """Escape text for a markdown table cell or inline text: pipes, backticks, newlines, HTML brackets."""
    text = "" if value is None else str(value)
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("`", "\\`")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r", "")
        .replace("\n", " ")
    )


def code(value: Any) -> str:
    """Inline code that survives backticks inside the value."""
    text = "" if value is None else str(value).replace("\n", " ")
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def num(value: Any, digits: int = 2) -> str:
    """Human number: thousands separators for ints, trimmed decimals for floats, '-' for None."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.{digits}f}".rstrip("0").rstrip(".")
    return str(value)


def _tojson(value: Any) -> str:
    """Compact JSON as a reader wants it: `{"straße": 1}`, not `{"stra\\u00dfe": 1}`."""
    return json.dumps(value, ensure_ascii=False, default=str)


def pct(value: Any, digits: int = 1) -> str:
    """A fraction (0..1) as a percentage."""
    if value is None:
        return "-"
    share = float(value) * 100
    if 0 < share < 10**-digits:  # a real difference must not read as none
        return f"<{10**-digits:.{digits}f}%"
    return f"{share:.{digits}f}%"


def signed(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    text = num(value, digits)
    return text if text.startswith("-") or value == 0 else f"+{text}"


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,  # a missing variable is a bug, not an empty string
        autoescape=False,  # markdown and plain text; HTML templates escape explicitly
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(md=md_escape, code=code, num=num, pct=pct, signed=signed, tojson=_tojson)
    return env


def render(template: str, **context: Any) -> str:
    """Render `templates/<template>` with `context`."""
    return environment().get_template(template).render(**context)
