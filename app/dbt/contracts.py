"""A dbt model contract (`contract: {enforced: true}`), its constraints and its generic tests, as a
datacanary Contract: the same rules, policy and canary quality checks then apply to dbt projects.

Mapping: `data_type` -> physicalType (kept in full: dbt strips size and precision, datacanary does
not) and a logical type; constraints not_null/unique/primary_key -> required/unique/primaryKey;
`check` -> a SQL quality rule; tests not_null/unique/accepted_values -> library quality rules (and
allowed values); relationships and package tests -> SQL quality rules; `meta.unit` & co -> semantics;
the model version -> the contract's major version, so a new version accepts a break like a bump.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.expressions.datatypes import DType

from app.contracts.model import Column, Contract, Dataset, QualityRule
from app.dbt.nodes import Constraint, DbtColumn, DbtModel, DbtTest
from app.dbt.relations import RelationIndex, rewrite_relations
from app.project.yamldoc import YamlDoc
from app.types import Location

SEMANTIC_META = ("unit", "timezone", "currency", "meaning")
T = DType
_LOGICAL: tuple[tuple[frozenset[T], str], ...] = (
    (frozenset(exp.DataType.TEXT_TYPES) | {T.CHAR, T.NCHAR, T.UUID}, "string"),
    (frozenset(exp.DataType.INTEGER_TYPES), "integer"),
    (frozenset(exp.DataType.REAL_TYPES), "number"),
    (frozenset({T.BOOLEAN}), "boolean"),
    (frozenset({T.DATE, T.DATE32}), "date"),
    (frozenset(exp.DataType.TEMPORAL_TYPES) - {T.DATE, T.DATE32}, "timestamp"),
    (
        frozenset(exp.DataType.ARRAY_TYPES) if hasattr(exp.DataType, "ARRAY_TYPES") else frozenset({T.ARRAY}),
        "array",
    ),
    (frozenset({T.STRUCT, T.MAP, T.JSON, T.OBJECT, T.VARIANT}), "object"),
)


def logical_type(data_type: str | None, dialect: str) -> str | None:
    """The ODCS logical type of a declared dbt data type (`varchar(10)` -> string); None if unknown."""
    if not data_type:
        return None
    try:
        built = exp.DataType.build(data_type, dialect=dialect)
    except (ParseError, ValueError):
        return None
    for types, name in _LOGICAL:
        if built.this in types:
            return name
    return None


@dataclass(frozen=True, slots=True)
class ContractInput:
    """Everything known about one contracted model (or one version of it)."""

    model: DbtModel
    dataset: str  # datacanary's name for it (`dim_customers`, `dim_customers_v1`)
    contract_path: str  # repository-relative schema yml (or the model file when undocumented)
    tests: Sequence[DbtTest]
    consumers: tuple[str, ...]
    yml: YamlDoc | None  # the schema yml, for line numbers


def model_contract(inp: ContractInput, dialect: str, index: RelationIndex) -> Contract:
    """The Contract of one enforced dbt model contract."""
    m = inp.model
    lines = _Lines(inp.yml, m, inp.contract_path)
    pk = _primary_key(m)
    by_column: dict[str | None, list[DbtTest]] = {}
    for t in inp.tests:
        by_column.setdefault(t.column_name, []).append(t)
    columns = tuple(
        _column(c, dialect, pk, by_column.get(c.name, []), lines.column(c.name), inp.dataset, index)
        for c in _with_model_constraints(m)
    )
    rules = [
        _constraint_rule(c, inp.dataset, lines.model(), index.dialect)
        for c in m.constraints
        if not _per_column(c)
    ]
    rules += [_test_rule(t, inp.dataset, lines.model(), index) for t in by_column.get(None, [])]
    dataset = Dataset(
        name=inp.dataset,
        # the warehouse table where it is not the model name (alias, version): renaming it breaks readers
        physical_name=m.relation.identifier if m.relation.identifier != inp.dataset else None,
        description=m.description or None,
        columns=columns,
        quality=tuple(rules),
        consumers=inp.consumers,
        location=lines.model(),
    )
    return Contract(
        path=inp.contract_path,
        id=f"dbt:{m.base_id if m.is_latest else m.unique_id}",
        name=inp.dataset,
        version=m.version if m.version is not None else "1",
        status="active",
        owner=m.owner,
        owners=m.owners,
        datasets=(dataset,),
        custom=(
            ("materialized", m.materialized),
            ("dbt_unique_id", m.unique_id),
            *((("deprecation_date", m.deprecation_date),) if m.deprecation_date else ()),
        ),
        location=lines.model(),
    )


def _per_column(c: Constraint) -> bool:
    """Model-level constraints that say something about each listed column on its own."""
    return c.type in ("primary_key", "not_null") or (c.type == "unique" and len(c.columns) == 1)


def _with_model_constraints(m: DbtModel) -> tuple[DbtColumn, ...]:
    """The columns with model-level not_null (and one-column unique) constraints moved onto them."""
    extra: dict[str, list[Constraint]] = {}
    for c in m.constraints:
        if c.type in ("not_null", "unique") and _per_column(c):
            for name in c.columns:
                extra.setdefault(name, []).append(Constraint(type=c.type, name=c.name))
    return tuple(replace(col, constraints=(*col.constraints, *extra.get(col.name, ()))) for col in m.columns)


def _primary_key(m: DbtModel) -> dict[str, int]:
    for c in m.constraints:
        if c.type == "primary_key":
            return {name: i + 1 for i, name in enumerate(c.columns)}
    keyed = [col.name for col in m.columns if any(k.type == "primary_key" for k in col.constraints)]
    return {name: i + 1 for i, name in enumerate(keyed)}


def _column(
    c: DbtColumn,
    dialect: str,
    pk: dict[str, int],
    tests: list[DbtTest],
    where: Location,
    dataset: str,
    index: RelationIndex,
) -> Column:
    kinds = {k.type for k in c.constraints}
    allowed: tuple[object, ...] | None = None
    rules: list[QualityRule] = []
    for k in c.constraints:
        if k.type not in ("not_null", "unique", "primary_key"):
            rules.append(_constraint_rule(k, dataset, where, dialect))
    for t in tests:
        if t.namespace is None and t.test_name == "accepted_values":
            values = t.kwarg("values", ())
            allowed = tuple(values) if isinstance(values, tuple) else allowed
        rules.append(_test_rule(t, dataset, where, index))
    meta = dict(c.meta)
    return Column(
        name=c.name,
        logical_type=logical_type(c.data_type, dialect),
        physical_type=c.data_type,
        required="not_null" in kinds or "primary_key" in kinds,
        unique="unique" in kinds or (c.name in pk and len(pk) == 1),
        primary_key=c.name in pk,
        primary_key_position=pk.get(c.name),
        description=c.description or None,
        allowed_values=allowed,
        semantics=tuple((k, meta[k]) for k in SEMANTIC_META if k in meta),
        quality=tuple(rules),
        location=where,
    )


def _constraint_rule(k: Constraint, dataset: str, where: Location, dialect: str) -> QualityRule:
    """check -> a SQL rule the canary can evaluate; foreign_key and custom -> a custom rule."""
    if k.type == "check" and k.expression:
        try:
            cond = exp.condition(k.expression, dialect=dialect)
            query = (
                exp.select("count(*)").from_(exp.to_table(dataset)).where(exp.not_(cond)).sql(dialect=dialect)
            )
        except ParseError:
            query = None
        return QualityRule(
            key=f"constraint:check:{k.name or k.expression}",
            type="sql" if query else "custom",
            query=query,
            operator="mustBe",
            value=0,
            description=f"check constraint: {k.expression}",
            location=where,
        )
    target = f" -> {k.to}({', '.join(k.to_columns)})" if k.to else ""
    return QualityRule(
        key=f"constraint:{k.type}:{k.name or ','.join(k.columns) or k.expression or ''}".rstrip(":"),
        type="custom",
        description=f"{k.type} constraint{target}",
        location=where,
    )


_LIBRARY = {"not_null": "nullValues", "unique": "duplicateValues", "accepted_values": "invalidValues"}


def _test_rule(t: DbtTest, dataset: str, where: Location, index: RelationIndex) -> QualityRule:
    """not_null/unique/accepted_values as ODCS library metrics; anything else runs dbt's compiled test SQL."""
    key = f"test:{t.namespace + '.' if t.namespace else ''}{t.test_name}"
    operator, limit = _threshold(t.error_if)
    # a `where` filter lives only in dbt's compiled query, so such a test runs that query
    # accepted_values without a list of values (a broken manifest) runs dbt's compiled query instead
    listed = t.test_name != "accepted_values" or isinstance(t.kwarg("values"), tuple)
    if t.namespace is None and t.test_name in _LIBRARY and t.where is None and listed:
        args: tuple[tuple[str, object], ...] = ()
        if t.test_name == "accepted_values":
            args = (("validValues", tuple(t.kwarg("values", ()))),)
        return QualityRule(
            key=key,
            type="library",
            metric=_LIBRARY[t.test_name],
            operator=operator,
            value=limit,
            unit="rows",
            arguments=args,
            severity=t.severity,
            location=where,
        )
    extra = ", ".join(f"{k}={v}" for k, v in t.kwargs if k != "column_name")
    query = None
    if t.compiled_code:
        body, _ = rewrite_relations(t.compiled_code.strip(), index)
        query = f"select count(*) from (\n{body}\n) as dbt_test"
    return QualityRule(
        key=f"{key}:{extra}" if extra else key,
        type="sql" if query else "custom",
        query=query,
        operator=operator,
        value=limit,
        severity=t.severity,
        description=f"dbt test {t.test_name}({extra})" if extra else f"dbt test {t.test_name}",
        location=where,
    )


