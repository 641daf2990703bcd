"""The normalized contract: what a producer promises, independent of how the ODCS YAML spelled it.

`app.contracts.parse` turns an ODCS v3 document into these values; everything downstream (diff,
rules, SQL drift, canary quality checks, SLOs) reads only these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.types import Location


def _first_declared(
    declared: tuple[tuple[str, Location], ...], keys: tuple[str, ...], default: Location | None
) -> Location | None:
    where = dict(declared)
    return next((where[k] for k in keys if k in where), default)


@dataclass(frozen=True, slots=True)
class QualityRule:
    """One ODCS quality rule (`library` metric, `sql`, `text` or `custom`), normalized.

    `metric` uses ODCS names: nullValues, missingValues, invalidValues, duplicateValues, rowCount.
    The comparison is one of mustBe, mustNotBe, mustBeGreaterThan, mustBeGreaterOrEqualTo,
    mustBeLessThan, mustBeLessOrEqualTo, mustBeBetween, mustNotBeBetween (`operator`), with `value`.
    """

    key: str  # stable identity inside its dataset/column: `name`, `id`, or the metric (+ #n)
    type: str  # library | sql | text | custom
    metric: str | None = None
    operator: str | None = None
    value: Any = None  # a number, or a [low, high] pair for the between operators
    unit: str | None = None  # rows | percent
    arguments: tuple[tuple[str, Any], ...] = ()
    query: str | None = None
    severity: str = "error"  # ODCS `severity`: error | warning | info ...
    dimension: str | None = None
    description: str | None = None
    location: Location | None = None
    key_locations: tuple[tuple[str, Location], ...] = ()  # where each key of the rule is

    def argument(self, name: str, default: Any = None) -> Any:
        return dict(self.arguments).get(name, default)

    def key_location(self, *keys: str) -> Location | None:
        """Where the first of `keys` the rule declares is; else the rule's own line."""
        return _first_declared(self.key_locations, keys, self.location)


@dataclass(frozen=True, slots=True)
class Relationship:
    """An ODCS 3.1 `relationships` entry, a foreign key: the dataset's columns it joins from (`columns`:
    a schema object's `from`, resolved to column names; a property's own name) to the properties it
    references (`to`, as written: `receivers.id`, or an id path `schema/rcv/properties/id`)."""

    columns: tuple[str, ...]
    to: tuple[str, ...]
    type: str = "foreignKey"
    id: str | None = None  # ODCS 3.2's stable `id`: follows the relationship through edits
    column: str | None = None  # the property that declares it (property level); None: the schema object
    location: Location | None = None
    key_locations: tuple[tuple[str, Location], ...] = ()

    def key_location(self, *keys: str) -> Location | None:
        """Where the first of `keys` the relationship declares is; else its own line."""
        return _first_declared(self.key_locations, keys, self.location)


@dataclass(frozen=True, slots=True)
class Column:
    """An ODCS schema property (a column)."""

    name: str
    physical_name: str | None = None
    logical_type: str | None = None
    physical_type: str | None = None
    required: bool = False
    unique: bool = False
    primary_key: bool = False
    primary_key_position: int | None = None
    partitioned: bool = False
    classification: str | None = None
    pii: bool | None = None
    description: str | None = None
    business_name: str | None = None
    tags: tuple[str, ...] = ()
    examples: tuple[Any, ...] = ()
    # logicalTypeOptions: minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern, format
    options: tuple[tuple[str, Any], ...] = ()
    # allowed values: from `quality` invalidValues/validValues, or a native `enum` where present
    allowed_values: tuple[Any, ...] | None = None
    # declared semantics from customProperties (unit, timezone, currency, meaning, ...)
    semantics: tuple[tuple[str, Any], ...] = ()
    deprecated: bool = False
    quality: tuple[QualityRule, ...] = ()
    location: Location | None = None
    id: str | None = None  # ODCS stable `id`: follows the column through renames
    partition_position: int | None = None
    # the column this one is nested in: `address.city` (an object's property) and `lines[]`, `lines[].sku`
    # (an array's items) are compared like columns, but no table or model has them as columns of its own
    parent: str | None = None
    allowed_values_location: Location | None = None  # the `enum` / `validValues` list, for annotations
    # what an ODCS 3.2 `enum` says of its values besides the value (description, label, tags, ...): docs
    allowed_value_docs: tuple[tuple[Any, Any], ...] = ()
    # ODCS 3.2 `enum` entries with a stable `id`: (id, value, the entry's line); a value renamed under
    # its id is one enum-value-renamed change
    allowed_value_ids: tuple[tuple[str, Any, Location], ...] = ()
    # where each key the property declares is (`logicalType`, `logicalTypeOptions.maximum`,
    # `customProperties.unit`): a change is annotated at the key that changed
    key_locations: tuple[tuple[str, Location], ...] = ()
    relationships: tuple[Relationship, ...] = ()  # its own `relationships` (ODCS 3.1: from is itself)
    critical: bool = False  # ODCS `criticalDataElement`
    semantic_type: str | None = None  # ODCS 3.2 `semanticType`: column (the default), measure, dimension

    @property
    def output_name(self) -> str:
        """The name the column has in the table (physicalName wins)."""
        return self.physical_name or self.name

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)

    def key_location(self, *keys: str) -> Location | None:
        """Where the first of `keys` the column declares is; else the column's own line (a key removed)."""
        return _first_declared(self.key_locations, keys, self.location)


