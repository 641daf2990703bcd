"""One verdict per directly changed model, from the SQL and the model's properties alone. [pure]

    equivalent       the SQL changed, the output cannot (formatting, aliases, operand or join order, ...)
    dialect_rewrite  the SQL is spelled another way the engine reads the same (`IFNULL` / `COALESCE`,
                     `::` / `CAST`, `<>` / `!=`): equal once sqlglot has parsed it
    rename           the model or some of its output columns renamed, nothing else (old -> new)
    schema_change    output columns added (additive), removed, retyped or reordered for a positional
                     reader (breaking), the rest of the query the same; a model added or removed
    logic_change     anything else
    yml_only         the SQL is the same, its properties (description, columns, tests, config, contract)
                     changed

Data never decides a verdict: a logic change whose sample data happens to be equal is a logic change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.tokenizer_core import TokenType

from app.sql.analysis import Analysis, ModelAnalysis
from app.sql.canonical import canonical_forms
from app.sql.classify import ModelChange, change_renames, classify_models
from app.types import Location

_WORDS = re.compile(r"\b")
VERDICTS = ("equivalent", "dialect_rewrite", "rename", "schema_change", "logic_change", "yml_only")


@dataclass(frozen=True, slots=True)
class ModelVerdict:
    """The verdict on one directly changed model, with what it rests on."""

    model: str
    verdict: str  # one of VERDICTS
    location: Location
    detail: str | None = None  # schema_change: "additive" | "breaking"
    renamed_from: str | None = None  # the model's old name
    columns_renamed: tuple[tuple[str, str], ...] = ()  # old -> new
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    retyped: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()  # what an equivalent change consists of; what a schema change is

    @property
    def label(self) -> str:
        return f"{self.verdict} ({self.detail})" if self.detail else self.verdict

    @property
    def summary(self) -> str:
        """What the verdict rests on, in a line: `a → b; c → d`, `added x`, `formatting, aliases`."""
        parts: list[str] = []
        if self.renamed_from:
            parts.append(f"model {self.renamed_from} → {self.model}")
        parts += [f"{a} → {b}" for a, b in self.columns_renamed]
        for what, cols in (("added", self.added), ("removed", self.removed), ("retyped", self.retyped)):
            if cols:
                parts.append(f"{what} {', '.join(cols)}")
        parts += list(self.reasons)
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "verdict": self.verdict,
            "detail": self.detail,
            "renamed_from": self.renamed_from,
            "columns_renamed": [{"old": a, "new": b} for a, b in self.columns_renamed],
            "added": list(self.added),
            "removed": list(self.removed),
            "retyped": list(self.retyped),
            "reasons": list(self.reasons),
            "file": self.location.path,
            "line": self.location.line,
        }


@dataclass(frozen=True, slots=True)
class CodeFacts:
    """What the loader knows besides the SQL compared: models whose properties (yml, contract) changed;
    dbt incremental models whose `is_incremental()` branch changed (base, head text: a full build's
    compiled SQL does not show it); incremental models whose source code is the same (compiled
    differences then come from the build, not the PR); broken head models whose SQL changed."""

    properties_changed: frozenset[str] = frozenset()
    hidden_branches: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    same_code: frozenset[str] = frozenset()
    broken_changed: frozenset[str] = frozenset()


def model_verdicts(
    base: Analysis | None, head: Analysis, facts: CodeFacts | None = None
) -> tuple[ModelVerdict, ...]:
    """A verdict for every model whose SQL or properties changed, in head DAG order, removed models
    last; a changed model the analysis could not take is a logic change (it is also a finding)."""
    if base is None:
        return ()
    facts = facts or CodeFacts()
    changes = classify_models(base, head)
    out: list[ModelVerdict] = []
    for name, change in changes.items():
        props = name in facts.properties_changed
        if name in facts.same_code:
            verdict = ModelVerdict(name, "yml_only", head.models[name].location) if props else None
        else:
            verdict = _verdict(change, base, head, props)
        hidden = facts.hidden_branches.get(name)
        if (
            hidden is not None
            and name in base.models
            and (verdict is None or verdict.verdict != "logic_change")
            and not _follows_renames(*hidden, change_renames(base, head).for_reader(base.models[name]))
        ):
            why = "its is_incremental() branch changed"
            verdict = ModelVerdict(name, "logic_change", head.models[name].location, reasons=(why,))
        if verdict is not None:
            out.append(verdict)
    for name in sorted(facts.broken_changed - facts.same_code):
        broken = head.broken.get(name)
        if broken is not None and broken.upstream is None:
            where = broken.error.location or Location(broken.path, 1)
            # the reason points at the finding: an error message may quote what the model tried to read
            why = "not analysable (see its finding)"
            out.append(ModelVerdict(name, "logic_change", where, reasons=(why,)))
    return tuple(out)


def _verdict(change: ModelChange, base: Analysis, head: Analysis, props: bool) -> ModelVerdict | None:
    name, kind = change.name, change.kind
    if kind == "removed":
        m = base.models[name]
        return ModelVerdict(name, "schema_change", m.location, "breaking", reasons=("model removed",))
    new = head.models[name]
    if kind == "added":
        return ModelVerdict(name, "schema_change", new.location, "additive", reasons=("model added",))
    if kind == "renamed":
        return ModelVerdict(
            name,
            "rename",
            new.location,
            renamed_from=change.renamed_from,
            columns_renamed=change.columns_renamed,
        )
    old = base.models[name]
    if kind == "unchanged":
        return ModelVerdict(name, "yml_only", new.location) if props else None
    if kind == "equivalent":
        if change.reasons == ("formatting",) and respelled(old, new):
            return ModelVerdict(
                name, "dialect_rewrite", new.location, reasons=("spelling sqlglot normalises",)
            )
        return ModelVerdict(name, "equivalent", new.location, reasons=change.reasons)
    if change.renamed_only:
        return ModelVerdict(name, "rename", new.location, columns_renamed=change.columns_renamed)
    return _schema_or_logic(change, old, new, base, head)


def _follows_renames(old: str, new: str, names: Mapping[str, str]) -> bool:
    """Whether `new` is `old` with some of its words renamed as `names` says (each word on its own: a
    `max(order_date) from {{ this }}` reads the model's own output, which may keep its name)."""
    a, b = _WORDS.split(old), _WORDS.split(new)
    return len(a) == len(b) and all(x == y or names.get(x) == y for x, y in zip(a, b, strict=True))


def _schema_or_logic(
    change: ModelChange, old: ModelAnalysis, new: ModelAnalysis, base: Analysis, head: Analysis
) -> ModelVerdict:
    """schema_change when the outputs added, removed or retyped are the whole difference."""
    renamed_old = {a for a, _ in change.columns_renamed}
    renamed_new = {b for _, b in change.columns_renamed}
    old_names, new_names = set(old.column_names), set(new.column_names)
    removed = tuple(c for c in old.column_names if c not in new_names and c not in renamed_old)
    added = tuple(c for c in new.column_names if c not in old_names and c not in renamed_new)
    retyped = tuple(
        c.name
        for c in new.columns
        if (o := old.column(c.name)) is not None
        and o.type
        and c.type
        and o.type != c.type
        and _computed_differently(old, new, c.name, base, head)
    )
    if "column order" in change.reasons:  # equivalent but for a reader taking columns by position
        return ModelVerdict(
            new.name,
            "schema_change",
            new.location,
            "breaking",
            reasons=("columns reordered, read by position",),
        )
    if (added or removed or retyped) and _same_without(
        old, new, change, base, head, {*removed, *retyped}, {*added, *retyped}
    ):
        detail = "breaking" if removed or retyped else "additive"
        return ModelVerdict(
            new.name,
            "schema_change",
            new.location,
            detail,
            columns_renamed=change.columns_renamed,
            added=added,
            removed=removed,
            retyped=retyped,
        )
    return ModelVerdict(
        new.name,
        "logic_change",
        new.location,
        columns_renamed=change.columns_renamed,
        added=added,
        removed=removed,
    )


def _same_without(
    old: ModelAnalysis,
    new: ModelAnalysis,
    change: ModelChange,
    base: Analysis,
    head: Analysis,
    old_drop: set[str],
    new_drop: set[str],
) -> bool:
    """Whether the two queries are the same once the given outputs are left out of each."""
    renames = change_renames(base, head)
    cols = renames.for_reader(old)
    outputs = dict(change.columns_renamed)
    a = canonical_forms(old, renames.models, cols, outputs, drop=old_drop)
    b = canonical_forms(new, drop=new_drop)
    return bool(a) and bool(b) and any(x == y for x, y in zip(a, b, strict=True))


def _computed_differently(
    old: ModelAnalysis, new: ModelAnalysis, column: str, base: Analysis, head: Analysis
) -> bool:
    """Whether the model's own SQL retypes `column`: not when a column it is computed from was retyped
    upstream (that is the upstream model's schema change, and this one only passes it on)."""
    for table, col in new.lineage.get(column, ()):
        before, after = base.relation_columns(table), head.relation_columns(table)
        old_type = next((c.type for c in before or () if c.name == col), None)
        new_type = next((c.type for c in after or () if c.name == col), None)
        if old_type != new_type:
            return False
    return True


def respelled(old: ModelAnalysis, new: ModelAnalysis) -> bool:
    """Whether the texts differ in more than whitespace, comments and keyword case: `IFNULL` for
    `COALESCE`, `::` for `CAST`, `<>` for `!=` (the parse trees being equal, a spelling sqlglot reads
    the same)."""
    return _tokens(old.sql, old.dialect) != _tokens(new.sql, new.dialect)


# keywords that may be left out without changing the statement: `x AS y` / `x y`, `INNER JOIN` / `JOIN`
_OPTIONAL = frozenset({TokenType.ALIAS, TokenType.INNER, TokenType.OUTER})


def _tokens(sql: str, dialect: str) -> list[tuple[TokenType, str]] | None:
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except SqlglotError:
        return None
    return [
        (t.token_type, t.text if t.token_type is TokenType.STRING else t.text.lower())
        for t in tokens
        if t.token_type not in _OPTIONAL
    ]
