"""Transpiling datacanary's generated DuckDB SQL once per shape. [pure]

The in-place diff (app.canary.inplace) sends dozens of statements per model to PostgreSQL or Spark,
each transpiled by sqlglot: parsing them was two thirds of the Python time of a diff on PostgreSQL.
The statements repeat in shape: the same query over other tables, other temporary names, other
columns of the same types. So each statement's quoted identifiers are put aside (numbered in order
of first appearance, one number per distinct name), the rest (keywords, types, literals, operators) is
the shape, a shape is transpiled once and kept, and the names go back in, quoted as the target dialect
quotes them.

Only quoted identifiers are put aside: sqlglot treats a quoted name as an opaque name, whereas a
literal's text can change what it writes (a date part, a format string). A statement this does not
read exactly (a comment, a backslash, a dollar quote, unbalanced quotes) is transpiled whole, as is a
shape whose transpile moved a name out of quotes (a struct field name written as a string literal);
the result is always the one a whole transpile gives (tests/engines/test_shapes.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

_MARK = "__dcn"  # a name put aside becomes "__dcn<i>__"
_UNREAD = re.compile(r"--|/\*|\\|\$")


def transpiled_by_shape(sql: str, dialect: str, transpile: Callable[[str, str], str]) -> str:
    """`transpile(sql, dialect)`, from the kept transpile of `sql`'s shape when there is one."""
    split = _split(sql)
    if split is None:
        return transpile(sql, dialect)
    shape, names = split
    try:
        out = _shape(shape, dialect, transpile)
    except Exception:  # its error is told in the statement's own names
        out = None
    if out is None:
        return transpile(sql, dialect)
    quoted = [_quote(n, dialect) for n in names]
    return _placeholder(dialect).sub(lambda m: quoted[int(m[1])], out)


# a literal (kept in the shape as it is), a quoted name (put aside), or a quote that is never closed
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"((?:[^\"]|\"\")*)\"|['\"]")


def _split(sql: str) -> tuple[str, list[str]] | None:
    """(the shape, the names put aside), or None when `sql` is not read exactly."""
    if _MARK in sql or _UNREAD.search(sql):
        return None
    names: dict[str, int] = {}
    unclosed = False

    def put_aside(m: re.Match[str]) -> str:
        nonlocal unclosed
        text = m[0]
        if len(text) == 1:
            unclosed = True
        if m[1] is None:
            return text
        number = names.setdefault(m[1].replace('""', '"'), len(names))
        return f'"{_MARK}{number}__"'

    shape = _TOKEN.sub(put_aside, sql)
    return None if unclosed else (shape, list(names))


# A diff sends a few dozen shapes per model; 512 kept shapes of a few KB each (a 300-column model's are
# ~100 KB) bound what a long-running service keeps.
@functools.lru_cache(maxsize=512)
def _shape(shape: str, dialect: str, transpile: Callable[[str, str], str]) -> str | None:
    """The transpiled shape, or None when a name did not come out as a quoted identifier."""
    out = transpile(shape, dialect)
    return None if _MARK in _placeholder(dialect).sub("", out) else out


@functools.lru_cache(maxsize=16)
def _placeholder(dialect: str) -> re.Pattern[str]:
    """A put-aside name as `dialect` writes it (quoted): "__dcn0__" or `__dcn0__`."""
    written = _quote(f"{_MARK}0__", dialect)
    return re.compile(re.escape(written).replace("0", r"(\d+)", 1))


@functools.lru_cache(maxsize=65536)
def _quote(name: str, dialect: str) -> str:
    from sqlglot import exp

    return exp.to_identifier(name, quoted=True).sql(dialect)
