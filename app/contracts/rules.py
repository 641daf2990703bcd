"""The rules table: every kind of change a contract (or a model's SQL) can undergo, and its default
impact on consumers. This mirrors docs/contract-changes.md (generated from it by tests, so the two
cannot drift). Policy (`app.contracts.policy`) adjusts impacts on top; it never adds kinds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any

from app.types import Impact, Location


class ChangeKind(str, Enum):
    DATASET_REMOVED = "dataset-removed"
    DATASET_RENAMED = "dataset-renamed"
    DATASET_ADDED = "dataset-added"
    COLUMN_REMOVED = "column-removed"
    COLUMN_RENAMED = "column-renamed"
    COLUMN_ADDED = "column-added"
    LOGICAL_TYPE_CHANGED = "logical-type-changed"
    PHYSICAL_TYPE_NARROWED = "physical-type-narrowed"
    PHYSICAL_TYPE_WIDENED = "physical-type-widened"
    PHYSICAL_TYPE_CHANGED = "physical-type-changed"  # neither narrower nor wider: unknown direction
    REQUIRED_RELAXED = "required-relaxed"
    REQUIRED_TIGHTENED = "required-tightened"
    UNIQUE_DROPPED = "unique-dropped"
    UNIQUE_ADDED = "unique-added"
    PRIMARY_KEY_CHANGED = "primary-key-changed"
    ENUM_VALUE_ADDED = "enum-value-added"
    ENUM_VALUE_REMOVED = "enum-value-removed"
    ENUM_VALUE_RENAMED = "enum-value-renamed"  # an ODCS 3.2 `enum` entry's value changed under its `id`
    CONSTRAINT_LOOSENED = "constraint-loosened"  # range, length, pattern
    CONSTRAINT_TIGHTENED = "constraint-tightened"
    SEMANTICS_CHANGED = "semantics-changed"  # unit, timezone, currency, meaning
    QUALITY_RULE_REMOVED = "quality-rule-removed"
    QUALITY_RULE_LOOSENED = "quality-rule-loosened"
    QUALITY_RULE_ADDED = "quality-rule-added"
    QUALITY_RULE_TIGHTENED = "quality-rule-tightened"
    QUALITY_RULE_CHANGED = "quality-rule-changed"  # metric, query or threshold in no provable direction
    RELATIONSHIP_REMOVED = "relationship-removed"  # ODCS 3.1 `relationships`: a foreign key
    RELATIONSHIP_CHANGED = "relationship-changed"  # its columns or the properties it references
    RELATIONSHIP_ADDED = "relationship-added"
    CRITICAL_DATA_ELEMENT_DROPPED = "critical-data-element-dropped"  # `criticalDataElement` true -> false
    CRITICAL_DATA_ELEMENT_ADDED = "critical-data-element-added"
    SLA_WEAKENED = "sla-weakened"
    SLA_STRENGTHENED = "sla-strengthened"
    CLASSIFICATION_CHANGED = "classification-changed"
    MATERIALIZATION_CHANGED = "materialization-changed"
    DOCUMENTATION_CHANGED = "documentation-changed"  # description, business name, tags, examples
    COLUMN_REORDERED = "column-reordered"
    VERSION_CHANGED = "version-changed"
    COMPATIBILITY_CHANGED = "compatibility-changed"  # the contract's own compatibility mode
    STATUS_RETIRED = "status-retired"  # the contract's (or a schema object's) lifecycle status
    STATUS_DEPRECATED = "status-deprecated"
    STATUS_CHANGED = "status-changed"
    # implementation drift: the model's SQL against its own contract (same rules, SQL location)
    SQL_COLUMN_MISSING = "sql-column-missing"
    SQL_TYPE_MISMATCH = "sql-type-mismatch"
    SQL_COLUMN_UNDECLARED = "sql-column-undeclared"
    # output changes of uncontracted models (base SQL vs head SQL)
    MODEL_REMOVED = "model-removed"
    MODEL_OUTPUT_COLUMN_REMOVED = "model-output-column-removed"
    MODEL_OUTPUT_COLUMN_ADDED = "model-output-column-added"
    MODEL_OUTPUT_TYPE_CHANGED = "model-output-type-changed"


RULES: Mapping[ChangeKind, Impact] = MappingProxyType(
    {
        ChangeKind.DATASET_REMOVED: Impact.BREAKING,
        ChangeKind.DATASET_RENAMED: Impact.BREAKING,
        ChangeKind.DATASET_ADDED: Impact.COMPATIBLE,
        ChangeKind.COLUMN_REMOVED: Impact.BREAKING,
        ChangeKind.COLUMN_RENAMED: Impact.BREAKING,
        ChangeKind.COLUMN_ADDED: Impact.COMPATIBLE,
        ChangeKind.LOGICAL_TYPE_CHANGED: Impact.BREAKING,
        ChangeKind.PHYSICAL_TYPE_NARROWED: Impact.BREAKING,
        ChangeKind.PHYSICAL_TYPE_WIDENED: Impact.COMPATIBLE,  # policy `widening: breaking` flips it
        ChangeKind.PHYSICAL_TYPE_CHANGED: Impact.UNKNOWN,
        ChangeKind.REQUIRED_RELAXED: Impact.BREAKING,
        ChangeKind.REQUIRED_TIGHTENED: Impact.COMPATIBLE,
        ChangeKind.UNIQUE_DROPPED: Impact.BREAKING,
        ChangeKind.UNIQUE_ADDED: Impact.COMPATIBLE,
        ChangeKind.PRIMARY_KEY_CHANGED: Impact.BREAKING,
        ChangeKind.ENUM_VALUE_ADDED: Impact.BREAKING,  # closed-set consumers; policy may relax
        ChangeKind.ENUM_VALUE_REMOVED: Impact.COMPATIBLE,
        ChangeKind.ENUM_VALUE_RENAMED: Impact.BREAKING,  # readers filtering on the old value miss rows
        ChangeKind.CONSTRAINT_LOOSENED: Impact.BREAKING,
        ChangeKind.CONSTRAINT_TIGHTENED: Impact.COMPATIBLE,
        ChangeKind.SEMANTICS_CHANGED: Impact.BREAKING,
        ChangeKind.QUALITY_RULE_REMOVED: Impact.BREAKING,
        ChangeKind.QUALITY_RULE_LOOSENED: Impact.BREAKING,
        ChangeKind.QUALITY_RULE_ADDED: Impact.COMPATIBLE,
        ChangeKind.QUALITY_RULE_TIGHTENED: Impact.COMPATIBLE,
        ChangeKind.QUALITY_RULE_CHANGED: Impact.UNKNOWN,
        ChangeKind.RELATIONSHIP_REMOVED: Impact.BREAKING,
        ChangeKind.RELATIONSHIP_CHANGED: Impact.BREAKING,
        ChangeKind.RELATIONSHIP_ADDED: Impact.COMPATIBLE,
        ChangeKind.CRITICAL_DATA_ELEMENT_DROPPED: Impact.BREAKING,
        ChangeKind.CRITICAL_DATA_ELEMENT_ADDED: Impact.COMPATIBLE,
        ChangeKind.SLA_WEAKENED: Impact.BREAKING,
        ChangeKind.SLA_STRENGTHENED: Impact.COMPATIBLE,
        ChangeKind.CLASSIFICATION_CHANGED: Impact.BREAKING,
        ChangeKind.MATERIALIZATION_CHANGED: Impact.INFO,
        ChangeKind.DOCUMENTATION_CHANGED: Impact.INFO,
        ChangeKind.COLUMN_REORDERED: Impact.INFO,
        ChangeKind.VERSION_CHANGED: Impact.INFO,
        ChangeKind.COMPATIBILITY_CHANGED: Impact.INFO,  # the change itself is judged under both modes
        ChangeKind.STATUS_RETIRED: Impact.BREAKING,
        ChangeKind.STATUS_DEPRECATED: Impact.UNKNOWN,  # breaks only readers that do not move in time
        ChangeKind.STATUS_CHANGED: Impact.INFO,
        ChangeKind.SQL_COLUMN_MISSING: Impact.BREAKING,
        ChangeKind.SQL_TYPE_MISMATCH: Impact.BREAKING,
        ChangeKind.SQL_COLUMN_UNDECLARED: Impact.INFO,
        ChangeKind.MODEL_REMOVED: Impact.BREAKING,
        ChangeKind.MODEL_OUTPUT_COLUMN_REMOVED: Impact.BREAKING,
        ChangeKind.MODEL_OUTPUT_COLUMN_ADDED: Impact.COMPATIBLE,
        ChangeKind.MODEL_OUTPUT_TYPE_CHANGED: Impact.BREAKING,
    }
)


@dataclass(frozen=True, slots=True)
class Change:
    """One classified change, before policy. `location` points at the head side (for a removal, at what
    held the removed element there: the dataset of a removed column, a rule's `quality:`; the base side
    only when the whole file is gone); `base_location` is the base side."""

    kind: ChangeKind
    impact: Impact
    dataset: str
    message: str
    column: str | None = None
    location: Location | None = None
    base_location: Location | None = None
    old: Any = None
    new: Any = None
    source: str = "contract"  # contract | sql | dbt

    @staticmethod
    def of(kind: ChangeKind, dataset: str, message: str, **kw: Any) -> Change:
        """A change with the rules table's default impact."""
        return Change(kind=kind, impact=RULES[kind], dataset=dataset, message=message, **kw)
