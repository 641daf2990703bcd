"""Map the warehouse relations that `{{ ref() }}` and `{{ source() }}` compile to back to datacanary's
plain dataset names, so the compiled SQL reads like a datacanary model and app/sql builds the DAG.

`"shop"."analytics"."stg_orders"` -> `stg_orders`. Only the relation text is replaced (found with
sqlglot's tokenizer): the rest of the compiled SQL keeps its bytes, lines and comments, so line
numbers still point at the compiled model and whitespace-only changes stay whitespace-only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

from app.dbt.nodes import Relation

Key = tuple[str, ...]
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


@dataclass(frozen=True, slots=True)
class RelationIndex:
    """Relation parts (case-folded) -> dataset name, for one manifest and dialect."""

    dialect: str
    names: Mapping[Key, str]

    @staticmethod
    def build(relations: Mapping[str, Relation], dialect: str) -> RelationIndex:
        """`relations` maps each dataset name to where dbt put it."""
        names: dict[Key, str] = {}
        for name, rel in relations.items():
            for key in _keys(rel, dialect):
                names.setdefault(key, name)
        return RelationIndex(dialect, names)


def _keys(rel: Relation, dialect: str) -> list[Key]:
    keys = []
    if rel.rendered:
        parts = _parts(rel.rendered, dialect)
        if parts:
            keys.append(parts)
    full = tuple(p.casefold() for p in (rel.database, rel.schema, rel.identifier) if p)
    keys.append(full)
    return keys


def _parts(text: str, dialect: str) -> Key | None:
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(text)
    except (TokenError, ValueError):
        return None
    chain = _chain(tokens, 0) if tokens else []
    if not chain or 2 * len(chain) - 1 != len(tokens):
        return None
    return tuple(t.text.casefold() for t in chain)


def _is_name(token: Token) -> bool:
    """Identifiers, and bare words that are keywords elsewhere (a schema called `raw` or `data`)."""
    return token.token_type in (TokenType.VAR, TokenType.IDENTIFIER) or bool(_WORD.match(token.text))


def rewrite_relations(
    sql: str, index: RelationIndex, rename: Mapping[str, str] | None = None
) -> tuple[str, tuple[str, ...]]:
    """Replace every dotted name in `sql` that is a known relation with its dataset name (or with
    `rename[name]` where given).

    Returns the new SQL and the dataset names it reads, in order of first appearance. Names that are
    not relations (CTEs, columns, external tables) are left as they are.
    """
    names = _dotted_names(sql, index.dialect)
    if names is None:
        return sql, ()  # app/sql reports the unparseable SQL with its line
    out: list[str] = []
    read: list[str] = []
    pos = 0
    for start, end, key in names:
        name = index.names.get(key)
        if name is None:
            continue
        if rename:
            name = rename.get(name, name)
        out.append(sql[pos:start])
        out.append(exp.to_identifier(name).sql(dialect=index.dialect))
        pos = end
        if name not in read:
            read.append(name)
    out.append(sql[pos:])
    return "".join(out), tuple(read)


EPHEMERAL_PREFIX = "__dbt__cte__"  # dbt inlines an ephemeral model as the CTE __dbt__cte__<name>


def read_ephemerals(sql: str, ephemerals: Mapping[str, str], dialect: str) -> tuple[str, tuple[str, ...]]:
    """`sql` with the body of each inlined ephemeral model's CTE (`__dbt__cte__stg as (...)`) replaced
    by `select * from <its dataset>`, so the model reads the ephemeral model (the DAG, lineage and blast
    radius go through it) instead of a copy of its SQL. `ephemerals`: model name -> dataset name.
    Lines after the CTE keep their numbers. Returns the SQL and the datasets it now reads."""
    if EPHEMERAL_PREFIX not in sql:
        return sql, ()
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except TokenError:
        return sql, ()
    out: list[str] = []
    read: list[str] = []
    pos = 0
    for i, token in enumerate(tokens[:-2]):
        name = ephemerals.get(token.text.removeprefix(EPHEMERAL_PREFIX))
        if name is None or not token.text.startswith(EPHEMERAL_PREFIX):
            continue
        if (
            tokens[i + 1].token_type is not TokenType.ALIAS
            or tokens[i + 2].token_type is not TokenType.L_PAREN
        ):
            continue  # a reference to the CTE, not its definition
        close = _closing_paren(tokens, i + 2)
        if close is None:
            return sql, ()
        start, end = tokens[i + 2].end + 1, tokens[close].start
        body = f"select * from {exp.to_identifier(name).sql(dialect=dialect)}"
        out += [sql[pos:start], body, "\n" * sql.count("\n", start, end)]
        pos = end
        if name not in read:
            read.append(name)
    out.append(sql[pos:])
    return "".join(out), tuple(read)


def _closing_paren(tokens: list[Token], opening: int) -> int | None:
    depth = 0
    for j in range(opening, len(tokens)):
        if tokens[j].token_type is TokenType.L_PAREN:
            depth += 1
        elif tokens[j].token_type is TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return j
    return None


# Base and head manifests share the compiled SQL of nearly every model: tokenize each text once.
@lru_cache(maxsize=8192)
def _dotted_names(sql: str, dialect: str) -> tuple[tuple[int, int, Key], ...] | None:
    """(start, end, case-folded parts) of every dotted name of 2+ parts that is not a function call."""
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except TokenError:
        return None
    found = []
    i = 0
    while i < len(tokens):
        chain = _chain(tokens, i)
        if len(chain) >= 2 and (i == 0 or tokens[i - 1].token_type is not TokenType.DOT):
            after = i + 2 * len(chain) - 1
            is_call = after < len(tokens) and tokens[after].token_type is TokenType.L_PAREN
            if not is_call:  # token spans include the quotes
                found.append((chain[0].start, chain[-1].end + 1, tuple(t.text.casefold() for t in chain)))
            i = after
            continue
        i += 1
    return tuple(found)


def _chain(tokens: list[Token], i: int) -> list[Token]:
    """The dotted name starting at token i: `a`, `a.b`, `"a"."b"."c"`."""
    if not _is_name(tokens[i]):
        return []
    chain = [tokens[i]]
    j = i + 1
    while j + 1 < len(tokens) and tokens[j].token_type is TokenType.DOT and _is_name(tokens[j + 1]):
        chain.append(tokens[j + 1])
        j += 2
    return chain
