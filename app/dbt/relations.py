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

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

from app.dbt.manifest import Relation

Key = tuple[str, ...]
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


@dataclass(frozen=True, slots=True)
class RelationIndex:
    """Relation parts (case-folded) -> dataset name, for one manifest and dialect."""

    dialect: str
    names: Mapping[Key, str]
    longest: int

    @staticmethod
    def build(relations: Mapping[str, Relation], dialect: str) -> RelationIndex:
        """`relations` maps each dataset name to where dbt put it."""
        names: dict[Key, str] = {}
        for name, rel in relations.items():
            for key in _keys(rel, dialect):
                names.setdefault(key, name)
        return RelationIndex(dialect, names, max((len(k) for k in names), default=1))


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
    dialect = Dialect.get_or_raise(index.dialect)
    try:
        tokens = dialect.tokenize(sql)
    except TokenError:
        return sql, ()  # app/sql reports the unparseable SQL with its line
    out: list[str] = []
    read: list[str] = []
    pos = 0
    i = 0
    while i < len(tokens):
        chain = _chain(tokens, i)
        if len(chain) >= 2 and (i == 0 or tokens[i - 1].token_type is not TokenType.DOT):
            key = tuple(t.text.casefold() for t in chain)
            name = index.names.get(key)
            if name is not None and rename:
                name = rename.get(name, name)
            following = tokens[i + 2 * len(chain) - 1] if i + 2 * len(chain) - 1 < len(tokens) else None
            is_call = following is not None and following.token_type is TokenType.L_PAREN
            if name is not None and not is_call:
                start, end = chain[0].start, chain[-1].end + 1  # token spans include quotes
                out.append(sql[pos:start])
                out.append(exp.to_identifier(name).sql(dialect=index.dialect))
                pos = end
                if name not in read:
                    read.append(name)
            i += 2 * len(chain) - 1
            continue
        i += 1
    out.append(sql[pos:])
    return "".join(out), tuple(read)


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