@dataclass(frozen=True, slots=True)
class Dataset:
    """An ODCS schema object: one table or view, named like the model that produces it."""

    name: str
    physical_name: str | None = None
    description: str | None = None
    business_name: str | None = None
    columns: tuple[Column, ...] = ()
    quality: tuple[QualityRule, ...] = ()
    tags: tuple[str, ...] = ()
    # declared consumers (customProperties `consumers`), for the blast radius
    consumers: tuple[str, ...] = ()
    semantics: tuple[tuple[str, Any], ...] = ()
    location: Location | None = None
    id: str | None = None  # ODCS stable `id`: follows the dataset through renames
    physical_type: str | None = None  # table | view | topic | file ... (materialization)
    deprecated: bool = False
    key_locations: tuple[tuple[str, Location], ...] = ()  # as Column's: where each key it declares is
    # its lifecycle status: ODCS gives a schema object none, so a custom property `status` declares it
    status: str | None = None
    relationships: tuple[Relationship, ...] = ()  # the schema object's own (its properties' are theirs)

    @property
    def output_name(self) -> str:
        return self.physical_name or self.name

    def key_location(self, *keys: str) -> Location | None:
        """Where the first of `keys` the schema object declares is; else its own line."""
        return _first_declared(self.key_locations, keys, self.location)

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name or c.physical_name == name:
                return c
        return None

    @property
    def all_relationships(self) -> tuple[Relationship, ...]:
        """The schema object's relationships and its properties': one foreign key, wherever declared."""
        return (*self.relationships, *(r for c in self.columns for r in c.relationships))

    @property
    def table_columns(self) -> tuple[Column, ...]:
        """The columns the table itself has: nested fields (`Column.parent`) left out."""
        return tuple(c for c in self.columns if c.parent is None)

    @property
    def primary_key(self) -> tuple[str, ...]:
        keyed = [c for c in self.table_columns if c.primary_key]
        keyed.sort(key=lambda c: c.primary_key_position or 0)
        return tuple(c.output_name for c in keyed)


@dataclass(frozen=True, slots=True)
class SlaProperty:
    """An ODCS `slaProperties` entry: latency, frequency, availability, retention, ..."""

    property: str
    value: Any
    unit: str | None = None
    element: str | None = None
    driver: str | None = None
    location: Location | None = None
    id: str | None = None  # ODCS 3.1's stable `id`: follows the entry through edits of its property
    key_locations: tuple[tuple[str, Location], ...] = ()

    def key_location(self, *keys: str) -> Location | None:
        """Where the first of `keys` the entry declares is; else its own line."""
        return _first_declared(self.key_locations, keys, self.location)


@dataclass(frozen=True, slots=True)
class Contract:
    """One ODCS v3 contract file, normalized."""

    path: str  # repository-relative
    id: str
    name: str | None
    version: str
    status: str | None = None
    domain: str | None = None
    owner: str | None = None  # team name or owner
    owners: tuple[str, ...] = ()  # GitHub handles or emails of the team, for reviews and routing
    compatibility: str = "backward"  # backward | forward | full | none | *_transitive
    datasets: tuple[Dataset, ...] = ()
    sla: tuple[SlaProperty, ...] = ()
    custom: tuple[tuple[str, Any], ...] = field(default=())
    location: Location | None = None
    api_version: str = "v3.1.0"  # the ODCS version the file declares, whose schema validated it
    # the sqlglot dialect of the contract's SQL servers (`servers[].type`) when they all agree, else None:
    # what its physicalTypes are written in (`int8` is a bigint on PostgreSQL, a tinyint on Databricks)
    server_dialect: str | None = None
    version_location: Location | None = None  # the `version:` line
    status_location: Location | None = None  # the `status:` line
    schema_location: Location | None = None  # the `schema:` line (the file's first line without one)
    sla_location: Location | None = None  # the `slaProperties:` line (likewise)
    compatibility_location: Location | None = None  # its `compatibility` custom property, when declared

    def dataset(self, name: str) -> Dataset | None:
        for d in self.datasets:
            if d.name == name or d.physical_name == name:
                return d
        return None

    @property
    def major_version(self) -> int | None:
        head = self.version.lstrip("vV").split(".", 1)[0]
        return int(head) if head.isdigit() else None
