"""The names an engine gives output columns nobody named: DuckDB calls `select 1 - rate` column
`(1 - rate)`, so a rename of it reads `(1 - rate) -> other_share`, as the user sees it in the
warehouse, not sqlglot's `_col_3`. [pure]

Only the shapes whose DuckDB spelling is known are named (checked against DuckDB in the tests);
anything else keeps sqlglot's positional name.
"""

from __future__ import annotations

from sqlglot import exp

from app.sql.outputs import set_operation_selects

_OPERATORS: dict[type[exp.Expr], str] = {
    exp.Add: "+",
    exp.Sub: "-",
    exp.Mul: "*",
    exp.Div: "/",
    exp.Mod: "%",
    exp.EQ: "=",
    exp.NEQ: "!=",
    exp.GT: ">",
    exp.GTE: ">=",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.And: "AND",
    exp.Or: "OR",
    exp.DPipe: "||",
}
# functions DuckDB prints lowercased as written, and sqlglot parses without renaming
_FUNCTIONS: dict[type[exp.Expr], str] = {
    exp.Sum: "sum",
    exp.Avg: "avg",
    exp.Min: "min",
    exp.Max: "max",
    exp.Count: "count",
    exp.Round: "round",
    exp.Abs: "abs",
    exp.Upper: "upper",
    exp.Lower: "lower",
}


def name_unnamed(query: exp.Expr, dialect: str) -> None:
    """Alias (IN PLACE) the unnamed output expressions of `query` with the engine's name for them."""
    if dialect != "duckdb":
        return
    selects = set_operation_selects(query)
    if not selects:
        return
    taken = {p.alias_or_name for p in selects[0].expressions}
    for proj in list(selects[0].expressions):
        if isinstance(proj, (exp.Alias, exp.Column, exp.Star)):
            continue
        name = duckdb_name(proj)
        if name is not None and name not in taken:
            taken.add(name)
            proj.replace(exp.alias_(proj.copy(), exp.Identifier(this=name, quoted=True)))


def duckdb_name(node: exp.Expr) -> str | None:
    """DuckDB's name for an unnamed select expression, or None when its spelling is not known here."""
    if isinstance(node, exp.Paren):
        return duckdb_name(node.this)
    if isinstance(node, exp.Column):
        parts = [p for p in (node.args.get("table"), node.this) if p is not None]
        if not all(isinstance(p, exp.Identifier) and not p.quoted for p in parts):
            return None
        return ".".join(p.name for p in parts)
    if isinstance(node, exp.Literal):
        return f"'{node.this}'" if node.is_string else str(node.this)
    if isinstance(node, exp.Boolean):
        return "true" if node.this else "false"
    if isinstance(node, exp.Null):
        return "NULL"
    if type(node) in _OPERATORS and isinstance(node, exp.Binary):
        left, right = duckdb_name(node.this), duckdb_name(node.expression)
        return None if left is None or right is None else f"({left} {_OPERATORS[type(node)]} {right})"
    if isinstance(node, exp.Neg):
        inner = duckdb_name(node.this)
        if inner is None:
            return None
        return f"-{inner}" if isinstance(node.this, exp.Literal) and node.this.is_number else f"(-({inner}))"
    if isinstance(node, exp.Not):
        if isinstance(node.this, exp.Is) and isinstance(node.this.expression, exp.Null):
            inner = duckdb_name(node.this.this)
            return None if inner is None else f"({inner} IS NOT NULL)"
        inner = duckdb_name(node.this)
        return None if inner is None else f"(NOT {inner})"
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        inner = duckdb_name(node.this)
        return None if inner is None else f"({inner} IS NULL)"
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Star):
        return "count_star()"
    if isinstance(node, exp.Coalesce):
        return _call("COALESCE", [node.this, *node.expressions])
    if type(node) in _FUNCTIONS:
        args = [a for a in (node.this, *node.expressions, node.args.get("decimals")) if a is not None]
        if isinstance(node.this, exp.Distinct):
            inner = _call("", list(node.this.expressions))
            return None if inner is None else f"{_FUNCTIONS[type(node)]}(DISTINCT {inner[1:-1]})"
        return _call(_FUNCTIONS[type(node)], args)
    if isinstance(node, exp.Anonymous):
        return _call(node.name.lower(), list(node.expressions))
    return None


def _call(name: str, args: list[exp.Expr]) -> str | None:
    names = [duckdb_name(a) for a in args]
    if any(n is None for n in names):
        return None
    return f"{name}({', '.join(n for n in names if n is not None)})"
