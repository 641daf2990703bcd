"""Canonical forms of a model's query, for telling a change that cannot alter the output from one that can.

Each stage removes one kind of difference, cumulatively: formatting and comments, internal alias
names (CTEs, table aliases), operand order of commutative operators, what sqlglot's optimizer
simplifies, the order of inner joins (and of independent LEFT JOINs), and the order of output
columns. Two queries are equivalent when some stage makes them equal. Anything not handled here
stays different: "changed" is always the safe answer.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.canonicalize import canonicalize
from sqlglot.optimizer.canonicalize_internal_names import canonicalize_internal_names
from sqlglot.optimizer.pushdown_projections import pushdown_projections
from sqlglot.optimizer.simplify import simplify

from app.sql.analysis import ModelAnalysis
from app.sql.parse import cte_references
from app.sql.renames import apply_column_renames, rename_outputs

STAGES = ("formatting", "aliases", "commutative operands", "simplified", "join order", "column order")
_PLACEHOLDER_DB = "__datacanary"
_SWAP: dict[type[exp.Expr], type[exp.Binary]] = {exp.GT: exp.LT, exp.GTE: exp.LTE}
_COMMUTATIVE = (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ)
# `+` concatenates strings in T-SQL and lists in DuckDB, and `*` is not always arithmetic either: they
# commute only between operands typed numeric (annotate_types), never on a guess
_ARITHMETIC = (exp.Add, exp.Mul)


def formatting_form(model: ModelAnalysis) -> str:
    """The query as sqlglot prints it: whitespace, comments and keyword case gone."""
    return model.expression.sql(dialect=model.dialect, comments=False)


def canonical_forms(
    model: ModelAnalysis,
    renames: Mapping[str, str] | None = None,
    columns: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | None = None,
    drop: Collection[str] | None = None,
) -> list[str]:
    """The query after each stage past `formatting` (len(STAGES) - 1 strings), `renames` (old table
    name -> new) and `columns` (old column name -> new, app.sql.renames) applied to what it reads
    first, and `outputs` (old output name -> new) to its own output columns; the output columns in
    `drop` are left out, with what only they read (given `drop`, even empty, what
    no output reads is left out of CTEs and subqueries). Empty when a stage cannot run."""
    tree: exp.Expr = apply_column_renames(model.qualified.copy(), columns or {})
    if outputs:
        rename_outputs(tree, outputs)
    if drop is not None and isinstance(tree, exp.Select):
        tree.set("expressions", [p for p in tree.expressions if p.alias_or_name not in set(drop)])
        try:
            tree = pushdown_projections(tree)
        except (SqlglotError, RecursionError):
            return []
    ctes = cte_references(tree) if tree.find(exp.With) else set()  # a CTE named like a table it reads
    for table in tree.find_all(exp.Table):
        if id(table) in ctes:
            continue
        if isinstance(table.this, exp.Identifier) and table.name in set(model.reads_tables):
            if renames and table.name in renames:
                table.set("this", exp.Identifier(this=renames[table.name], quoted=True))
            # canonicalize_internal_names keeps a table's name only when it is db-qualified
            table.set("db", exp.Identifier(this=_PLACEHOLDER_DB, quoted=True))
    steps: list[Callable[[exp.Expr], exp.Expr]] = [
        lambda t: _renumber(canonicalize_internal_names(t)),
        _sort_commutative,
        _simplify,
        _sort_inner_joins,
        _sort_output_columns,
    ]
    out = []
    try:
        for step in steps:
            tree = step(tree)
            # printing does not change the tree (no dialect transforms): no copy of it
            out.append(tree.sql(comments=False, copy=False))
    except (SqlglotError, RecursionError):
        return []
    return out


def _simplify(tree: exp.Expr) -> exp.Expr:
    """sqlglot's optimizer rules that keep the result: canonicalize (casts, date functions, boolean
    forms) and simplify (`a between 1 and 5` / `a >= 1 and a <= 5`, `not a = b` / `a <> b`, constant
    conditions), then operands in one order again. A tree they cannot take stays as it is."""
    try:
        return _sort_commutative(simplify(canonicalize(tree.copy())))
    except (SqlglotError, RecursionError, ValueError, TypeError):
        return tree


def _key(node: exp.Expr) -> str:
    return node.sql(comments=False, copy=False)


def _sort_commutative(tree: exp.Expr) -> exp.Expr:
    """a = b / b = a, a + b / b + a, a > b / b < a, and the operands of AND/OR chains, in one order.

    Children are put in order before their parents, so equal subtrees print equally when sorted.
    """
    _drop_redundant_parens(tree)
    for node in reversed(list(tree.walk())):
        if type(node) in _SWAP:
            swapped = _SWAP[type(node)](this=node.expression, expression=node.this)
            node.replace(swapped)
            node = swapped
        if isinstance(node, exp.Connector) and isinstance(node, (exp.And, exp.Or)):
            if type(node.parent) is type(node):
                continue  # the head of the chain sorts all of it
            # `x and true` is x, `x or false` is x: simplify leaves them where a qualified column is
            # quoted (`"_t0".c < a and (c < a or d)` comes out as `"_t0".c < a and true`)
            neutral = isinstance(node, exp.And)
            kept = [o for o in node.flatten() if not (isinstance(o, exp.Boolean) and o.this is neutral)]
            if not kept:
                node.replace(exp.Boolean(this=neutral))
                continue
            if len(kept) == 1:
                node.replace(kept[0])
                continue
            operands = sorted(kept, key=_key)
            join = exp.and_ if isinstance(node, exp.And) else exp.or_
            joined = join(*operands, copy=False)
            node.replace(joined)
        elif _commutes(node) and _key(node.expression) < _key(node.this):
            left, right = node.this, node.expression
            node.set("this", right)
            node.set("expression", left)
    return tree


def _commutes(node: exp.Expr) -> bool:
    if isinstance(node, _COMMUTATIVE):
        return True
    return isinstance(node, _ARITHMETIC) and all(
        operand is not None and operand.type is not None and operand.type.is_type(*exp.DataType.NUMERIC_TYPES)
        for operand in (node.this, node.expression)
    )


_ATOMS = (exp.Column, exp.Literal, exp.Func, exp.Boolean, exp.Null, exp.Identifier)
# parents whose child is a whole expression on its own: parentheses there group nothing
_CLAUSES = (
    exp.Where,
    exp.Having,
    exp.Qualify,
    exp.Alias,
    exp.Select,
    exp.Join,
    exp.Ordered,
    exp.Group,
    exp.Cast,
)


def _drop_redundant_parens(tree: exp.Expr) -> None:
    """Remove parentheses that cannot change how an expression groups: around atoms, around a whole
    clause, alias or function argument, and an AND inside an AND (or OR inside OR). Others stay."""
    for paren in list(tree.find_all(exp.Paren)):
        inner, parent = paren.this, paren.parent
        if inner is None or isinstance(inner, exp.Query):
            continue
        whole = isinstance(parent, _CLAUSES) or (
            isinstance(parent, exp.Func) and not isinstance(parent, (exp.Binary, exp.Unary))
        )
        same_chain = isinstance(parent, (exp.And, exp.Or)) and type(parent) is type(inner)
        atom = isinstance(inner, exp.Paren) or (
            isinstance(inner, _ATOMS) and not isinstance(inner, (exp.Binary, exp.Unary))
        )
        if atom or whole or same_chain:
            paren.replace(inner)


def _inner(join: exp.Join) -> bool:
    kind = (join.args.get("kind") or "").upper()
    return (
        not join.args.get("side")
        and kind in ("", "INNER", "CROSS")
        and not join.args.get("using")
        and not join.args.get("method")
        and not isinstance(join.this, (exp.Lateral, exp.Unnest))
    )


def _sort_inner_joins(tree: exp.Expr) -> exp.Expr:
    """A select whose joins are all inner becomes FROM the sources in one order, joined on TRUE, with
    the ON conditions moved into WHERE (the same rows, as SQL defines inner joins)."""
    for select in list(tree.find_all(exp.Select)):
        joins = select.args.get("joins") or []
        from_ = select.args.get("from_") or select.args.get("from")
        if joins and from_ is not None and _independent_left_joins(from_.this, joins):
            keys = [_unaliased_key(j.this) for j in joins]
            if len(set(keys)) == len(keys):
                select.set(
                    "joins", [j for _, j in sorted(zip(keys, joins, strict=True), key=lambda kj: kj[0])]
                )
            continue
        if not joins or from_ is None or not all(_inner(j) for j in joins):
            continue
        sources = [from_.this] + [j.this for j in joins]
        conditions = [j.args["on"] for j in joins if j.args.get("on") is not None]
        where = select.args.get("where")
        if where is not None:
            conditions.append(where.this)
        # by what is read, not by alias: aliases are renumbered below in the new order
        ordered = sorted(sources, key=_unaliased_key)
        select.set("joins", [exp.Join(this=s, kind="CROSS") for s in ordered[1:]])
        from_.set("this", ordered[0])
        if conditions:
            select.set("where", exp.Where(this=exp.and_(*conditions, copy=False)))
    return _sort_commutative(_renumber(tree))


def _independent_left_joins(driving: exp.Expr, joins: list[exp.Join]) -> bool:
    """LEFT JOINs each matched on the driving table and the joined one only: every one extends a
    driving row by its own matches, whatever the order (fan-outs multiply the same way)."""
    first = driving.alias_or_name
    for join in joins:
        on = join.args.get("on")
        if (
            (join.args.get("side") or "").upper() != "LEFT"
            or (join.args.get("kind") or "").upper() not in ("", "OUTER")
            or join.args.get("using")
            or join.args.get("method")
            or on is None
            or not isinstance(join.this, (exp.Table, exp.Subquery))
            or on.find(exp.Select) is not None
        ):
            return False
        tables = {c.table for c in on.find_all(exp.Column)}
        if not tables <= {first, join.this.alias_or_name} or "" in tables:
            return False
    return True


def _unaliased_key(source: exp.Expr) -> str:
    bare = source.copy()
    bare.set("alias", None)
    return _key(bare)


def _renumber(tree: exp.Expr) -> exp.Expr:
    """Name CTEs _w0, _w1, ... and table aliases _t0, _t1, ... in the order they are defined, so the
    names no longer depend on what they were called or where they were first used."""
    ctes: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for node in tree.walk(bfs=False):
        if isinstance(node, exp.TableAlias) and isinstance(node.this, exp.Identifier):
            if isinstance(node.parent, exp.CTE):
                ctes.setdefault(node.this.name, f"_w{len(ctes)}")
            else:
                aliases.setdefault(node.this.name, f"_t{len(aliases)}")
    for ident in list(tree.find_all(exp.Identifier)):
        parent, role = ident.parent, ident.arg_key
        if isinstance(parent, exp.Table) and role == "this":
            names = ctes if parent.args.get("db") is None else {}  # a base table's own name stays
        elif isinstance(parent, exp.TableAlias):
            names = ctes if isinstance(parent.parent, exp.CTE) else aliases
        elif isinstance(parent, exp.Column) and role == "table":
            names = aliases
        else:
            continue
        if ident.name in names:
            ident.set("this", names[ident.name])
    return tree


def _sort_output_columns(tree: exp.Expr) -> exp.Expr:
    """Output columns of the top-level SELECT in name order: the same set, in another order, is the
    same data (positions matter to `SELECT *` readers, which the report notes separately). Columns of
    CTEs and subqueries too, where the query reads them by name (stars are expanded by now), then the
    internal names are given again in the new order."""
    inner = [
        s
        for s in tree.find_all(exp.Select)
        if s is not tree and not isinstance(s.parent, exp.SetOperation) and not _reads_positions(s)
    ]
    # a set operation pairs columns by position, and so does a star qualify could not expand
    if inner and not any(isinstance(n, (exp.SetOperation, exp.Star)) for n in tree.walk()):
        # sorting renumbers what later CTEs read, which changes their order in turn: until it settles
        before = None
        for _ in range(8):
            for select in tree.find_all(exp.Select):
                if select is not tree and not _reads_positions(select):
                    select.set("expressions", sorted(select.expressions, key=lambda p: _key(p.unalias())))
            tree = _renumber(canonicalize_internal_names(tree))
            now = _key(tree)
            if now == before:
                break
            before = now
    for group in tree.find_all(exp.Group):  # grouping keys are a set; ROLLUP and friends are not
        if not any(group.args.get(k) for k in ("grouping_sets", "cube", "rollup", "totals", "all")):
            if not any(isinstance(e, exp.Literal) for e in group.expressions):
                group.set("expressions", sorted(group.expressions, key=_key))
    if isinstance(tree, exp.Select) and not _reads_positions(tree):
        tree.set("expressions", sorted(tree.expressions, key=lambda p: (p.alias_or_name, _key(p))))
    return tree


def _reads_positions(select: exp.Select) -> bool:
    """Whether a clause of `select` depends on the order of its outputs: an ordinal (`ORDER BY 1`,
    `GROUP BY 2`, `DISTINCT ON (1)`) or `ORDER BY ALL`, which sorts by the columns left to right, so
    under LIMIT another column order keeps other rows. (`GROUP BY ALL` groups by a set: no.)"""
    for arg in ("group", "order", "distinct", "sort", "distribute", "cluster"):  # the last: Spark/Hive
        node = select.args.get(arg)
        if node is None:
            continue
        for n in node.walk():
            if isinstance(n, exp.Literal) and n.is_int:
                return True
            if arg != "group" and isinstance(n, exp.Ordered) and _is_all(n.this):
                return True
    return False


def _is_all(node: exp.Expr) -> bool:
    return (
        isinstance(node, (exp.Var, exp.Column)) and not node.args.get("table") and node.name.upper() == "ALL"
    )
