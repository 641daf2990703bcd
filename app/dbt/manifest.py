"""Read a dbt `manifest.json` (schema v10 to v12: dbt 1.6 to 1.10+) into typed values.

Only what datacanary needs is read; unknown keys are ignored, so newer manifests keep working. A
manifest that is not what dbt writes fails once, naming the JSON path of the first bad value.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypeVar

from app.dbt.jsonpath import JsonAt
from app.dbt.nodes import (
    Constraint,
    DbtColumn,
    DbtExposure,
    DbtModel,
    DbtSeed,
    DbtSource,
    DbtTest,
    Manifest,
    Relation,
)
from app.errors import ProjectError
from app.types import Location

OLDEST_SCHEMA = 10  # dbt 1.6: model contracts with constraints, versions, `compiled_code`
NEWEST_KNOWN_SCHEMA = 12
_SCHEMA_RE = re.compile(r"/manifest/v(\d+)\.json$")
MODEL_TYPES = ("model", "snapshot")
PACKAGES_DIR = "dbt_packages"  # dbt's default packages-install-path


def parse_manifest(text: str | bytes, path: str) -> Manifest:
    """Parse a manifest's JSON text; `path` is used in messages only."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deep
        line = getattr(exc, "lineno", None)
        raise ProjectError(
            f"{path} is not valid JSON: {getattr(exc, 'msg', str(exc))}",
            Location(path, line),
            "pass the manifest.json that `dbt compile` wrote into target/",
        ) from None
    root = JsonAt(data, "", path)
    meta = root["metadata"]
    version = _schema_version(meta, path)
    groups = {g.get("name").opt_text(): g.get("owner").value for _, g in root.get("groups").objects()}
    models: dict[str, DbtModel] = {}
    seeds: dict[str, DbtSeed] = {}
    tests: list[DbtTest] = []
    for uid, node in root["nodes"].objects():
        kind = node["resource_type"].text()
        if node.get("config").value is not None and node["config"].get("enabled").value is False:
            continue
        if kind in MODEL_TYPES:
            models[uid] = _model(uid, node, groups)
        elif kind == "seed":
            seeds[uid] = _seed(uid, node)
        elif kind == "test" and node.get("test_metadata").value is not None:
            tests.append(_test(uid, node))
    sources = {uid: _source(uid, node) for uid, node in root.get("sources").objects()}
    # exposures may read metrics or saved queries; follow them down to the models they are built on
    semantic = {
        uid: _depends(node)
        for section in ("metrics", "semantic_models", "saved_queries")
        for uid, node in root.get(section).objects()
    }
    exposures = tuple(
        _exposure(uid, node, semantic)
        for uid, node in sorted(root.get("exposures").objects(), key=lambda kv: kv[0])
    )
    project = meta.get("project_name").opt_text() or _guess_project(models) or "dbt"
    # nodes of installed packages live under dbt_packages/<package>/, not in the project's own folders
    models = {uid: _in_package(m, m.package, project) for uid, m in models.items()}
    seeds = {uid: _in_package(s, uid.split(".")[1], project) for uid, s in seeds.items()}
    return Manifest(
        path=path,
        schema_version=version,
        dbt_version=meta.get("dbt_version").opt_text(),
        project_name=project,
        adapter_type=meta.get("adapter_type").opt_text(),
        models=models,
        seeds=seeds,
        sources=sources,
        tests=tuple(sorted(tests, key=lambda t: t.unique_id)),  # manifest order is not meaningful
        exposures=exposures,
        macros={uid: _macro(node) for uid, node in root.get("macros").objects()},
    )


def _macro(node: JsonAt) -> tuple[str, tuple[str, ...]]:
    sql = node.get("macro_sql").opt_text() or ""
    return hashlib.sha256(sql.encode("utf-8")).hexdigest(), _depends(node, "macros")


_Node = TypeVar("_Node", DbtModel, DbtSeed)


def _in_package(node: _Node, package: str, project: str) -> _Node:
    if package == project:
        return node
    where = f"{PACKAGES_DIR}/{package}"
    patch = f"{where}/{node.patch_path}" if node.patch_path else None
    return replace(node, path=f"{where}/{node.path}", patch_path=patch)


