"""An incremental model compiled with its `is_incremental()` branch, turned back into its full refresh.

When `dbt compile` runs against a warehouse where an incremental model's table exists, the compiled SQL
keeps the `{% if is_incremental() %}` filter, which reads the model's own table (`{{ this }}`):

    select * from final
    where order_date >= (select max(order_date) from "analytics"."main"."orders")

That is what the model does on its next scheduled run, not what it produces: a full refresh (and the
canary, which builds from samples) takes the other branch. `full_refresh` removes the filters that
read `{{ this }}` from the SQL text: the removed characters become spaces (newlines stay), so every
other line keeps its number for findings and the rest of the SQL keeps its bytes. [pure]
"""

from __future__ import annotations

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

T = TokenType
_NAMES = (T.VAR, T.IDENTIFIER)
# where a predicate that reads {{ this }} may start, and what may end it
_STARTS = (T.WHERE, T.HAVING, T.AND)
_ENDS = (
    T.AND,
    T.GROUP_BY,
    T.ORDER_BY,
    T.HAVING,
    T.LIMIT,
    T.QUALIFY,
    T.WINDOW,
    T.UNION,
    T.EXCEPT,
    T.INTERSECT,
    T.SEMICOLON,
)


def full_refresh(sql: str, this: str, dialect: str) -> str | None:
    """`sql` without the WHERE/HAVING conditions whose subquery reads the relation `this`.

    Returns `sql` itself when it does not read `this`, and None when it reads it some other way (a
    join, a CTE, a condition under OR) that cannot be left out without guessing.
    """
    tokens = _tokens(sql, dialect)
    if tokens is None:
        return None
    spans: list[tuple[int, int]] = []
    for i, tok in enumerate(tokens):
        if tok.token_type in _NAMES and tok.text.casefold() == this.casefold():
            span = _predicate(tokens, i)
            if span is None:
                return None
            spans.append(span)
    if not spans:
        return sql
    out = list(sql)
    for start, end in spans:
        for pos in range(start, end + 1):
            if out[pos] not in "\r\n":
                out[pos] = " "
    result = "".join(out)
    left = _tokens(result, dialect)
    if left is None or any(t.token_type in _NAMES and t.text.casefold() == this.casefold() for t in left):
        return None
    return result


def _tokens(sql: str, dialect: str) -> list[Token] | None:
    try:
        return list(Dialect.get_or_raise(dialect).tokenize(sql))
    except TokenError:
        return None


def _predicate(tokens: list[Token], at: int) -> tuple[int, int] | None:
    """The character span to blank for the reference to `this` at token `at`, or None."""
    lp = _subquery_open(tokens, at)
    if lp is None:
        return None
    rp = _close(tokens, lp)
    if rp is None:
        return None
    start = _walk_back(tokens, lp - 1)
    end = _walk_forward(tokens, rp + 1)
    if start is None or end is None:
        return None
    first = tokens[start]
    follows = tokens[end] if end < len(tokens) else None
    last = tokens[end - 1]
    if first.token_type is T.AND:  # `... and <predicate>`: the `and` goes with it
        return first.start, last.end
    if follows is not None and follows.token_type is T.AND:  # `where <predicate> and ...`: keep `where`
        return tokens[start + 1].start, follows.end
    return first.start, last.end  # the whole clause


def _subquery_open(tokens: list[Token], at: int) -> int | None:
    """The `(` of the innermost subquery `(select ...)` around token `at`."""
    depth = 0
    for j in range(at - 1, -1, -1):
        kind = tokens[j].token_type
        if kind is T.R_PAREN:
            depth += 1
        elif kind is T.L_PAREN:
            if depth:
                depth -= 1
            elif j + 1 < len(tokens) and tokens[j + 1].token_type in (T.SELECT, T.WITH):
                return j
    return None


def _close(tokens: list[Token], lp: int) -> int | None:
    depth = 0
    for j in range(lp, len(tokens)):
        kind = tokens[j].token_type
        if kind is T.L_PAREN:
            depth += 1
        elif kind is T.R_PAREN:
            depth -= 1
            if depth == 0:
                return j
    return None


def _walk_back(tokens: list[Token], j: int) -> int | None:
    """The WHERE/HAVING/AND that starts the predicate ending before token j+1; None if it is not one
    (a join condition, a select item, a branch of OR)."""
    depth = 0
    while j >= 0:
        kind = tokens[j].token_type
        if kind is T.R_PAREN:
            depth += 1
        elif kind is T.L_PAREN:
            if not depth:
                return None
            depth -= 1
        elif not depth and kind in _STARTS:
            return j
        elif not depth and kind in (T.OR, T.ON, T.SELECT, T.FROM, T.JOIN, T.COMMA, T.BETWEEN, T.CASE):
            return None
        j -= 1
    return None


def _walk_forward(tokens: list[Token], k: int) -> int | None:
    """The index of the token that ends the predicate (len(tokens) at the end); None after OR."""
    depth = 0
    while k < len(tokens):
        kind = tokens[k].token_type
        if kind is T.L_PAREN:
            depth += 1
        elif kind is T.R_PAREN:
            if not depth:
                return k
            depth -= 1
        elif not depth and kind is T.OR:
            return None
        elif not depth and kind in _ENDS:
            return k
        k += 1
    return k
