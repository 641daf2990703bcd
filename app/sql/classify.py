"""Classify each model's change between two revisions: unchanged, equivalent (the SQL changed but the
output cannot), changed, added, removed, or renamed (file renamed, same query). The canary runs only
what can change, and renames are reported as renames, not a drop plus an add.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy

from app.sql.analysis import Analysis, ModelAnalysis
from app.sql.canonical import STAGES, canonical_forms, formatting_form
from app.sql.outputs import set_operation_selects
from app.sql.renames import Renames, match_column_renames

KINDS = ("unchanged", "equivalent", "changed", "added", "removed", "renamed")


@dataclass(frozen=True, slots=True)
class ModelChange:
    """How one model changed. `reasons` names the differences an `equivalent` change consists of
    (formatting, aliases, commutative operands, join order, column order, upstream renames);
    `columns_renamed` the output columns renamed (old -> new); `renamed_only`: renames are the whole
    change (the query is the same once they are applied)."""

    name: str
    kind: str  # one of KINDS
    renamed_from: str | None = None
    reasons: tuple[str, ...] = ()
    columns_renamed: tuple[tuple[str, str], ...] = ()
    renamed_only: bool = False

    @property
    def can_change_output(self) -> bool:
        return self.kind in ("changed", "added", "renamed")


def equivalence(
    base: ModelAnalysis,
    head: ModelAnalysis,
    renames: Mapping[str, str] | None = None,
    columns: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | None = None,
) -> tuple[str, ...] | None:
    """Why `head` produces the same output as `base`: () when the SQL is identical, else the kinds of
    difference seen (formatting, aliases, ...); None when the output may differ.

    `renames` maps renamed models (old -> new name) so reading the renamed model is no difference;
    `columns` (old -> new) the upstream columns renamed, `outputs` the model's own outputs renamed.
    """
    if base.sql == head.sql:
        return ()
    if base.dialect != head.dialect:
        return None
    if not columns and not outputs and formatting_form(base) == formatting_form(head):
        return ("formatting",)
    a, b = canonical_forms(base, renames, columns, outputs), canonical_forms(head)
    if not a or not b or _alias_case_differs(base, head):
        return None
    equal_at = next((i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x == y), None)
    if equal_at is None:
        return None
    # the deciding stage, plus the earlier ones that rewrote either side on the way
    reasons = ["formatting"]
    reasons += [STAGES[j + 1] for j in range(1, equal_at) if a[j] != a[j - 1] or b[j] != b[j - 1]]
    reasons.append(STAGES[equal_at + 1])
    return tuple(dict.fromkeys(reasons))


def _alias_case_differs(base: ModelAnalysis, head: ModelAnalysis) -> bool:
    """Whether a column alias is spelled in another case only. Analysis folds names to compare them,
    but DuckDB, BigQuery, Spark... keep an alias's spelling as the output column name (`AS Total` makes
    `Total`), so that is a rename for every case-sensitive reader; dialects folding unquoted names
    (Postgres, Snowflake) fold them here too."""
    a, b = _alias_spellings(base), _alias_spellings(head)
    return any(a[k] != b[k] for k in a.keys() & b.keys())


def _alias_spellings(model: ModelAnalysis) -> dict[str, set[str]]:
    dialect = Dialect.get_or_raise(model.dialect)
    folds = dialect.NORMALIZATION_STRATEGY in (
        NormalizationStrategy.LOWERCASE,
        NormalizationStrategy.UPPERCASE,
    )
    out: dict[str, set[str]] = {}
    for node in model.expression.walk():
        if isinstance(node, exp.Alias):
            idents = [node.args.get("alias")]
        elif isinstance(node, exp.TableAlias):
            idents = list(node.columns)
        else:
            continue
        for ident in idents:
            if isinstance(ident, exp.Identifier):
                name = dialect.normalize_identifier(ident.copy()).name if folds else ident.name
                out.setdefault(name.lower(), set()).add(name)
    # an output no alias names takes the stored name of what it selects (`amount AS Amount` -> `amount`)
    for column in model.columns:
        out.setdefault(column.name.lower(), {column.name})
    return out


# The last classification: the gate asks for the same pair several times (output changes, canary
# selection, verdicts), and on a large project it costs seconds (equivalence compares canonical trees).
_LAST: list[tuple[Analysis | None, Analysis, dict[str, ModelChange], Renames]] = []


def classify_models(base: Analysis | None, head: Analysis) -> dict[str, ModelChange]:
    """Every model of either revision -> its change (renamed models under their new name)."""
    return dict(_classified(base, head)[0])


def change_renames(base: Analysis | None, head: Analysis) -> Renames:
    """The models and output columns this change renames (app.sql.renames)."""
    return _classified(base, head)[1]


def _classified(base: Analysis | None, head: Analysis) -> tuple[dict[str, ModelChange], Renames]:
    last = _LAST[0] if _LAST else None
    if last is not None and last[0] is base and last[1] is head:
        return last[2], last[3]
    out, renames = _classify(base, head)
    _LAST[:] = [(base, head, out, renames)]
    return out, renames


def _classify(base: Analysis | None, head: Analysis) -> tuple[dict[str, ModelChange], Renames]:
    """In DAG order, so the renames of a model are known before its readers are compared."""
    old = dict(base.models) if base is not None else {}
    gone = [n for n in old if n not in head.models and n not in head.broken]  # broken: reported as such
    renames = Renames()
    out: dict[str, ModelChange] = {}
    for name in head.order:
        model = head.models[name]
        if name in old:
            change = _compare(old[name], model, renames, head)
        else:
            change = ModelChange(name, "added")
            for g in gone:
                if g in renames.models:
                    continue
                own = _same_but_renamed(old[g], model, renames)
                if own is not None:
                    renames.models[g] = name
                    change = ModelChange(name, "renamed", renamed_from=g, columns_renamed=own)
                    break
        if change.columns_renamed:
            renames.columns[name] = dict(change.columns_renamed)
        out[name] = change
    for name in gone:
        if name not in renames.models:
            out[name] = ModelChange(name, "removed")
    return out, renames


def _compare(base: ModelAnalysis, head_m: ModelAnalysis, renames: Renames, head: Analysis) -> ModelChange:
    name = head_m.name
    cols = renames.for_reader(base)
    reasons = equivalence(base, head_m, renames.models, cols)
    if reasons == ():
        # the same SQL; its outputs still follow an upstream rename through a star or a bare column
        passed = _passed_on(base, head_m, renames) if cols else ()
        return ModelChange(name, "unchanged", columns_renamed=passed)
    if reasons is not None:
        passed = _passed_on(base, head_m, renames)
        if passed:
            return ModelChange(name, "changed", reasons=reasons, columns_renamed=passed, renamed_only=True)
        if "column order" in reasons and _read_by_position(head, name):
            return ModelChange(name, "changed", reasons=reasons)
        if cols and equivalence(base, head_m, renames.models) is None:
            reasons = (*reasons, "upstream renames")
        return ModelChange(name, "equivalent", reasons=reasons)
    own = dict(_passed_on(base, head_m, renames))
    if not own:
        return ModelChange(name, "changed")
    only = equivalence(base, head_m, renames.models, cols, own) is not None
    return ModelChange(name, "changed", columns_renamed=tuple(own.items()), renamed_only=only)


def _same_but_renamed(
    base: ModelAnalysis, head: ModelAnalysis, renames: Renames
) -> tuple[tuple[str, str], ...] | None:
    """The output columns renamed (maybe none) when `head` is `base` up to renames, else None."""
    cols = renames.for_reader(base)
    if equivalence(base, head, renames.models, cols) is not None:
        return ()
    own = _passed_on(base, head, renames)
    if own and equivalence(base, head, renames.models, cols, dict(own)) is not None:
        return own
    return None


def _passed_on(base: ModelAnalysis, head: ModelAnalysis, renames: Renames) -> tuple[tuple[str, str], ...]:
    """Output columns whose name changed because the upstream column they pass on was renamed."""
    before, after = set(base.column_names), set(head.column_names)
    removed = [c for c in base.column_names if c not in after]
    added = [c for c in head.column_names if c not in before]
    return tuple(match_column_renames(base, head, removed, added, renames).items())


def _read_by_position(head: Analysis, name: str) -> bool:
    """Whether a model reading `name` could depend on its column order: a star (`*`, `m.*`,
    `COLUMNS(*)`) over it that reaches the reader's output, directly or through CTEs and subqueries
    that are themselves star-selected (`with o as (select * from m) select o.id ...` names its columns:
    no). A reorder then changes data downstream, so it is not equivalent (and the canary runs it all)."""
    for child in head.children(name):
        model = head.models.get(child)
        if model is None:
            continue
        tree = model.expression
        if not any(isinstance(n, exp.Star) for n in tree.walk()):
            continue
        ctes = {c.alias: c.this for c in tree.find_all(exp.CTE) if c.alias}
        others = {t.lower() for t in model.reads_tables if t != name}
        if _star_reaches(tree, name.lower(), others, ctes, 0):
            return True
    return False


def _star_reaches(
    query: exp.Expr, name: str, others: set[str], ctes: Mapping[str, exp.Expr], depth: int
) -> bool:
    """Whether a star in `query`'s output takes the columns of `name` (a table not recognisably one of
    `others` counts as `name`: when unsure, positional)."""
    if depth > 32:
        return True
    for select in set_operation_selects(query):
        if not any(isinstance(n, exp.Star) for p in select.expressions for n in p.walk()):
            continue
        sources = [select.args.get("from_") or select.args.get("from")]
        sources += [j for j in select.args.get("joins") or []]
        for source in sources:
            node = source.this if source is not None else None
            if isinstance(node, exp.Subquery):
                if _star_reaches(node.this, name, others, ctes, depth + 1):
                    return True
            elif isinstance(node, exp.Table):
                if not node.args.get("db") and node.name in ctes:
                    if _star_reaches(ctes[node.name], name, others, ctes, depth + 1):
                        return True
                elif node.name.lower() == name or node.name.lower() not in others:
                    return True
            elif node is not None:
                return True  # a function, unnest, values: whatever it is, by position
    return False


def changed_models(base: Analysis | None, head: Analysis) -> set[str]:
    """Models whose own SQL can produce different output: changed, added or renamed."""
    return {n for n, c in classify_models(base, head).items() if c.can_change_output}


def selected_for_canary(head: Analysis, changed: Iterable[str]) -> list[str]:
    """The changed models and everything downstream of them, in DAG order (`state:modified+`). Changed
    models the analysis could not take come last: the canary records them, and skips their readers."""
    picked = {c for c in changed if c in head.models or c in head.broken}
    for c in list(picked):
        picked |= head.downstream(c)
    return [n for n in head.order if n in picked] + sorted(picked & set(head.broken))