def _schema_version(meta: JsonAt, path: str) -> int:
    url = meta.get("dbt_schema_version").opt_text() or ""
    m = _SCHEMA_RE.search(url)
    if not m:
        raise meta.fail(f"metadata.dbt_schema_version {url!r} is not a dbt manifest schema")
    version = int(m.group(1))
    if version < OLDEST_SCHEMA:
        raise ProjectError(
            f"{path} is a manifest v{version} (dbt < 1.6); datacanary reads v{OLDEST_SCHEMA} and newer",
            Location(path),
            "upgrade dbt to 1.6 or newer and run `dbt compile` again",
        )
    return version


def _guess_project(models: Mapping[str, DbtModel]) -> str | None:
    return next((m.package for m in models.values()), None)


def _columns(node: JsonAt) -> tuple[DbtColumn, ...]:
    out = []
    for name, col in node.get("columns").objects():
        meta = col.get("meta").value or {}
        # dbt 1.10 also writes column meta under `config`; later versions may write it only there
        config_meta = (
            (col.get("config").value or {}).get("meta") if isinstance(col.get("config").value, dict) else None
        )
        if isinstance(config_meta, dict) and isinstance(meta, dict):
            meta = {**meta, **config_meta}
        out.append(
            DbtColumn(
                name=col.get("name").opt_text() or name,
                data_type=col.get("data_type").opt_text(),
                description=col.get("description").opt_text() or "",
                meta=tuple(sorted(meta.items())) if isinstance(meta, dict) else (),
                constraints=tuple(_constraint(c) for c in col.get("constraints").items()),
            )
        )
    return tuple(out)


def _constraint(c: JsonAt) -> Constraint:
    return Constraint(
        type=c["type"].text(),
        name=c.get("name").opt_text(),
        expression=c.get("expression").opt_text(),
        columns=c.get("columns").texts(),
        to=c.get("to").opt_text(),
        to_columns=c.get("to_columns").texts(),
    )


def _relation(node: JsonAt, identifier_key: str) -> Relation:
    ident = node.get(identifier_key).opt_text() or node["name"].text()
    return Relation(
        database=node.get("database").opt_text(),
        schema=node.get("schema").opt_text(),
        identifier=ident,
        rendered=node.get("relation_name").opt_text(),
    )


def _strip_package(patch_path: str | None) -> str | None:
    """dbt writes `patch_path` as `package://models/schema.yml`."""
    return patch_path.split("://", 1)[1] if patch_path and "://" in patch_path else patch_path


def _owners(node: JsonAt, groups: Mapping[str | None, Any]) -> tuple[str | None, tuple[str, ...]]:
    """Who owns a model: its dbt group's owner, else `meta.owner`; handles from `meta.owners`."""
    config = _dict(node.get("config").value)
    meta = {**_dict(config.get("meta")), **_dict(node.get("meta").value)}
    key = node.get("group").opt_text() or config.get("group")
    group = _dict(groups.get(key) if isinstance(key, str) else None)
    owner = group.get("name") or group.get("email") or meta.get("owner")
    handles = meta.get("owners") or group.get("github") or ()
    handles = [handles] if isinstance(handles, str) else handles
    owners = tuple(h for h in handles if isinstance(h, str)) if isinstance(handles, list) else ()
    return (owner if isinstance(owner, str) else None), owners


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _model(uid: str, node: JsonAt, groups: Mapping[str | None, Any]) -> DbtModel:
    config = node.get("config")
    contract = node.get("contract")
    enforced = contract.value is not None and contract.get("enforced").value is True
    version = node.get("version").opt_text()
    return DbtModel(
        unique_id=uid,
        name=node["name"].text(),
        package=node.get("package_name").opt_text() or uid.split(".")[1],
        resource_type=node["resource_type"].text(),
        path=node["original_file_path"].text(),
        patch_path=_strip_package(node.get("patch_path").opt_text()),
        relation=_relation(node, "alias"),
        materialized=(config.get("materialized").opt_text() if config.value is not None else None) or "view",
        compiled_code=node.get("compiled_code").opt_text(),
        raw_code=node.get("raw_code").opt_text() or "",
        contract_enforced=enforced,
        contract_checksum=contract.get("checksum").opt_text() if contract.value is not None else None,
        columns=_columns(node),
        constraints=tuple(_constraint(c) for c in node.get("constraints").items()),
        depends_on=node.get("depends_on").get("nodes").texts() if node.get("depends_on").value else (),
        version=version,
        latest_version=node.get("latest_version").opt_text(),
        description=node.get("description").opt_text() or "",
        config=_config_items(config.value),
        language=node.get("language").opt_text() or "sql",
        deprecation_date=node.get("deprecation_date").opt_text(),
        owner=_owners(node, groups)[0],
        owners=_owners(node, groups)[1],
        file_sha256=_sha256(node.get("checksum")),
        macros=_depends(node, "macros"),
    )


