"""ODCS v3 YAML text -> `Contract`: line-aware YAML, schema validation, then normalization.

Pure over text: the caller reads the file (from a git revision or disk) and passes its repository path.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Mapping
from typing import Any, TypeVar

from app.contracts.legacy import upgrade_legacy
from app.contracts.model import Column, Contract, Dataset, QualityRule, Relationship, SlaProperty
from app.contracts.schema import dotted, validate_odcs
from app.errors import ContractError
from app.project.yamldoc import Path, YamlDoc, load_yaml
from app.types import Location

COMPATIBILITY_MODES = (
    "backward",
    "forward",
    "full",
    "none",
    "backward_transitive",
    "forward_transitive",
    "full_transitive",
)
OPERATORS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)
# customProperties that declare what the numbers mean: changing one is a SEMANTICS_CHANGED
SEMANTIC_KEYS = {
    "unit": "unit", "timezone": "timezone", "timeZone": "timezone", "currency": "currency",
    "meaning": "meaning", "locale": "locale", "encoding": "encoding", "granularity": "granularity",
}  # fmt: skip


def parse_contract(text: str, path: str) -> Contract:
    """Parse and validate one ODCS v3 contract file; errors name `path`, the line and the fix."""
    return _parse_cached(text, path)


# base and head revisions mostly share contract files byte for byte; Contract is frozen, so reuse it
@functools.lru_cache(maxsize=2048)
def _parse_cached(text: str, path: str) -> Contract:
    doc = load_yaml(text, path, ContractError, dates_as_text=True)
    if not isinstance(doc.data, dict):
        raise ContractError(
            "a data contract must be a YAML mapping (apiVersion, kind, id, version, schema, ...)",
            doc.location(()),
            "start the file with `apiVersion: v3.1.0`, `kind: DataContract`, `id:` and `version:`",
        )
    # validate what the author wrote, by the schema of the version they declared; only then rewrite
    # 3.0 spellings (`rule: nullCheck`) to the 3.1 shape the normalizer reads
    version = validate_odcs(doc)
    doc = YamlDoc(doc.path, upgrade_legacy(doc.data), doc.lines)
    return _Normalizer(doc, version).contract()


Named = TypeVar("Named", Column, Dataset)


def _unique(items: list[Named], what: str) -> tuple[Named, ...]:
    """Names identify datasets and columns across versions; a repeated one would be silently shadowed."""
    seen: dict[str, Named] = {}
    for item in items:
        first = seen.get(item.name)
        if first is not None:
            line = first.location.line if first.location else "?"
            raise ContractError(
                f"{what} {item.name!r} is declared twice (first at line {line})",
                item.location,
                "rename or remove one of them",
            )
        seen[item.name] = item
    return tuple(items)


def _custom(items: Any) -> dict[str, Any]:
    """ODCS customProperties [{property, value}] -> {property: value}."""
    return {c["property"]: c.get("value") for c in items or [] if isinstance(c, dict) and "property" in c}


def _frozen(value: Any) -> Any:
    """Lists and mappings as tuples, so normalized values are hashable and comparable."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return tuple(s.strip() for s in str(value).split(",") if s.strip())


# ODCS server types (servers[].type) whose physicalTypes are SQL of a sqlglot dialect
_SERVER_DIALECTS = {
    "athena": "athena",
    "bigquery": "bigquery",
    "clickhouse": "clickhouse",
    "databricks": "databricks",
    "duckdb": "duckdb",
    "mysql": "mysql",
    "oracle": "oracle",
    "postgres": "postgres",
    "postgresql": "postgres",
    "presto": "presto",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "sqlserver": "tsql",
    "synapse": "tsql",
    "trino": "trino",
}


def _from_columns(refs: Any, dataset: set[str], columns: list[Column]) -> tuple[str, ...]:
    """A schema-level relationship's `from` as the names of the dataset's columns: `orders.customer_id`
    (shorthand: table.column, by name or physicalName) or an id path `schema/orders/properties/cust`
    (the last `properties/<id>`); a reference to none of them stays as written."""

    def column(ref: str) -> str:
        path = ref.rsplit("#", 1)[-1].strip("/").split("/")
        if len(path) >= 4 and path[-2] == "properties":
            by_id = next((c.name for c in columns if c.id == path[-1]), None)
            return by_id or ref
        table, dot, name = ref.partition(".")
        if dot and table in dataset:
            hit = next(
                (c.name for c in columns if c.parent is None and name in (c.name, c.physical_name)), None
            )
            return hit or ref
        return ref

    return tuple(column(r) for r in _strings(refs))


