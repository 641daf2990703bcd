"""Column-level lineage of one model in a single pass over its qualified tree.

sqlglot's `lineage()` re-walks the query once per column, which is far too slow for 1,000 models of
30 columns. Here every scope's output column is resolved once (memoized) through CTEs, derived
tables, unions and scalar subqueries down to base tables: models and sources.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, build_scope

from app.sql.analysis import ColumnRef
from app.sql.pivots import DYNAMIC

_EMPTY: frozenset[ColumnRef] = frozenset()


class _Walker:
    def __init__(
        self, root: Scope, known: Iterable[str], schema: Mapping[str, Mapping[str, object]] | None = None
    ) -> None:
        self.known = set(known)
        self.schema = schema or {}
        self.memo: dict[tuple[int, int], frozenset[ColumnRef]] = {}
        # columns being computed -> what they read so far, and per computation the ones it found unfinished
        self.partial: dict[tuple[int, int], frozenset[ColumnRef]] = {}
        self.cycles: list[set[tuple[int, int]]] = [set()]
        self.by_expression: dict[int, Scope] = {}
        self.names: dict[int, list[str]] = {}  # `named_selects` is recomputed on every access
        self.scopes = list(root.traverse())
        self.ctes: dict[str, Scope] = {}
        for scope in self.scopes:
            self.by_expression[id(scope.expression)] = scope
            if scope.is_cte and isinstance(scope.expression.parent, exp.CTE):
                self.ctes.setdefault(scope.expression.parent.alias_or_name, scope)

    def output(self, scope: Scope, name: str) -> frozenset[ColumnRef]:
        """The base columns output column `name` of `scope` is computed from."""
        if not isinstance(scope.expression, exp.Query):
            return self.output_at(scope, 0)  # a table function: every column comes from its arguments
        names = self._names(scope)
        return self.output_at(scope, names.index(name)) if name in names else _EMPTY

    def output_at(self, scope: Scope, index: int) -> frozenset[ColumnRef]:
        key = (id(scope), index)
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        if key in self.partial:  # a recursive CTE reading itself: what it is known to read so far
            self.cycles[-1].add(key)
            return self.partial[key]
        self.partial[key] = _EMPTY
        self.cycles.append(set())
        try:
            while True:  # to a fixpoint: `select b as a, a as b from r` swaps r's columns each round
                result = self._output_at(scope, index)
                if key not in self.cycles[-1] or result == self.partial[key]:
                    break
                self.partial[key] = result
                self.cycles[-1].clear()
        finally:
            others = self.cycles.pop() - {key}
            del self.partial[key]
        if others:  # read an unfinished column of an enclosing recursive CTE: recomputed with it
            self.cycles[-1] |= others
        else:
            self.memo[key] = result
        return result

    def _output_at(self, scope: Scope, index: int) -> frozenset[ColumnRef]:
        query = scope.expression
        if scope.set_operation_scopes:
            found: set[ColumnRef] = set()
            # UNION BY NAME (DuckDB) pairs the branches' columns by name, not by position
            names = self._names(scope) if query.args.get("by_name") else []
            name = names[index] if index < len(names) else None
            for branch in scope.set_operation_scopes:
                found |= self.output_at(branch, index) if name is None else self.output(branch, name)
            return frozenset(found)
        if isinstance(query, exp.Select) and index < len(query.selects):
            return self.expr_refs(scope, query.selects[index])
        if not isinstance(query, exp.Query):
            # a table function (UNNEST, LATERAL FLATTEN, ...): its values come from its arguments
            return self.expr_refs(scope, query)
        return _EMPTY

    def _names(self, scope: Scope) -> list[str]:
        if scope.outer_columns:
            return scope.outer_columns
        key = id(scope.expression)
        if key not in self.names:
            query = scope.expression
            self.names[key] = query.named_selects if isinstance(query, exp.Query) else []
        return self.names[key]

    def expr_refs(self, scope: Scope, node: exp.Expr) -> frozenset[ColumnRef]:
        """Base columns an expression of `scope` reads; a nested query contributes all it reads."""
        found: set[ColumnRef] = set()
        for n in node.walk(prune=lambda n: isinstance(n, exp.Query) and n is not node):
            if isinstance(n, exp.Column):
                found |= self.column(scope, n)
            elif isinstance(n, exp.Query) and n is not node:
                inner = self.by_expression.get(id(n)) or self.by_expression.get(id(n.unnest()))
                if inner is not None:
                    found |= self.scope_reads(inner)
        return frozenset(found)

    def column(
        self, scope: Scope, column: exp.Column, beneath: exp.Pivot | None = None
    ) -> frozenset[ColumnRef]:
        """The base columns `column` reads; `beneath` is a pivot it is read below (its input, not its output)."""
        table = column.table
        if not table:
            return _EMPTY  # an output alias (ORDER BY total) or a struct field: no base column
        current: Scope | None = scope
        source = None
        while current is not None and source is None:
            # an UNPIVOT without an alias takes its table's (sqlglot's qualify): that name means its output,
            # but its own input where read inside it
            pivot = next((p for p in current.pivots if p.alias == table), None)
            if pivot is not None and pivot is not (beneath or column.find_ancestor(exp.Pivot)):
                return self.pivoted(current, pivot, column.name)
            source = current.sources.get(table)
            if isinstance(source, Scope) and isinstance(source.expression.parent, exp.SetOperation):
                # sqlglot points a recursive CTE's reference to itself at its anchor branch alone
                node = current.selected_sources.get(table, (None, None))[0]
                cte = self.ctes.get(node.name) if isinstance(node, exp.Table) else None
                source = cte if cte is not None and cte.expression is source.expression.parent else source
            current = current.parent
        if isinstance(source, Scope):
            return self.output(source, column.name)
        if isinstance(source, exp.Table) and source.name in self.known:
            return frozenset({(source.name, column.name)})
        return _EMPTY

    def pivoted(self, scope: Scope, pivot: exp.Pivot, name: str) -> frozenset[ColumnRef]:
        """An output column of a PIVOT or UNPIVOT: one it generates derives from every column it reads
        (the aggregated and the FOR column; the unpivoted ones) but those it groups by, which decide its
        rows; any other passes through by name."""
        generated = {i.name for i in pivot.args.get("columns") or ()}
        if pivot.args.get("unpivot"):
            values = (
                v for e in pivot.expressions for v in (e.expressions if isinstance(e, exp.Tuple) else [e])
            )
            generated |= {v.alias_or_name for v in values}
            generated |= {f.this.name for f in pivot.args.get("fields") or () if isinstance(f, exp.In)}
        pivoted = pivot.parent
        if not isinstance(pivoted, (exp.Table, exp.Subquery)):  # pragma: no cover - sqlglot's shapes
            return _EMPTY
        passed = self.column(scope, exp.column(name, table=pivoted.alias_or_name), beneath=pivot)
        if name not in generated:
            return passed
        found: set[ColumnRef] = set()
        for col in _pivot_inputs(pivot):
            found |= self.column(scope, col)
        source = self.pivot_source_columns(scope, pivot)
        if pivot.meta.get(DYNAMIC) and not pivot.args.get("group") and (source is None or name in source):
            found |= passed  # a name read of it: a pivoted value or a column passed through
        return frozenset(found)

    def pivot_rows(self, scope: Scope, pivot: exp.Pivot) -> frozenset[ColumnRef]:
        """The base columns that decide a PIVOT's rows: those it groups by, which are the columns it
        passes through unless it says GROUP BY (all it reads when those are unknown)."""
        group = pivot.args.get("group")
        if group is not None:
            return self.expr_refs(scope, group)
        pivoted = pivot.parent
        source = self.pivot_source_columns(scope, pivot)
        if source is None or not isinstance(pivoted, (exp.Table, exp.Subquery)):
            return self.expr_refs(scope, pivot)
        read = {c.name for c in pivot.find_all(exp.Column)}
        found: set[ColumnRef] = set()
        for name in sorted(source - read):
            found |= self.column(scope, exp.column(name, table=pivoted.alias_or_name), beneath=pivot)
        return frozenset(found)

    def pivot_source_columns(self, scope: Scope, pivot: exp.Pivot) -> frozenset[str] | None:
        """The columns of the table or derived table a pivot reads; None when they are unknown."""
        pivoted = pivot.parent
        if isinstance(pivoted, exp.Table) and pivoted.name in self.schema and pivoted.name in self.known:
            return frozenset(self.schema[pivoted.name])
        source = scope.sources.get(pivoted.alias_or_name) if pivoted is not None else None
        if isinstance(source, Scope) and isinstance(source.expression, exp.Query):
            return frozenset(self._names(source))
        return None

    def scope_reads(self, scope: Scope) -> frozenset[ColumnRef]:
        """Everything a (sub)query reads, including its own nested scopes."""
        found: set[ColumnRef] = set()
        for inner in scope.traverse():
            for col in inner.columns:
                found |= self.column(inner, col)
        return frozenset(found)


def column_lineage(
    query: exp.Query,
    known_tables: Iterable[str],
    schema: Mapping[str, Mapping[str, object]] | None = None,
) -> tuple[dict[str, frozenset[ColumnRef]], frozenset[ColumnRef], frozenset[ColumnRef]]:
    """For a qualified query: each output column's base columns, every base column read anywhere, and
    the base columns that decide which rows it returns (filters, joins, grouping, DISTINCT, ...).

    `known_tables` are the model and source names the query's tables were renamed to; `schema` their
    columns, where known (what a PIVOT passes through is the rest of them).
    """
    root = build_scope(query)
    if root is None:  # pragma: no cover - only for non-queries, which parse_model rejects
        return {}, _EMPTY, _EMPTY
    walker = _Walker(root, known_tables, schema)
    outputs = {name: walker.output(root, name) for name in query.named_selects}
    reads: set[ColumnRef] = set()
    rows: set[ColumnRef] = set()
    for scope in walker.scopes:
        for col in scope.columns:
            refs = walker.column(scope, col)
            reads |= refs
            if refs and _decides_rows(scope, col):
                rows |= refs
        for pivot in scope.pivots:
            if not pivot.args.get("unpivot"):
                rows |= walker.pivot_rows(scope, pivot)
        rows |= _distinct_on_rows(walker, scope)
    for refs in outputs.values():
        reads |= refs
    return outputs, frozenset(reads), frozenset(rows)


def _decides_rows(scope: Scope, column: exp.Column) -> bool:
    """Whether `column` is read where it decides the query's rows (WHERE, JOIN, GROUP BY [ALL], HAVING,
    QUALIFY, DISTINCT or DISTINCT ON's expressions, ORDER BY with LIMIT or DISTINCT ON, UNNEST in a
    projection, or a subquery in one of them), not only for a value."""
    node: exp.Expr = column
    current: Scope | None = scope
    while current is not None and current.is_subquery:
        # a subquery's own rows matter as far as where it sits in the query around it does
        node, current = current.expression, current.parent
    if current is None:  # pragma: no cover - a subquery always has a parent scope
        return True
    select = current.expression
    distinct = select.args.get("distinct")
    if not isinstance(select, exp.Select) or (distinct is not None and not distinct.args.get("on")):
        return True  # a table function's arguments decide its rows; DISTINCT: every projection does
    pivot = column.find_ancestor(exp.Pivot, exp.Select)
    if isinstance(pivot, exp.Pivot) and not pivot.args.get("unpivot"):
        return False  # what a PIVOT groups by decides its rows (_Walker.pivot_rows), not what it reads
    while node.parent is not None and node.parent is not select:
        node = node.parent
    if node.arg_key == "order":  # with DISTINCT ON, the order picks the row kept of each group
        return bool(select.args.get("limit") or select.args.get("offset") or distinct)
    if node.arg_key != "expressions":
        return True
    if isinstance(column.find_ancestor(exp.Explode, exp.Unnest, exp.Select), (exp.Explode, exp.Unnest)):
        return True  # `select unnest(tags)`: a row per element
    group = select.args.get("group")
    if group is not None and group.args.get("all"):  # GROUP BY ALL groups by every plain projection
        return not isinstance(
            column.find_ancestor(exp.AggFunc, exp.Window, exp.Select), (exp.AggFunc, exp.Window)
        )
    # a projection of the query, a CTE, a derived table or a union branch only computes a value
    return False


def _distinct_on_rows(walker: _Walker, scope: Scope) -> frozenset[ColumnRef]:
    """What DISTINCT ON's expressions and ORDER BY read: which rows it keeps, and which of each group.
    sqlglot leaves their names unqualified (`DISTINCT ON (customer_id)`): each is the projection so named,
    or else a column of the query's one source."""
    select = scope.expression
    distinct = select.args.get("distinct") if isinstance(select, exp.Select) else None
    if distinct is None or not distinct.args.get("on"):
        return _EMPTY
    found: set[ColumnRef] = set()
    for part in (distinct.args["on"], select.args.get("order")):
        for col in part.find_all(exp.Column) if part is not None else ():
            if not _decides_rows(scope, col):
                continue
            refs = walker.column(scope, col)
            if not refs and not col.table:
                refs = walker.output(scope, col.name)
                if not refs and len(scope.selected_sources) == 1:
                    refs = walker.column(
                        scope, exp.column(col.name, table=next(iter(scope.selected_sources)))
                    )
            found |= refs
    return frozenset(found)


def _pivot_inputs(pivot: exp.Pivot) -> list[exp.Column]:
    """The columns a pivoted value is computed from: the aggregated and the FOR ones, not GROUP BY's."""
    return [
        c
        for c in pivot.find_all(exp.Column)
        if not isinstance(c.find_ancestor(exp.Group, exp.Pivot), exp.Group)
    ]
