"""The rules table of docs/contract-changes.md, generated from `RULES` so the doc and the code cannot drift.

Regenerate with `python -m app.contracts.doctable`; `tests/contracts/test_doctable.py` fails when they differ.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from app.contracts.rules import RULES, ChangeKind
from app.report.env import render

START, END = "<!-- rules:start -->", "<!-- rules:end -->"
K = ChangeKind

# what each rule means and why it has its default; the impact itself comes from RULES
DESCRIPTIONS: dict[ChangeKind, tuple[str, str]] = {
    K.DATASET_REMOVED: ("dataset (schema object) removed", "readers fail"),
    K.DATASET_RENAMED: (
        "dataset renamed or its physicalName changed",
        "readers fail; reported as old -> new",
    ),
    K.DATASET_ADDED: ("dataset added", "nobody reads it yet"),
    K.COLUMN_REMOVED: ("column removed", "readers of it fail; the message says if it was deprecated first"),
    K.COLUMN_RENAMED: (
        "column renamed (name or physicalName)",
        "reported as a rename (old -> new), matched by "
        "stable `id`, physicalName, or identical definition at the same position",
    ),
    K.COLUMN_ADDED: ("column added, optional or required", "existing readers do not see it"),
    K.LOGICAL_TYPE_CHANGED: (
        "logical type changed (string -> integer, timestamp -> date, ...)",
        "values or meaning change",
    ),
    K.PHYSICAL_TYPE_NARROWED: (
        "physical type narrowed (bigint -> int, varchar(50) -> varchar(20), decimal "
        "precision or scale reduced, timestamp -> date)",
        "values no longer fit or lose digits",
    ),
    K.PHYSICAL_TYPE_WIDENED: (
        "physical type widened (int -> bigint, varchar(20) -> varchar(50), decimal precision raised)",
        "most readers are fine; typed readers may overflow",
    ),
    K.PHYSICAL_TYPE_CHANGED: (
        "physical type changed in no provable direction (int -> varchar, timestamp -> timestamptz)",
        "cannot be proven safe",
    ),
    K.REQUIRED_RELAXED: ("required true -> false", "readers assumed no nulls"),
    K.REQUIRED_TIGHTENED: ("required false -> true", "a stronger promise"),
    K.UNIQUE_DROPPED: ("unique true -> false", "joins and grain change"),
    K.UNIQUE_ADDED: ("unique false -> true", "a stronger promise"),
    K.PRIMARY_KEY_CHANGED: ("primary key removed, added or moved", "joins and grain change"),
    K.ENUM_VALUE_ADDED: (
        "allowed value added (`enum`, or `invalidValues` with `validValues`)",
        "consumers with a closed set mishandle the new value",
    ),
    K.ENUM_VALUE_REMOVED: ("allowed value removed", "a stronger promise"),
    K.ENUM_VALUE_RENAMED: (
        "allowed value renamed: an ODCS 3.2 `enum` entry's `value` changed under the same `id`",
        "readers that filter or map on the old value miss its rows; reported as old -> new",
    ),
    K.CONSTRAINT_LOOSENED: (
        "range, length or pattern loosened or removed (a changed pattern counts as loosened)",
        "values readers rejected may now appear",
    ),
    K.CONSTRAINT_TIGHTENED: ("range, length or pattern tightened or added", "a stronger promise"),
    K.SEMANTICS_CHANGED: (
        "unit, time zone, currency, meaning or format changed; ODCS 3.2 `semanticType` changed (column,"
        " measure, dimension); a collation declared, dropped or changed in the physical type"
        " (`varchar(20) COLLATE nocase`)",
        "same type, different numbers: the silent kind (declaring a unit where none was is info; a"
        " collation changes how values compare: sort order, and under a case-insensitive one equality,"
        " grouping and uniqueness)",
    ),
    K.QUALITY_RULE_REMOVED: ("quality rule removed", "a guarantee is gone"),
    K.QUALITY_RULE_LOOSENED: (
        "quality rule loosened (threshold accepts more, severity lowered)",
        "a guarantee is weaker",
    ),
    K.QUALITY_RULE_ADDED: ("quality rule added", "a stronger promise"),
    K.QUALITY_RULE_TIGHTENED: ("quality rule tightened", "a stronger promise"),
    K.QUALITY_RULE_CHANGED: (
        "quality rule changed in no provable direction (metric, type, unit, query or arguments changed; "
        "threshold moved both ways)",
        "cannot be proven to keep the guarantee",
    ),
    K.RELATIONSHIP_REMOVED: (
        "relationship (ODCS 3.1 foreign key, schema or property level) removed",
        "readers that join on it lose the promised key",
    ),
    K.RELATIONSHIP_CHANGED: (
        "relationship's columns or referenced properties changed",
        "joins on it now match other rows, or none",
    ),
    K.RELATIONSHIP_ADDED: ("relationship added", "a stronger promise"),
    K.CRITICAL_DATA_ELEMENT_DROPPED: (
        "`criticalDataElement` true -> false",
        "the controls a critical data element carries (monitoring, lineage, change review) are gone",
    ),
    K.CRITICAL_DATA_ELEMENT_ADDED: ("`criticalDataElement` false -> true", "a stronger promise"),
    K.SLA_WEAKENED: (
        "SLA weakened or removed (latency or frequency longer, availability lower, retention shorter)",
        "consumers' schedules and guarantees break",
    ),
    K.SLA_STRENGTHENED: ("SLA strengthened or added", "a stronger promise"),
    K.CLASSIFICATION_CHANGED: (
        "classification or PII marking changed",
        "access and compliance of every consumer change; needs the owner's approval",
    ),
    K.MATERIALIZATION_CHANGED: (
        "materialization (table, view) or partitioning changed",
        "readers see the same data",
    ),
    K.DOCUMENTATION_CHANGED: (
        "description, business name, tags, examples, deprecation flag or an `enum` value's description"
        " or label changed",
        "documentation only",
    ),
    K.COLUMN_REORDERED: ("column order changed", "readers select by name"),
    K.VERSION_CHANGED: ("contract version changed", "a major bump can accept breaking changes"),
    K.COMPATIBILITY_CHANGED: (
        "the contract's compatibility mode changed",
        "the change that edits the mode is judged under both the old and the new mode",
    ),
    K.STATUS_RETIRED: (
        "the contract's `status` (or a schema object's custom property `status`) set to retired",
        "the producer no longer serves it: readers fail or read data nobody maintains",
    ),
    K.STATUS_DEPRECATED: (
        "`status` set to deprecated",
        "nothing breaks yet; readers that do not move before it is retired will",
    ),
    K.STATUS_CHANGED: (
        "any other `status` change (draft -> active, deprecated -> active, ...)",
        "the lifecycle only; leaving active for draft or proposed, or a status ODCS does not list, is"
        " unknown: the promises may change without notice",
    ),
    K.SQL_COLUMN_MISSING: ("a model's SQL no longer produces a column its contract promises", "readers fail"),
    K.SQL_TYPE_MISMATCH: (
        "a model's SQL produces a column with another type than its contract",
        "values or meaning change",
    ),
    K.SQL_COLUMN_UNDECLARED: (
        "a model's SQL produces a column its contract does not declare",
        "not promised, so not breaking; declare it",
    ),
    K.MODEL_REMOVED: ("an uncontracted model removed", "its readers fail"),
    K.MODEL_OUTPUT_COLUMN_REMOVED: ("an uncontracted model's output column removed", "its readers fail"),
    K.MODEL_OUTPUT_COLUMN_ADDED: ("an uncontracted model's output column added", "readers do not see it"),
    K.MODEL_OUTPUT_TYPE_CHANGED: ("an uncontracted model's output column type changed", "values change"),
}
POLICY_NOTES: dict[ChangeKind, str] = {
    K.PHYSICAL_TYPE_WIDENED: "`widening: breaking` makes it breaking (as dbt does)",
    K.PHYSICAL_TYPE_CHANGED: "severity from `unknown` (default warning)",
    K.ENUM_VALUE_ADDED: "`enum_value_added: compatible` relaxes it",
    K.STATUS_DEPRECATED: "severity from `unknown` (default warning): reported, not blocking",
    K.MODEL_OUTPUT_COLUMN_REMOVED: "severity from `uncontracted_changes`",
    K.MODEL_OUTPUT_TYPE_CHANGED: "severity from `uncontracted_changes`",
    K.MODEL_REMOVED: "severity from `uncontracted_changes`",
}


@dataclass(frozen=True, slots=True)
class Row:
    rule: str
    change: str
    impact: str
    policy: str
    why: str


def rows() -> list[Row]:
    """One row per rule, in the rules table's order."""
    return [
        Row(
            kind.value, DESCRIPTIONS[kind][0], impact.value, POLICY_NOTES.get(kind, ""), DESCRIPTIONS[kind][1]
        )
        for kind, impact in RULES.items()
    ]


def rules_table() -> str:
    """The markdown table that sits between the markers in docs/contract-changes.md."""
    return render("contracts/rules_table.md", rows=rows())


def splice(document: str, table: str) -> str:
    """`document` with the text between the markers replaced by `table`."""
    if START not in document or END not in document:
        raise ValueError(f"the document has no {START} ... {END} markers")
    before, rest = document.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{table}{END}{after}"


def doc_path() -> Path:
    return Path(__file__).resolve().parents[2] / "docs" / "contract-changes.md"


def main() -> int:
    path = doc_path()
    updated = splice(path.read_text(encoding="utf-8"), rules_table())
    path.write_text(updated, encoding="utf-8")
    sys.stdout.write(f"updated {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