# config keys that do not change what a model produces (dbt's state:modified.configs ignores them too)
_IGNORED_CONFIG = frozenset({"docs", "meta", "tags", "persist_docs", "grants", "group", "access", "contract"})


def _sha256(checksum: JsonAt) -> str | None:
    if not isinstance(checksum.value, dict) or checksum.value.get("name") != "sha256":
        return None
    value = checksum.value.get("checksum")
    return value if isinstance(value, str) else None


def _config_items(config: Any) -> tuple[tuple[str, Any], ...]:
    if not isinstance(config, dict):
        return ()
    return tuple(
        sorted((k, json.dumps(v, sort_keys=True)) for k, v in config.items() if k not in _IGNORED_CONFIG)
    )


def _seed(uid: str, node: JsonAt) -> DbtSeed:
    config = node.get("config")
    types = config.get("column_types").value if config.value is not None else None
    return DbtSeed(
        unique_id=uid,
        name=node["name"].text(),
        path=node["original_file_path"].text(),
        patch_path=_strip_package(node.get("patch_path").opt_text()),
        relation=_relation(node, "alias"),
        columns=_columns(node),
        column_types=tuple(sorted((str(k), str(v)) for k, v in types.items()))
        if isinstance(types, dict)
        else (),
        delimiter=(config.get("delimiter").opt_text() if config.value is not None else None) or ",",
        file_sha256=_sha256(node.get("checksum")),
    )


def _source(uid: str, node: JsonAt) -> DbtSource:
    return DbtSource(
        unique_id=uid,
        source_name=node["source_name"].text(),
        name=node["name"].text(),
        relation=_relation(node, "identifier"),
        path=node.get("original_file_path").opt_text() or "",
        columns=_columns(node),
        description=node.get("description").opt_text() or "",
    )


def _test(uid: str, node: JsonAt) -> DbtTest:
    meta = node["test_metadata"]
    kwargs = meta.get("kwargs").value or {}
    if not isinstance(kwargs, dict):
        raise meta.get("kwargs").fail("expected an object")
    config = node.get("config")
    severity = (config.get("severity").opt_text() if config.value is not None else None) or "ERROR"
    return DbtTest(
        unique_id=uid,
        test_name=meta["name"].text(),
        namespace=meta.get("namespace").opt_text(),
        attached_node=node.get("attached_node").opt_text(),
        column_name=node.get("column_name").opt_text() or _str_or_none(kwargs.get("column_name")),
        kwargs=tuple(sorted((k, _freeze(v)) for k, v in kwargs.items() if k != "model")),
        severity="warning" if severity.lower() == "warn" else "error",
        compiled_code=node.get("compiled_code").opt_text(),
        depends_on=node.get("depends_on").get("nodes").texts() if node.get("depends_on").value else (),
        where=config.get("where").opt_text() if config.value is not None else None,
        error_if=(config.get("error_if").opt_text() if config.value is not None else None) or "!= 0",
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def _depends(node: JsonAt, kind: str = "nodes") -> tuple[str, ...]:
    deps = node.get("depends_on")
    return deps.get(kind).texts() if deps.value else ()


def _through(ids: tuple[str, ...], semantic: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """`ids` with metrics, semantic models and saved queries replaced by what they read."""
    out: list[str] = []
    todo, seen = list(ids), set()
    while todo:
        uid = todo.pop(0)
        if uid in seen:
            continue
        seen.add(uid)
        if uid in semantic:
            todo.extend(semantic[uid])
        else:
            out.append(uid)
    return tuple(out)


def _exposure(uid: str, node: JsonAt, semantic: Mapping[str, tuple[str, ...]]) -> DbtExposure:
    owner = node.get("owner").value or {}
    who = None
    if isinstance(owner, dict):
        who = owner.get("email") or owner.get("name")
    return DbtExposure(
        unique_id=uid,
        name=node["name"].text(),
        label=node.get("label").opt_text(),
        type=node.get("type").opt_text() or "application",
        owner=who if isinstance(who, str) else None,
        url=node.get("url").opt_text(),
        depends_on=_through(_depends(node), semantic),
    )
