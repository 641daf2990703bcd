"""The one Jinja2 environment. Templates live in `templates/` at the repository top (shipped inside the
wheel as `app/_templates`). Every human-facing text goes through `render`."""

from __future__ import annotations

import functools
import json
import math
import re
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


# Text from a pull request or its data (names, values, messages) goes into comments GitHub renders: it must
# stay one inline run of text. Line breaks would end a table row or open an HTML block (`<!--` hid the
# rest of a comment); bidirectional overrides (U+202E) make a name read as another.
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BIDI = re.compile(r"[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Markdown and HTML punctuation that could start a link, an image, emphasis, a table cell or a tag
_MD_PUNCT = re.compile(r"([\\`*_\[\]|~])")  # `[` and `]` escaped: no `[text](url)`, no `![](image)`
_WWW = re.compile(r"(?i)\b(www)\.")
_ZWSP = "\u200b"  # after @ and #: no @mention notifies anyone, no #123 links an issue; as Renovate does


def _one_line(text: str) -> str:
    return _BIDI.sub("\ufffd", _LINE_BREAKS.sub(" ", text))


def md_escape(value: Any) -> str:
    """Text as one inline run of markdown that renders as the text itself: no line breaks, no HTML (`<`,
    `>`, `&` as entities), no links, images or emphasis (their punctuation backslash-escaped), no table
    cell split (`\\|`), and no @mention, #reference or bare-URL autolink (a zero-width space breaks them)."""
    text = _one_line("" if value is None else str(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_PUNCT.sub(r"\\\1", text)
    text = text.replace("@", "@" + _ZWSP).replace("#", "#" + _ZWSP).replace("://", ":" + _ZWSP + "//")
    return _WWW.sub("\\1" + _ZWSP + ".", text)  # GFM also links a bare www.host


def code(value: Any, cell: bool = True) -> str:
    """Inline code of any text: one line, fenced by more backticks than it holds in a row (padded when it
    starts or ends with one). In a table `cell` its pipes are escaped (GitHub shows `|` there; outside a
    table it would show the backslash: `code(false)`). Inside code GitHub links no mention, reference or
    URL."""
    text = _one_line("" if value is None else str(value))
    if cell:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if not text.strip():  # markdown has no empty code span; one of spaces keeps them all
        return f"{fence}{text or ' '}{fence}"
    # markdown strips one space from each end of a code span that has both, and a fence needs one beside
    # a backtick: pad so that what shows is the text itself
    edge = text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" "))
    pad = " " if edge else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_MERMAID_PLAIN = re.compile(r"[A-Za-z0-9 _.,:/()+=-]")


_COMMAND_LINE = re.compile(r"^(\s*)::", re.M)


def inert_commands(text: str) -> str:
    """`text` for a CI log with no line a GitHub runner would execute: a name holding a newline and
    `::notice ...` or `::stop-commands::` would otherwise start a workflow command (a fake annotation,
    a mask, silenced errors). datacanary's own lines never start with `::`; a zero-width space goes
    before any that does."""
    return _COMMAND_LINE.sub("\\1\u200b::", text)


def mermaid_label(value: Any) -> str:
    """Text for a quoted mermaid label: one line, and every character but letters, digits and plain
    punctuation as mermaid's `#<code>;` entity, so that no quote, bracket, arrow, `%%` comment or
    backtick fence in a model or consumer name ends the label, the node or the ```mermaid block."""
    text = _one_line("" if value is None else str(value))
    return "".join(ch if _MERMAID_PLAIN.fullmatch(ch) else f"#{ord(ch)};" for ch in text)


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


def shown(value: Any) -> str:
    """A contract value as a reader wants it in plain text: `(none)` for an unset one, lists and mappings
    as compact JSON (`["a", "b"]`, not Python's `['a', 'b']`), booleans as YAML writes them."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple, dict)) or not isinstance(value, (str, int, float)):
        return _tojson(value)
    return str(value)


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
    env.filters.update(
        md=md_escape,
        code=code,
        mermaid=mermaid_label,
        num=num,
        pct=pct,
        signed=signed,
        tojson=_tojson,
        shown=shown,
    )
    return env


def render(template: str, **context: Any) -> str:
    """Render `templates/<template>` with `context`."""
    return environment().get_template(template).render(**context)