def _server_dialect(servers: Any) -> str | None:
    """The one sqlglot dialect of the contract's SQL servers, or None (none declared, or they differ)."""
    if not isinstance(servers, list):
        return None
    found = {
        _SERVER_DIALECTS.get(str(s.get("type") or "").strip().lower()) for s in servers if isinstance(s, dict)
    } - {None}
    return found.pop() if len(found) == 1 else None


class _Normalizer:
    """Walks one validated document, keeping the YAML line of every element it normalizes."""

    def __init__(self, doc: YamlDoc, version: str) -> None:
        self.doc = doc
        self.version = version

    def loc(self, path: Path) -> Location:
        return self.doc.location(path)

    def contract(self) -> Contract:
        data = self.doc.data
        custom = _custom(data.get("customProperties"))
        team = data.get("team")
        owner: str | None = None
        members: list[Any] = []
        if isinstance(team, dict):
            owner = team.get("name")
            members = team.get("members") or []
        elif isinstance(team, list):
            members = team
        owners = _strings(custom.get("owners")) or tuple(
            str(m["username"])
            for m in members
            if isinstance(m, dict) and str(m.get("role") or "").lower() == "owner"
        )
        return Contract(
            path=self.doc.path,
            id=str(data["id"]),
            name=data.get("name"),
            version=str(data["version"]),
            status=data.get("status"),
            domain=data.get("domain"),
            owner=owner or custom.get("owner") or (owners[0] if owners else None),
            owners=owners,
            compatibility=self._compatibility(custom),
            datasets=_unique(
                [self.dataset(obj, ("schema", i)) for i, obj in enumerate(data.get("schema") or [])],
                "schema object",
            ),
            sla=tuple(
                self.sla(s, ("slaProperties", i)) for i, s in enumerate(data.get("slaProperties") or [])
            ),
            custom=_frozen(custom),
            location=self.loc(()),
            api_version=self.version,
            server_dialect=_server_dialect(data.get("servers")),
            version_location=self.loc(("version",)),
            status_location=self.loc(("status",)) if "status" in data else None,
            schema_location=self.loc(("schema",)),
            sla_location=self.loc(("slaProperties",)),
            compatibility_location=self._custom_location(("customProperties",), "compatibility"),
        )

    def _custom_location(self, path: Path, name: str) -> Location | None:
        """The line of the custom property `name` in the customProperties list at `path`."""
        node = self.doc.data
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        for i, c in enumerate(node if isinstance(node, list) else ()):
            if isinstance(c, dict) and c.get("property") == name:
                return self.loc((*path, i))
        return None

    def _compatibility(self, custom: dict[str, Any]) -> str:
        raw = custom.get("compatibility", "backward")
        mode = str(raw).strip().lower().replace("-", "_")
        if mode not in COMPATIBILITY_MODES:
            index = next(
                i
                for i, c in enumerate(self.doc.data["customProperties"])
                if c.get("property") == "compatibility"
            )
            raise ContractError(
                f"customProperties[{index}]: compatibility {raw!r} is not a compatibility mode",
                self.loc(("customProperties", index, "value")),
                f"use one of {', '.join(COMPATIBILITY_MODES)}",
            )
        return mode

    def sla(self, raw: dict[str, Any], path: Path) -> SlaProperty:
        return SlaProperty(
            property=str(raw["property"]),
            value=raw.get("value"),
            unit=raw.get("unit"),
            element=raw.get("element"),
            driver=raw.get("driver"),
            location=self.loc(path),
            id=raw.get("id"),
            key_locations=tuple((str(k), self.loc((*path, k))) for k in raw),
        )

    def dataset(self, raw: dict[str, Any], path: Path) -> Dataset:
        custom = _custom(raw.get("customProperties"))
        columns: list[Column] = []
        for j, prop in enumerate(raw.get("properties") or []):
            columns.extend(self.columns(prop, (*path, "properties", j), prefix=""))
        names = {str(raw["name"]), str(raw.get("physicalName") or raw["name"])}
        return Dataset(
            name=str(raw["name"]),
            physical_name=raw.get("physicalName"),
            description=raw.get("description"),
            business_name=raw.get("businessName"),
            columns=_unique(columns, f"property of {raw['name']}"),
            quality=self.quality(raw.get("quality"), (*path, "quality")),
            tags=tuple(str(t) for t in raw.get("tags") or ()),
            consumers=_strings(custom.get("consumers")),
            semantics=self._semantics(custom),
            location=self.loc(path),
            id=raw.get("id"),
            physical_type=raw.get("physicalType"),
            deprecated=bool(raw.get("deprecated") or custom.get("deprecated")),
            key_locations=self._key_locations(raw, path),
            status=None if custom.get("status") is None else str(custom["status"]),
            relationships=tuple(
                self._relationship(
                    r, (*path, "relationships", i), _from_columns(r.get("from"), names, columns)
                )
                for i, r in enumerate(raw.get("relationships") or [])
                if isinstance(r, dict)
            ),
        )

    @staticmethod
    def _semantics(custom: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
        found = {SEMANTIC_KEYS[k]: _frozen(v) for k, v in custom.items() if k in SEMANTIC_KEYS}
        return tuple(sorted(found.items()))

    def columns(
        self, raw: dict[str, Any], path: Path, prefix: str, parent: str | None = None
    ) -> list[Column]:
        """One column, plus what is nested in it flattened: an object's properties as `parent.child`, an
        array's `items` as `parent[]` (and an array of objects' properties as `parent[].child`)."""
        name = prefix + str(raw["name"])
        custom = _custom(raw.get("customProperties"))
        options = dict(raw.get("logicalTypeOptions") or {})
        allowed, allowed_at = self._allowed_values(raw, options, path)
        options.pop("enum", None)
        position = raw.get("primaryKeyPosition")
        partition = raw.get("partitionKeyPosition")
        pii = custom.get("pii")
        column = Column(
            name=name,
            physical_name=raw.get("physicalName"),
            logical_type=raw.get("logicalType"),
            physical_type=raw.get("physicalType"),
            required=bool(raw.get("required", False)),
            unique=bool(raw.get("unique", False)),
            primary_key=bool(raw.get("primaryKey", False)),
            primary_key_position=position if isinstance(position, int) and position >= 0 else None,
            partitioned=bool(raw.get("partitioned", False)),
            classification=raw.get("classification"),
            pii=None if pii is None else str(pii).lower() in ("true", "yes", "1"),
            description=raw.get("description"),
            business_name=raw.get("businessName"),
            tags=tuple(str(t) for t in raw.get("tags") or ()),
            examples=_frozen(raw.get("examples") or ()),
            options=tuple(sorted((k, _frozen(v)) for k, v in options.items())),
            allowed_values=allowed,
            allowed_values_location=allowed_at,
            key_locations=self._key_locations(raw, path),
            allowed_value_docs=tuple(
                (_frozen(e.get("value")), _frozen({k: v for k, v in e.items() if k != "value"}))
                for e in raw.get("enum") or ()
                if isinstance(e, dict) and len(e) > 1
            ),
            allowed_value_ids=tuple(
                (str(e["id"]), _frozen(e.get("value")), self.loc((*path, "enum", i)))
                for i, e in enumerate(raw.get("enum") or ())
                if isinstance(e, dict) and e.get("id") is not None
            ),
            semantics=self._semantics(custom),
            deprecated=bool(
                raw.get("deprecated") or str(custom.get("deprecated", "")).lower() in ("true", "yes")
            ),
            quality=self.quality(raw.get("quality"), (*path, "quality")),
            location=self.loc(path),
            id=raw.get("id"),
            partition_position=partition if isinstance(partition, int) and partition >= 0 else None,
            parent=parent,
            relationships=tuple(
                self._relationship(r, (*path, "relationships", i), (name,), column=name)
                for i, r in enumerate(raw.get("relationships") or [])
                if isinstance(r, dict)
            ),
            critical=bool(raw.get("criticalDataElement", False)),
            semantic_type=raw.get("semanticType"),
        )
        out = [column]
        for k, child in enumerate(raw.get("properties") or []):
            out.extend(self.columns(child, (*path, "properties", k), prefix=f"{name}.", parent=name))
        items = raw.get("items")
        if isinstance(items, dict):
            out.extend(self.columns({**items, "name": "[]"}, (*path, "items"), prefix=name, parent=name))
        return out

    def _relationship(
        self, raw: dict[str, Any], path: Path, columns: tuple[str, ...], column: str | None = None
    ) -> Relationship:
        return Relationship(
            columns=columns,
            to=_strings(raw.get("to")),
            type=str(raw.get("type") or "foreignKey"),
            id=raw.get("id"),
            column=column,
            location=self.loc(path),
            key_locations=tuple((str(k), self.loc((*path, k))) for k in raw),
        )

    def _allowed_values(
        self, raw: dict[str, Any], options: dict[str, Any], path: Path
    ) -> tuple[tuple[Any, ...] | None, Location | None]:
        """Allowed values and where they are listed: ODCS 3.2 `enum`, `logicalTypeOptions.enum`, a custom
        property `enum` (datacontract-cli's export: a list, or a JSON list as text), or an invalidValues
        rule's validValues (ODCS 3.1)."""
        values: list[Any] | None = None
        where: Path = path
        custom = self._custom_enum(raw, path)
        if raw.get("enum"):
            values = [e["value"] if isinstance(e, dict) else e for e in raw["enum"]]
            where = (*path, "enum")
        elif options.get("enum"):
            values = list(options["enum"])
            where = (*path, "logicalTypeOptions", "enum")
        elif custom is not None:
            values, where = custom
        else:
            for i, rule in enumerate(raw.get("quality") or []):
                args = rule.get("arguments") or {}
                if rule.get("metric") == "invalidValues" and "validValues" in args:
                    where = (*path, "quality", i, "arguments", "validValues")
                    if not isinstance(args["validValues"], list):
                        raise ContractError(
                            f"quality[{i}]: validValues must be a list of values, not "
                            f"{'nothing' if args['validValues'] is None else repr(args['validValues'])}",
                            self.loc(where),
                            "list the allowed values, e.g. validValues: [placed, shipped]",
                        )
                    values = list(args["validValues"])
                    break
        if values is None:
            return None, None
        return tuple(_frozen(v) for v in values), self.loc(where)

    def _key_locations(self, raw: dict[str, Any], path: Path) -> tuple[tuple[str, Location], ...]:
        """The line of each key of a property, of each of its logicalTypeOptions and custom properties
        (named as the diff names them: `customProperties.timezone` for a `timeZone`)."""
        out = [(str(k), self.loc((*path, k))) for k in raw]
        options = raw.get("logicalTypeOptions")
        if isinstance(options, dict):
            out += [(f"logicalTypeOptions.{k}", self.loc((*path, "logicalTypeOptions", k))) for k in options]
        for i, c in enumerate(raw.get("customProperties") or ()):
            if isinstance(c, dict) and isinstance(c.get("property"), str):
                name = SEMANTIC_KEYS.get(c["property"], c["property"])
                out.append((f"customProperties.{name}", self.loc((*path, "customProperties", i))))
        return tuple(out)

    @staticmethod
    def _custom_enum(raw: dict[str, Any], path: Path) -> tuple[list[Any], Path] | None:
        for i, c in enumerate(raw.get("customProperties") or ()):
            if not (isinstance(c, dict) and c.get("property") == "enum"):
                continue
            value = c.get("value")
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
                return value, (*path, "customProperties", i, "value")
        return None

    def quality(self, rules: Any, path: Path) -> tuple[QualityRule, ...]:
        out: list[QualityRule] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(rules or []):
            kind = str(raw.get("type") or ("library" if "metric" in raw else "text"))
            operator = next((op for op in OPERATORS if op in raw), None)
            base_key = self._rule_key(raw, kind)
            seen[base_key] = seen.get(base_key, 0) + 1
            key = base_key if seen[base_key] == 1 else f"{base_key}#{seen[base_key]}"
            arguments = raw.get("arguments") or {}
            out.append(
                QualityRule(
                    key=key,
                    type=kind,
                    metric=raw.get("metric"),
                    operator=operator,
                    value=_frozen(raw[operator]) if operator else None,
                    unit=raw.get("unit"),
                    arguments=tuple(sorted((str(k), _frozen(v)) for k, v in arguments.items())),
                    query=raw.get("query") if kind == "sql" else self._custom_body(raw),
                    severity=str(raw.get("severity") or "error"),
                    dimension=raw.get("dimension"),
                    description=raw.get("description"),
                    location=self.loc((*path, i)),
                    key_locations=tuple((str(k), self.loc((*path, i, k))) for k in raw),
                )
            )
        return tuple(out)

    @staticmethod
    def _rule_key(raw: dict[str, Any], kind: str) -> str:
        """A rule's identity across revisions: its id or name, else what it checks."""
        if raw.get("id") or raw.get("name"):
            return str(raw.get("id") or raw.get("name"))
        if kind == "library":
            return str(raw.get("metric"))
        if kind == "sql":
            return "sql:" + " ".join(str(raw.get("query", "")).split())  # shown as the rule's name
        if kind == "custom":
            return f"custom:{raw.get('engine')}"
        return f"{kind}:{' '.join(str(raw.get('description', '')).split())}"

    @staticmethod
    def _custom_body(raw: dict[str, Any]) -> str | None:
        impl = raw.get("implementation")
        if impl is None:
            return None
        return impl if isinstance(impl, str) else repr(_frozen(impl))


__all__ = ["parse_contract", "COMPATIBILITY_MODES", "dotted"]
