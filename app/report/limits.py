"""GitHub's size limits, in one place, as pure functions: 50 annotations per check-run request,
65,535 characters per check-run summary or text, 65,536 per issue comment.

Lengths are measured in UTF-16 code units (what GitHub's limits count in practice, and never fewer than
Python's code points), and text is only ever cut between code points, preferably at a section or line
boundary, never inside a code fence or a `<details>` block left open.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from typing import TypeVar

MAX_ANNOTATIONS_PER_REQUEST = 50
MAX_CHECK_TEXT = 65_535
MAX_COMMENT_BODY = 65_536
# GitHub's other documented caps on a check run: title and annotation texts
MAX_TITLE = 255
MAX_ANNOTATION_MESSAGE = 64 * 1024 - 1
# where the full report is when a text had to be cut (the Action uploads it as this artifact)
DEFAULT_POINTER = "the `datacanary-report` artifact of this workflow run"

T = TypeVar("T")

_HEADING = re.compile(r"\n(?=#{1,6} )")
_FENCE = re.compile(r"^\s*(```|~~~)", re.MULTILINE)
_DETAILS = re.compile(r"<details\b[^>]*>.*?</details>\s*", re.DOTALL | re.IGNORECASE)
_TABLE = re.compile(r"(?:^[ \t]*\|.*\|[ \t]*(?:\n|$))+", re.MULTILINE)


def batches(items: Sequence[T], size: int = MAX_ANNOTATIONS_PER_REQUEST) -> list[tuple[T, ...]]:
    """Split items into consecutive batches of at most `size`; an empty input gives one empty batch,
    so a caller always sends at least one request."""
    if size < 1:
        raise ValueError("batch size must be positive")
    if not items:
        return [()]
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


def size(text: str) -> int:
    """Length as GitHub counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _prefix_within(text: str, budget: int) -> int:
    """The largest index i such that size(text[:i]) <= budget."""
    if len(text) == size(text):  # no astral characters: code points are code units
        return min(max(budget, 0), len(text))
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > budget:
            return i
    return len(text)


def _safe_boundary(text: str, i: int) -> int:
    # do not leave a combining mark or zero-width joiner orphaned at the start of the dropped part
    while 0 < i < len(text) and (unicodedata.combining(text[i]) or text[i] in "\u200d\ufe0f"):
        i -= 1
    return i


def _closers(kept: str) -> str:
    """Close what the cut left open, so the rest of the page still renders."""
    closing = ""
    if len(_FENCE.findall(kept)) % 2:
        closing += "\n```"
    opened = len(re.findall(r"<details\b", kept, re.IGNORECASE))
    closed = len(re.findall(r"</details>", kept, re.IGNORECASE))
    closing += "\n</details>" * max(0, opened - closed)
    return closing


def cut_text(text: str, limit: int, pointer: str) -> str:
    """`text` unchanged if it fits in `limit`; else a prefix cut at the last section (heading) or line
    boundary, open fences/details closed, followed by `pointer` (e.g. "… truncated; full report: …").
    The result never exceeds `limit`."""
    if size(text) <= limit:
        return text
    tail = "\n\n" + pointer
    # reserve room for the pointer and the worst-case closers (a fence and a few details)
    reserve = size(tail) + len("\n```") + len("\n</details>") * min(text.lower().count("<details"), 50)
    budget = limit - reserve
    if budget <= 0:
        return pointer[: _prefix_within(pointer, limit)]
    hard = _safe_boundary(text, _prefix_within(text, budget))
    window = text[:hard]
    cut = hard
    headings = [m.start() for m in _HEADING.finditer(window)]
    if headings and headings[-1] > hard // 2:
        cut = headings[-1]
    elif (nl := window.rfind("\n")) > hard // 2:
        cut = nl
    kept = text[:cut].rstrip()
    result = kept + _closers(kept) + tail
    if size(result) > limit:  # more open <details> than reserved for: drop them into a plain cut
        result = text[: _prefix_within(text, limit - size(tail))] + tail
        result = result[: _prefix_within(result, limit)]
    return result


def compact_variants(markdown: str, *, details_note: str, table_note: str) -> Iterator[str]:
    """Ever smaller forms of a markdown report: as is, without collapsible sections (example rows),
    then with every table cut to its first 50 and then 10 rows (findings list the blocking ones first,
    so they stay), then without tables."""
    yield markdown
    no_details = _DETAILS.sub(details_note + "\n\n", markdown)
    if no_details != markdown:
        yield no_details
    previous = no_details
    for rows in (50, 10):
        shorter = _TABLE.sub(functools.partial(_first_rows, rows=rows, note=table_note), no_details)
        if shorter != previous:
            yield shorter
            previous = shorter
    no_tables = _TABLE.sub(table_note + "\n", no_details)
    if no_tables != previous:
        yield no_tables


def _first_rows(match: re.Match[str], rows: int, note: str) -> str:
    """The matched table (header, separator, rows) with its first `rows` rows, and `note` when some
    were cut."""
    table = match.group(0)
    lines = table.rstrip("\n").split("\n")
    if len(lines) <= rows + 2:
        return table
    kept = "\n".join(lines[: rows + 2])
    return f"{kept}\n\n_{len(lines) - rows - 2} more row(s) not shown._ {note.strip()}\n"


def fit_markdown(markdown: str, limit: int, *, pointer: str, details_note: str, table_note: str) -> str:
    """The most detailed compact variant of `markdown` that fits in `limit`; the smallest one cut
    with `pointer` when none fits."""
    last = markdown
    for variant in compact_variants(markdown, details_note=details_note, table_note=table_note):
        if size(variant) <= limit:
            return variant
        last = variant
    return cut_text(last, limit, pointer)


def clip(text: str, limit: int, ellipsis: str = "…") -> str:
    """A one-line field (title, annotation message) cut to `limit` with an ellipsis."""
    if size(text) <= limit:
        return text
    return text[: _safe_boundary(text, _prefix_within(text, limit - size(ellipsis)))] + ellipsis
