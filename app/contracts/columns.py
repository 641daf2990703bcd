"""Changes between two versions of one column: types, nullability, uniqueness, allowed values, constraints,
semantics, classification, documentation and quality rules. Pure; used by `app.contracts.diff`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from app.contracts.model import Column, QualityRule
from app.contracts.physical import compare_types, split_collation
from app.contracts.quality import compare_rules, pair_rules, value_key
from app.contracts.rules import Change, ChangeKind
from app.types import Impact, Location

K = ChangeKind
# logicalTypeOptions whose value bounds from below / above; a bound moved outward is a loosening
_LOWER = {"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}
_UPPER = {"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"}
# promises a property makes by a boolean: (field, ODCS key, kind and message when it is dropped, when added)
_FLAGS = (
    (
        "required", "required",
        K.REQUIRED_RELAXED, "required relaxed: nulls are now allowed", K.REQUIRED_TIGHTENED, "now required (no nulls)",
    ),
    ("unique", "unique", K.UNIQUE_DROPPED, "no longer unique", K.UNIQUE_ADDED, "now unique"),
    (
        "critical", "criticalDataElement",
        K.CRITICAL_DATA_ELEMENT_DROPPED,
        "no longer a critical data element: the controls it carried (monitoring, lineage, change review) are"
        " no longer promised",
        K.CRITICAL_DATA_ELEMENT_ADDED, "now a critical data element",
    ),
)  # fmt: skip
_DOC_FIELDS = ("description", "business_name", "tags", "examples")
# the ODCS keys that declare each documentation field (and the deprecation flag)
_DOC_KEYS = {
    "description": ("description",),
    "business_name": ("businessName",),
    "tags": ("tags",),
    "examples": ("examples",),
    "deprecated": ("deprecated", "customProperties.deprecated"),
    "allowed value documentation": ("enum",),
}


def column_changes(dataset: str, old: Column, new: Column, dialect: str | None = None) -> list[Change]:
    """Every change from `old` to `new` (a matched pair; renames are reported by the caller)."""
    at: dict[str, Any] = {
        "dataset": dataset,
        "column": new.name,
        "location": new.location,
        "base_location": old.location,
    }
    out: list[Change] = []
    if old.name == new.name and old.output_name != new.output_name:
        out.append(
            Change.of(
                K.COLUMN_RENAMED,
                message=f"physicalName {old.output_name} -> {new.output_name}",
                old=old.output_name,
                new=new.output_name,
                **_at(at, old, new, "physicalName"),
            )
        )
    out.extend(_type_changes(old, new, dialect, at))
    for field, key, dropped, dropped_text, added, added_text in _FLAGS:
        a, b = getattr(old, field), getattr(new, field)
        if a != b:
            text = dropped_text if a else added_text
            out.append(
                Change.of(dropped if a else added, message=text, old=a, new=b, **_at(at, old, new, key))
            )
    if (old.semantic_type or "column") != (new.semantic_type or "column"):  # ODCS 3.2's default: column
        a, b = old.semantic_type or "column", new.semantic_type or "column"
        out.append(
            Change.of(
                K.SEMANTICS_CHANGED,
                message=f"semanticType {a} -> {b}: readers aggregate or group it another way",
                old=a,
                new=b,
                **_at(at, old, new, "semanticType"),
            )
        )
    out.extend(_allowed_value_changes(old, new, at))
    out.extend(_option_changes(old, new, at))
    out.extend(_semantic_changes(old, new, at))
    if (old.classification, bool(old.pii)) != (new.classification, bool(new.pii)):  # pii: false = unset
        out.append(
            Change.of(
                K.CLASSIFICATION_CHANGED,
                message=f"classification {_cls(old)} -> {_cls(new)}: consumers' access and compliance change",
                old=_cls(old),
                new=_cls(new),
                **_at(at, old, new, "classification", "customProperties.pii"),
            )
        )
    if (old.partitioned, old.partition_position) != (new.partitioned, new.partition_position):
        out.append(
            Change.of(
                K.MATERIALIZATION_CHANGED,
                message=f"partitioned {old.partitioned} -> {new.partitioned}",
                old=old.partitioned,
                new=new.partitioned,
                **_at(at, old, new, "partitioned", "partitionKeyPosition"),
            )
        )
    docs = [f for f in _DOC_FIELDS if getattr(old, f) != getattr(new, f)]
    if old.deprecated != new.deprecated:
        docs.append("deprecated")
    before = {f: _doc(getattr(old, f)) for f in docs}
    after = {f: _doc(getattr(new, f)) for f in docs}
    values_before, values_after = _value_docs(old, new)
    if values_before != values_after:
        docs.append("allowed value documentation")
        before["allowed values"], after["allowed values"] = values_before, values_after
    if docs:
        out.append(
            Change.of(
                K.DOCUMENTATION_CHANGED,
                message=f"{', '.join(docs).replace('_', ' ')} changed",
                old=before,
                new=after,
                **_at(at, old, new, *(k for f in docs for k in _DOC_KEYS.get(f, (_camel(f),)))),
            )
        )
    out.extend(
        quality_changes(
            old.quality,
            new.quality,
            allowed=(old.allowed_values, new.allowed_values),
            **_at(at, old, new, "quality"),
        )
    )
    return out


def _cls(column: Column) -> str:
    pii = " (PII)" if column.pii else ""
    return f"{column.classification or 'unclassified'}{pii}"


def _at(at: dict[str, Any], old: Column, new: Column, *keys: str) -> dict[str, Any]:
    """`at` pointing at the first of the ODCS `keys` each side declares: the line that changed (a key
    removed: its column's line)."""
    return {**at, "location": new.key_location(*keys), "base_location": old.key_location(*keys)}


def _camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(p.title() for p in rest)


def _value_docs(old: Column, new: Column) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """What each allowed value both sides list is documented as (an ODCS 3.2 `enum` entry's description,
    label, tags ...); a value added or removed is an enum-value-* change of its own."""
    a, b = dict(old.allowed_value_docs), dict(new.allowed_value_docs)
    both = set(old.allowed_values or ()) & set(new.allowed_values or ())
    return (
        {v: dict(a.get(v, ())) for v in sorted(both, key=repr) if a.get(v, ()) != b.get(v, ())},
        {v: dict(b.get(v, ())) for v in sorted(both, key=repr) if a.get(v, ()) != b.get(v, ())},
    )


def _doc(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _type_changes(old: Column, new: Column, dialect: str | None, at: dict[str, Any]) -> list[Change]:
    if old.logical_type != new.logical_type and old.logical_type and new.logical_type:
        physical = ""
        if old.physical_type != new.physical_type:
            physical = f" (physical {old.physical_type} -> {new.physical_type})"
        return [
            Change.of(
                K.LOGICAL_TYPE_CHANGED,
                message=f"logical type {old.logical_type} -> {new.logical_type}{physical}",
                old=old.logical_type,
                new=new.logical_type,
                **_at(at, old, new, "logicalType"),
            )
        ]
    declared = _declaration_changes(old, new, at)  # a type declared or dropped on one side
    if not old.physical_type or not new.physical_type:
        return declared
    at = _at(at, old, new, "physicalType")
    out = [*declared, *_collation_change(old.physical_type, new.physical_type, at)]
    cmp = compare_types(old.physical_type, new.physical_type, dialect)
    if cmp.direction == "same":
        return out
    kind = {"narrowed": K.PHYSICAL_TYPE_NARROWED, "widened": K.PHYSICAL_TYPE_WIDENED}.get(
        cmp.direction, K.PHYSICAL_TYPE_CHANGED
    )
    text = f"physical type {old.physical_type} -> {new.physical_type} {cmp.direction}"
    if cmp.detail and cmp.direction != "changed":
        text += f" ({cmp.detail})"
    return [Change.of(kind, message=text, old=old.physical_type, new=new.physical_type, **at), *out]


def _declaration_changes(old: Column, new: Column, at: dict[str, Any]) -> list[Change]:
    """A logical or physical type declared where none was (info: it documents what the column held) or
    no longer declared (unknown: readers lose the promise, and nothing shows what the values are now)."""
    out = []
    for kind, what, key, a, b in (
        (K.LOGICAL_TYPE_CHANGED, "logical type", "logicalType", old.logical_type, new.logical_type),
        (K.PHYSICAL_TYPE_CHANGED, "physical type", "physicalType", old.physical_type, new.physical_type),
    ):
        here = _at(at, old, new, key)
        if a and not b:
            text = f"{what} {a} no longer declared: readers lose the type promise"
            out.append(replace(Change.of(kind, message=text, old=a, new=None, **here), impact=Impact.UNKNOWN))
        elif b and not a:
            text = f"{what} {b} declared"
            out.append(replace(Change.of(kind, message=text, old=None, new=b, **here), impact=Impact.INFO))
    return out


def _collation_change(old: str, new: str, at: dict[str, Any]) -> list[Change]:
    """A collation declared, dropped or changed in the physical type: the column's sort order, and under
    a case- or accent-insensitive collation its `=`, GROUP BY, DISTINCT and unique keys, follow other
    rules (under `nocase`, 'paid' and 'Paid' are one value; without it, two), whatever the values."""
    a, b = split_collation(old)[1], split_collation(new)[1]
    if a == b:
        return []
    text = (
        f"collation {a or 'default'} -> {b or 'default'}: how the column's values"
        " compare changes (sort order; equality, grouping and uniqueness under a case- or"
        " accent-insensitive collation)"
    )
    return [Change.of(K.SEMANTICS_CHANGED, message=text, old=old, new=new, **at)]


def _allowed_value_changes(old: Column, new: Column, at: dict[str, Any]) -> list[Change]:
    a, b = old.allowed_values, new.allowed_values
    keys_a = None if a is None else {value_key(v) for v in a}
    keys_b = None if b is None else {value_key(v) for v in b}
    if keys_a == keys_b:
        return []
    # annotate the list of values itself (a list dropped entirely: its column)
    at = {
        **at,
        "location": new.allowed_values_location or new.location,
        "base_location": old.allowed_values_location or old.location,
    }
    if a is None:
        return [
            Change.of(
                K.CONSTRAINT_TIGHTENED,
                message=f"allowed values now declared: {list(b or ())}",
                old=None,
                new=list(b or ()),
                **at,
            )
        ]
    if b is None:
        return [
            Change.of(
                K.CONSTRAINT_LOOSENED,
                message="allowed values no longer declared: any value may appear",
                old=list(a),
                new=None,
                **at,
            )
        ]
    renamed = _renamed_values(old, new, keys_a or set(), keys_b or set())
    out = [
        Change.of(
            K.ENUM_VALUE_RENAMED,
            message=f"allowed value {was!r} renamed to {now!r}: readers that filter on {was!r} miss its rows",
            old=was,
            new=now,
            **{**at, "location": here, "base_location": there},
        )
        for was, now, here, there in renamed
    ]
    keys_a = (keys_a or set()) | {value_key(now) for _, now, _, _ in renamed}  # neither added nor removed
    keys_b = (keys_b or set()) | {value_key(was) for was, _, _, _ in renamed}
    out += [
        Change.of(
            K.ENUM_VALUE_ADDED,
            message=f"allowed value {v!r} added: closed-set consumers may mishandle it",
            old=None,
            new=v,
            **at,
        )
        for v in b
        if value_key(v) not in (keys_a or set())
    ]
    out += [
        Change.of(K.ENUM_VALUE_REMOVED, message=f"allowed value {v!r} removed", old=v, new=None, **at)
        for v in a
        if value_key(v) not in (keys_b or set())
    ]
    return out


def _renamed_values(
    old: Column, new: Column, keys_a: set[Any], keys_b: set[Any]
) -> list[tuple[Any, Any, Location, Location]]:
    """(old value, new value, head line, base line) of each `enum` entry whose value changed under its
    stable `id`, where the old value is gone and the new one was not there before."""
    before = {i: (v, at) for i, v, at in old.allowed_value_ids}
    out = []
    for i, value, here in new.allowed_value_ids:
        if i not in before:
            continue
        was, there = before[i]
        if value_key(was) not in keys_b and value_key(value) not in keys_a:
            out.append((was, value, here, there))
    return out


def _option_changes(old: Column, new: Column, at: dict[str, Any]) -> list[Change]:
    a, b = dict(old.options), dict(new.options)
    out: list[Change] = []
    for key in sorted(set(a) | set(b)):
        before, after = _declared_bound(key, a.get(key)), _declared_bound(key, b.get(key))
        if before == after:
            continue
        here = _at(at, old, new, f"logicalTypeOptions.{key}", "logicalTypeOptions")
        if key == "format" and before is not None and after is not None:
            out.append(
                Change.of(
                    K.SEMANTICS_CHANGED,
                    message=f"format {before!r} -> {after!r}",
                    old=before,
                    new=after,
                    **here,
                )
            )
            continue
        loosened = _loosened(key, before, after)
        kind = K.CONSTRAINT_LOOSENED if loosened else K.CONSTRAINT_TIGHTENED
        text = f"{key} {_show(before)} -> {_show(after)} ({'loosened' if loosened else 'tightened'})"
        out.append(Change.of(kind, message=text, old=before, new=after, **here))
    return out


def _declared_bound(key: str, value: Any) -> Any:
    """ODCS v3.0's `exclusiveMaximum: false` says the bound beside it is inclusive, as it is when the key
    is absent: writing or dropping it changes nothing."""
    return None if key.startswith("exclusive") and value is False else value


def _show(value: Any) -> str:
    return "none" if value is None else repr(value)


def _loosened(key: str, before: Any, after: Any) -> bool:
    """A removed bound loosens, an added one tightens; a moved bound depends on its side.
    A changed pattern (or any other option) is not provably tighter, so it counts as loosened.
    ODCS v3.0's `exclusiveMinimum`/`exclusiveMaximum` are booleans (JSON Schema draft 4: the `minimum`
    or `maximum` beside them is exclusive): only an exclusive bound made inclusive loosens."""
    if key.startswith("exclusive") and {type(before), type(after)} <= {bool, type(None)}:
        return before is True and after is not True
    if after is None:
        return True
    if before is None:
        return False
    try:
        if key in _LOWER:
            return bool(after < before)
        if key in _UPPER:
            return bool(after > before)
    except TypeError:
        return True
    return True


def _unset(value: Any) -> bool:
    """A semantics value left empty (`value:`, `""`, `[]`) declares nothing."""
    return value is None or value == "" or value == () or value == []


def _semantic_changes(old: Column, new: Column, at: dict[str, Any]) -> list[Change]:
    a, b = dict(old.semantics), dict(new.semantics)
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) == b.get(key):
            continue
        here = _at(at, old, new, f"customProperties.{key}")
        if _unset(a.get(key)):  # declaring what was implicit (or empty) documents, it changes no numbers
            out.append(
                Change(
                    kind=K.SEMANTICS_CHANGED,
                    impact=Impact.INFO,
                    message=f"{key} declared: {b[key]!r}",
                    old=None,
                    new=b[key],
                    **here,
                )
            )
            continue
        text = (
            f"{key} {a[key]!r} -> {b.get(key)!r}: same type, different meaning"
            if not _unset(b.get(key))
            else (f"{key} {a[key]!r} no longer declared")
        )
        out.append(Change.of(K.SEMANTICS_CHANGED, message=text, old=a[key], new=b.get(key), **here))
    return out


def quality_changes(
    old: Sequence[QualityRule],
    new: Sequence[QualityRule],
    *,
    dataset: str,
    column: str | None,
    location: Location | None,
    base_location: Location | None,
    allowed: tuple[tuple[Any, ...] | None, tuple[Any, ...] | None] = (None, None),
) -> list[Change]:
    """Quality rules matched (`quality.pair_rules`): removed, added, loosened, tightened, or changed
    (unknown). `allowed`: the column's allowed values (old, new); a rule whose validValues are those on
    both sides leaves them to the enum-value-* changes, any other rule's validValues count here."""
    pairs, removed, added = pair_rules(old, new)
    out = []
    for rule in removed:
        out.append(
            Change.of(
                K.QUALITY_RULE_REMOVED,
                dataset,
                f"quality rule `{rule.key}` removed: a guarantee is gone",
                column=column,
                location=location,
                base_location=rule.location,
                old=_rule_text(rule),
                new=None,
            )
        )
    for rule, now in pairs:
        listed = (rule.argument("validValues"), now.argument("validValues")) == allowed
        outcome, why = compare_rules(rule, now, values=not listed)
        if outcome == "same":
            continue
        kind = {"tightened": K.QUALITY_RULE_TIGHTENED, "loosened": K.QUALITY_RULE_LOOSENED}.get(
            outcome, K.QUALITY_RULE_CHANGED
        )
        out.append(
            Change.of(
                kind,
                dataset,
                f"quality rule `{rule.key}` {outcome}: {why}",
                column=column,
                location=now.key_location(*_changed_keys(rule, now)),
                base_location=rule.key_location(*_changed_keys(rule, now)),
                old=_rule_text(rule),
                new=_rule_text(now),
            )
        )
    for rule in added:
        out.append(
            Change.of(
                K.QUALITY_RULE_ADDED,
                dataset,
                f"quality rule `{rule.key}` added ({_rule_text(rule)})",
                column=column,
                location=rule.location,
                old=None,
                new=_rule_text(rule),
            )
        )
    return out


def _changed_keys(old: QualityRule, new: QualityRule) -> list[str]:
    """The ODCS keys of a rule that differ between its versions, for the line a change points at."""
    return [
        key
        for key, changed in (
            (new.operator or old.operator or "", (old.operator, old.value) != (new.operator, new.value)),
            (old.operator or "", old.operator != new.operator),
            ("metric", old.metric != new.metric),
            ("arguments", old.arguments != new.arguments),
            ("unit", old.unit != new.unit),
            ("query", old.query != new.query),
            ("implementation", old.query != new.query),
            ("severity", old.severity != new.severity),
        )
        if changed
    ]


def _rule_text(rule: QualityRule) -> str:
    what = rule.metric or rule.type
    return f"{what} {rule.operator} {rule.value}" if rule.operator else what