_ERROR_IF = re.compile(r"^\s*(>=|>|!=|<>)\s*(\d+)\s*$")
_OPERATORS = {">": "mustBeLessOrEqualTo", ">=": "mustBeLessThan", "!=": "mustBe", "<>": "mustBe"}


def _threshold(error_if: str) -> tuple[str, int]:
    """dbt's `error_if` (fail when the failing-row count matches) as an ODCS operator and value."""
    m = _ERROR_IF.match(error_if)
    if m is None:
        return "mustBe", 0  # dbt's default, and the strict reading of anything unusual
    return _OPERATORS[m.group(1)], int(m.group(2))


class _Lines:
    """Lines of a model and its columns in its schema yml (`models[i]`, `versions[k]`, `columns[j]`)."""

    def __init__(self, yml: YamlDoc | None, m: DbtModel, path: str) -> None:
        self.path = path
        self.model_path: tuple[str | int, ...] | None = None
        self.version_path: tuple[str | int, ...] | None = None
        self.doc = yml
        if yml is None or not isinstance(yml.data, dict):
            return
        for i, entry in enumerate(yml.data.get("models") or []):
            if isinstance(entry, dict) and entry.get("name") == m.name:
                self.model_path = ("models", i)
                for k, v in enumerate(entry.get("versions") or []):
                    if isinstance(v, dict) and str(v.get("v")) == m.version:
                        self.version_path = ("models", i, "versions", k)
                break

    def model(self) -> Location:
        if self.doc is None or self.model_path is None:
            return Location(self.path)  # no yml at hand (a manifest alone): file without a line
        return self.doc.location(self.version_path or self.model_path)

    def column(self, name: str) -> Location:
        if self.doc is None:
            return self.model()
        for base in (self.version_path, self.model_path):
            if base is None:
                continue
            node = self.doc.data
            for part in base:
                node = node[part]
            for j, col in enumerate(node.get("columns") or []):
                if isinstance(col, dict) and col.get("name") == name:
                    return self.doc.location((*base, "columns", j))
        return self.model()
