"""Renames of one change: models renamed (old name -> new) and output columns renamed (per head model,
old -> new), followed through lineage so a model that only follows its upstream's renames is no logic
change. [pure]

A column is renamed when the head computes, under a new name, what the base computed under the old one:
the same expression once the upstream renames of this change are applied to the base query, else the
same lineage when that pairing is unambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlglot import exp

from app.sql.analysis import ColumnRef, ModelAnalysis
from app.sql.outputs import set_operation_selects

_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Renames:
    """What a change renamed so far (filled in DAG order): `models` old -> new name, `columns` head model
    -> {old column -> new column}."""

    models: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)

    def for_reader(self, model: ModelAnalysis) -> dict[str, str]:
        """old -> new column names `model` (a base model) can take as renamed: renames of the tables it
        reads, unless another table it reads has a column of the old name (then a name says nothing)."""
        tables = {self.models.get(t, t) for t in model.reads_tables}
        out: dict[str, str] = {}
        for table in tables:
            for old, new in self.columns.get(table, {}).items():
                others = {t for t, c in model.reads if c == old and self.models.get(t, t) != table}
                if not others and out.get(old, new) == new:
                    out[old] = new
        return out


def apply_column_renames(tree: exp.Expr, names: Mapping[str, str]) -> exp.Expr:
    """`tree` (a qualified base query, changed IN PLACE) reading the new names of renamed columns. Inside
    CTEs and subqueries an alias spelled like the column it passes through follows it (`o.old AS old`
    -> `o.new AS new`); the query's own output names stay (whether they follow is the model's change)."""
    if not names:
        return tree
    outputs = {id(p) for s in set_operation_selects(tree) for p in s.expressions}
    for alias in list(tree.find_all(exp.Alias)):
        inner, ident = alias.this, alias.args.get("alias")
        if (
            id(alias) not in outputs
            and isinstance(inner, exp.Column)
            and isinstance(ident, exp.Identifier)
            and inner.name == ident.name
            and ident.name in names
        ):
            ident.set("this", names[ident.name])
    for column in list(tree.find_all(exp.Column)):
        ident = column.this
        if isinstance(ident, exp.Identifier) and ident.name in names:
            ident.set("this", names[ident.name])
    return tree


def rename_outputs(tree: exp.Expr, names: Mapping[str, str]) -> None:
    """Give the output columns of a qualified query (IN PLACE) their new names."""
    for select in set_operation_selects(tree):
        for proj in select.expressions:
            ident = proj.args.get("alias") if isinstance(proj, exp.Alias) else None
            if isinstance(ident, exp.Identifier) and ident.name in names:
                new = names[ident.name]
                # an engine-named output (`"(1 - rate)"`) renamed to a plain name is written unquoted
                proj.set("alias", exp.Identifier(this=new, quoted=not _PLAIN.fullmatch(new)))


def projection_sql(query: exp.Expr, name: str) -> str | None:
    """The expression computing output `name` (alias stripped) in a qualified query, as SQL."""
    selects = set_operation_selects(query)
    if not selects:
        return None
    for proj in selects[0].expressions:
        if proj.alias_or_name == name:
            body: exp.Expr = (
                proj.this if proj.args.get("alias") is not None and proj.this is not None else proj
            )
            return body.sql(comments=False)
    return None


def match_column_renames(
    base: ModelAnalysis,
    head: ModelAnalysis,
    removed: list[str],
    added: list[str],
    renames: Renames | None = None,
) -> dict[str, str]:
    """old -> new for removed/added pairs computing the same thing: identical expression (with the
    upstream renames of this change applied to the base), else the same (non-empty) lineage when that
    pairing is unambiguous."""
    if not removed or not added:
        return {}
    upstream = renames.for_reader(base) if renames is not None else {}
    out: dict[str, str] = {}
    free = list(added)
    old_tree = apply_column_renames(base.qualified.copy(), upstream) if upstream else base.qualified
    for a in removed:
        expr = projection_sql(old_tree, a)
        hit = next((b for b in free if expr is not None and projection_sql(head.qualified, b) == expr), None)
        if hit is not None:
            out[a] = hit
            free.remove(hit)
    for a in [r for r in removed if r not in out]:
        lineage = _renamed_lineage(base.lineage.get(a), renames)
        same = [b for b in free if lineage and head.lineage.get(b) == lineage]
        others = [
            r
            for r in removed
            if r not in out and r != a and _renamed_lineage(base.lineage.get(r), renames) == lineage
        ]
        if len(same) == 1 and not others:
            out[a] = same[0]
            free.remove(same[0])
    return out


def _renamed_lineage(
    refs: frozenset[ColumnRef] | None, renames: Renames | None
) -> frozenset[ColumnRef] | None:
    """Base lineage under the names the head uses for the same upstream columns."""
    if not refs or renames is None:
        return refs
    out = set()
    for table, column in refs:
        table = renames.models.get(table, table)
        out.add((table, renames.columns.get(table, {}).get(column, column)))
    return frozenset(out)
