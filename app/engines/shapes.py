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


def _split(sql: str) -> tuple[str, list[str]] | None:
    """(the shape, the names put aside), or None when `sql` is not read exactly."""
    if _MARK in sql or _UNREAD.search(sql):
        return None
    parts: list[str] = []
    names: dict[str, int] = {}
    i, start, n = 0, 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "'":  # a literal: kept in the shape as it is
            i += 1
            while True:
                j = sql.find("'", i)
                if j < 0:
                    return None
                if sql.startswith("''", j):
                    i = j + 2
                    continue
                i = j + 1
                break
        elif c == '"':
            j, name = i + 1, []
            while True:
                k = sql.find('"', j)
                if k < 0:
                    return None
                name.append(sql[j:k])
                if sql.startswith('""', k):
                    name.append('"')
                    j = k + 2
                    continue
                break
            parts.append(sql[start:i])
            number = names.setdefault("".join(name), len(names))
            parts.append(f'"{_MARK}{number}__"')
            i = start = k + 1
        else:
            i += 1
    parts.append(sql[start:])
    return "".join(parts), list(names)


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
