"""A parsed dbt manifest as a datacanary Project: models with compiled SQL over plain dataset names,
sources and seeds with sample data, contracts of enforced models, exposures as consumers, and a
ProjectConfig from the manifest merged with an optional datacanary.yml next to dbt_project.yml."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from app.contracts.model import Contract
from app.dbt.catalog import Catalog
from app.dbt.contracts import ContractInput, model_contract
from app.dbt.incremental import full_refresh
from app.dbt.nodes import DbtExposure, DbtModel, Manifest, Relation
from app.dbt.raw import render_raw
from app.dbt.relations import EPHEMERAL_PREFIX, RelationIndex, read_ephemerals, rewrite_relations
from app.dbt.snapshots import snapshot_sql
from app.dbt.sources import Read, project_sources, this_source
from app.errors import ConfigError, ProjectError
from app.project.config import CONFIG_FILE, ProjectConfig, parse_config
from app.project.model import ModelFile, Project, freeze_models
from app.project.tree import join
from app.project.yamldoc import YamlDoc, load_yaml
from app.types import Location

if TYPE_CHECKING:
    from app.sql.analysis import Analysis

# dbt adapter type -> sqlglot dialect
ADAPTER_DIALECTS: Mapping[str, str] = MappingProxyType(
    {
        "snowflake": "snowflake",
        "bigquery": "bigquery",
        "postgres": "postgres",
        "duckdb": "duckdb",
        "redshift": "redshift",
        "databricks": "databricks",
        "spark": "spark",
        "trino": "trino",
        "athena": "athena",
        "clickhouse": "clickhouse",
        "sqlserver": "tsql",
        "fabric": "tsql",
        "synapse": "tsql",
        "oracle": "oracle",
        "mysql": "mysql",
        "materialize": "materialize",
        "teradata": "teradata",
        "doris": "doris",
        "starrocks": "starrocks",
        "dremio": "dremio",
        "risingwave": "risingwave",
        "sqlite": "sqlite",
    }
)


@dataclass(frozen=True, slots=True)
class DbtProject:
    """The Project plus what only dbt knows: the manifest, dataset names per node, and notes."""

    project: Project
    manifest: Manifest
    names: Mapping[str, str]  # node unique_id -> dataset name
    notes: tuple[str, ...] = ()
    # models whose raw code (no compiled SQL) could not be rendered -> why; their SQL is no query
    unrendered: Mapping[str, ProjectError] = field(default_factory=lambda: MappingProxyType({}))

    def strict_project(self) -> Project:
        """The project, or the first unrendered model's error: for the commands that need every model."""
        if self.unrendered:
            raise self.unrendered[min(self.unrendered)]
        return self.project

    def mark_unrendered(self, analysis: Analysis) -> Analysis:
        """`analysis` (lenient) with each unrendered model broken by its own reason, not as empty SQL."""
        if not self.unrendered:
            return analysis
        from app.sql.analysis import BrokenModel

        broken = dict(analysis.broken)
        for name, err in self.unrendered.items():
            if name in broken:
                broken[name] = BrokenModel(name, broken[name].path, err)
        return replace(analysis, broken=MappingProxyType(broken))


def dataset_names(manifest: Manifest) -> dict[str, str]:
    """unique_id -> the name datacanary uses: the model name (its latest version), `name_v2` for other
    versions, the seed name, the source table name (`source__table` when two sources share it)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    models = sorted(manifest.models.values(), key=lambda m: (m.package != manifest.project_name, m.unique_id))
    for m in models:
        base = m.name if m.is_latest else f"{m.name}_v{m.version}"
        name = base if base not in taken else f"{m.package}__{base}"
        names[m.unique_id] = name
        taken.add(name)
    for s in sorted(manifest.seeds.values(), key=lambda s: s.unique_id):
        name = s.name if s.name not in taken else f"{s.unique_id.split('.')[1]}__{s.name}"
        names[s.unique_id] = name
        taken.add(name)
    table_count: dict[str, int] = {}
    for src in manifest.sources.values():
        table_count[src.name] = table_count.get(src.name, 0) + 1
    for uid, src in sorted(manifest.sources.items()):
        plain = (
            src.name
            if table_count[src.name] == 1 and src.name not in taken
            else f"{src.source_name}__{src.name}"
        )
        names[uid] = plain
        taken.add(plain)
    return names


def build_project(
    manifest: Manifest,
    *,
    root: str,
    label: str,
    read: Read,
    catalog: Catalog | None = None,
    config_path: str | None = None,
) -> DbtProject:
    """Turn a manifest into a Project. `read(path)` returns a repository file's text or None (schema
    ymls for line numbers, seed CSVs for column types, datacanary.yml for settings); `catalog` (from
    dbt's catalog.json) types the sources, seeds and python models whose yml declares no types;
    `config_path` is the datacanary.yml to use (default: next to dbt_project.yml)."""
    notes: list[str] = []
    config, doc = _config(manifest, root, read, config_path or join(root, CONFIG_FILE))
    dialect = config.dialect
    names = dataset_names(manifest)
    relations: dict[str, Relation] = {}
    for uid, m in manifest.models.items():
        relations[names[uid]] = m.relation
    for uid, s in manifest.seeds.items():
        relations[names[uid]] = s.relation
    for uid, src in manifest.sources.items():
        relations[names[uid]] = src.relation
    index = RelationIndex.build(relations, dialect)

    models: dict[str, ModelFile] = {}
    self_readers: set[str] = set()
    unrendered: dict[str, ProjectError] = {}
    for uid, m in sorted(manifest.models.items()):
        if m.language != "sql":
            notes.append(
                f"{names[uid]}: a {m.language} model; read as a source (its declared columns), not analyzed"
            )
            continue
        sql = _model_sql(m, manifest, names, index, root, notes, self_readers, unrendered)
        models[names[uid]] = ModelFile(
            name=names[uid], path=join(root, m.path), sql=sql, materialized=m.materialized, version=m.version
        )

    consumers = _consumers(manifest.exposures, names)
    contracts = _contracts(manifest, names, consumers, dialect, index, root, read)
    sources = project_sources(manifest, names, config, root, read, self_readers, catalog or {})
    merged_consumers = {k: list(v) for k, v in consumers.items()}
    for k, v in config.consumers.items():
        merged_consumers.setdefault(k, [])
        merged_consumers[k] += [c for c in v if c not in merged_consumers[k]]
    keys = {**_tested_keys(manifest, names), **config.canary.keys}  # the user's keys win
    canary = config.canary.model_copy(update={"keys": keys})
    config = config.model_copy(update={"sources": sources, "consumers": merged_consumers, "canary": canary})
    project = Project(
        root=root,
        label=label,
        config=config,
        config_doc=doc,
        models=freeze_models(models),
        contracts=tuple(contracts),
        kind="dbt",
    )
    stale = stale_models(manifest, root, read)
    if stale:
        shown = ", ".join(stale[:5]) + (f" and {len(stale) - 5} more" if len(stale) > 5 else "")
        notes.append(
            f"{manifest.path} was compiled from other versions of {len(stale)} model file(s) than "
            f"{label} has: {shown}; run `dbt compile` on this revision so the gates see its SQL"
        )
    return DbtProject(
        project=project,
        manifest=manifest,
        names=MappingProxyType(names),
        notes=tuple(notes),
        unrendered=MappingProxyType(unrendered),
    )


def stale_models(manifest: Manifest, root: str, read: Read) -> list[str]:
    """Model files whose text differs from what the manifest was compiled from (dbt's file checksum:
    sha256 of the stripped text), then those the revision cannot have compiled: not UTF-8, or gone (the
    project's own models, judged only when the revision has its dbt_project.yml: a manifest read
    without its tree has none)."""
    stale, unreadable = [], []
    has_tree = read(join(root, "dbt_project.yml")) is not None
    for m in sorted(manifest.models.values(), key=lambda m: m.path):
        if m.file_sha256 is None:
            continue
        path = join(root, m.path)
        try:
            text = read(path)
        except ProjectError:  # not UTF-8 text: dbt cannot have compiled it (the analysis never reads it)
            unreadable.append(f"{path} (not UTF-8)")
            continue
        if text is None:
            if has_tree and m.package == manifest.project_name:
                unreadable.append(f"{path} (not in the revision)")
            continue
        digest = hashlib.sha256(text.replace("\r\n", "\n").strip().encode("utf-8")).hexdigest()
        if digest != m.file_sha256:
            stale.append(path)
    return stale + unreadable


def _config(manifest: Manifest, root: str, read: Read, path: str) -> tuple[ProjectConfig, YamlDoc]:
    """datacanary.yml (next to dbt_project.yml, or the one declaring it), with `name` and `dialect`
    defaulting to the manifest's."""
    text = read(path)
    dialect = ADAPTER_DIALECTS.get((manifest.adapter_type or "").lower())
    if text is None:
        if dialect is None:
            raise ProjectError(
                f"dbt adapter {manifest.adapter_type!r} has no known SQL dialect",
                Location(manifest.path),
                f"create {path} with `dialect: <sqlglot dialect>` (duckdb, snowflake, bigquery, ...)",
            )
        config = ProjectConfig(name=manifest.project_name, dialect=dialect)
        return config, YamlDoc(path=join(root, "dbt_project.yml"), data={}, lines={(): 1})
    data = load_yaml(text, path, ConfigError).data
    present = data if isinstance(data, dict) else {}
    # appended, not prepended: the lines of the user's keys stay where they are for error messages
    extra = ""
    if "name" not in present:
        extra += f"\nname: {_yaml_str(manifest.project_name)}\n"
    if "dialect" not in present and dialect is not None:
        extra += f"\ndialect: {dialect}\n"
    config, doc = parse_config(text.rstrip("\n") + "\n" + extra if extra else text, path)
    return config, doc


def _yaml_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _model_sql(
    m: DbtModel,
    manifest: Manifest,
    names: Mapping[str, str],
    index: RelationIndex,
    root: str,
    notes: list[str],
    self_readers: set[str],
    unrendered: dict[str, ProjectError],
) -> str:
    if m.compiled_code is not None:
        me = names[m.unique_id]
        # `{{ this }}` (an incremental model's filter on its own table) reads the model's earlier state
        sql, read = rewrite_relations(m.compiled_code, index, {me: this_source(me)})
        if EPHEMERAL_PREFIX in sql:
            ephemerals = {
                e.name: names[uid] for uid, e in manifest.models.items() if e.materialized == "ephemeral"
            }
            sql = read_ephemerals(sql, ephemerals, index.dialect)[0]
        if this_source(me) in read:
            refresh = full_refresh(sql, this_source(me), index.dialect)
            if refresh is not None:
                notes.append(
                    f"{me}: compiled with its is_incremental() branch (a filter on {{{{ this }}}}); "
                    "analysed and run by the canary as a full refresh, without that filter"
                )
                sql = refresh
            else:
                self_readers.add(this_source(me))
                notes.append(
                    f"{me}: reads its own earlier state ({{{{ this }}}}) in a way that cannot be left out; "
                    f"read as the source {this_source(me)}, empty in the canary (as on a first run)"
                )
        return snapshot_sql(sql, m, index.dialect) if m.resource_type == "snapshot" else sql
    notes.append(f"{m.name}: the manifest has no compiled SQL; used raw_code with ref/source resolved")
    by_name = {(mm.name, mm.version): names[uid] for uid, mm in manifest.models.items()}
    latest = {mm.name: names[uid] for uid, mm in manifest.models.items() if mm.is_latest}
    seeds = {s.name: names[uid] for uid, s in manifest.seeds.items()}
    sources = {(s.source_name, s.name): names[uid] for uid, s in manifest.sources.items()}
    try:
        return render_raw(
            m.raw_code,
            join(root, m.path),
            this=names[m.unique_id],
            ref=lambda name, v: by_name.get((name, v)) if v else latest.get(name) or seeds.get(name),
            source=lambda s, t: sources.get((s, t)),
        )
    except ProjectError as err:  # one model's Jinja: a finding of its own (DbtProject.mark_unrendered)
        unrendered[names[m.unique_id]] = err
        # commented out, so the analysis leaves it out; other raw code stays other text
        return "\n".join(f"-- {line}" for line in m.raw_code.split("\n"))


def _consumers(exposures: tuple[DbtExposure, ...], names: Mapping[str, str]) -> dict[str, list[str]]:
    """dataset -> exposures that read it directly, as `dashboard "Weekly revenue" (finance@example.com)`."""
    out: dict[str, list[str]] = {}
    for e in sorted(exposures, key=lambda e: e.name):
        who = f" ({e.owner})" if e.owner else ""
        label = f'{e.type} "{e.label or e.name}"{who}'
        for uid in e.depends_on:
            if uid in names and label not in out.setdefault(names[uid], []):
                out[names[uid]].append(label)
    return out


def _tested_keys(manifest: Manifest, names: Mapping[str, str]) -> dict[str, list[str]]:
    """Canary keys for models from their tests: a column tested `unique` and `not_null`, or
    dbt_utils' `unique_combination_of_columns`. Contracted models take theirs from the primary key."""
    unique: dict[str, set[str]] = {}
    not_null: dict[str, set[str]] = {}
    combos: dict[str, list[str]] = {}
    for t in manifest.tests:
        node = t.attached_node
        if node is None or node not in manifest.models:
            continue
        if t.namespace is None and t.test_name in ("unique", "not_null") and t.column_name:
            (unique if t.test_name == "unique" else not_null).setdefault(node, set()).add(t.column_name)
        elif t.test_name == "unique_combination_of_columns":
            cols = t.kwarg("combination_of_columns", ())
            if isinstance(cols, tuple) and all(isinstance(c, str) for c in cols):
                combos.setdefault(node, list(cols))
    out: dict[str, list[str]] = {}
    for node, cols in unique.items():
        both = sorted(cols & not_null.get(node, set()))
        if both:
            out[names[node]] = [both[0]]
    for node, cols in combos.items():
        out.setdefault(names[node], cols)
    return out


def _contracts(
    manifest: Manifest,
    names: Mapping[str, str],
    consumers: Mapping[str, list[str]],
    dialect: str,
    index: RelationIndex,
    root: str,
    read: Read,
) -> list[Contract]:
    tests = manifest.tests_by_node()
    ymls: dict[str, YamlDoc | None] = {}
    out = []
    for uid, m in sorted(manifest.models.items()):
        if not m.contract_enforced or m.language != "sql":
            continue
        yml_path = join(root, m.patch_path) if m.patch_path else None
        if yml_path is not None and yml_path not in ymls:
            text = read(yml_path)
            ymls[yml_path] = load_yaml(text, yml_path, ProjectError) if text is not None else None
        inp = ContractInput(
            model=m,
            dataset=names[uid],
            contract_path=yml_path or join(root, m.path),
            tests=tests.get(uid, []),
            consumers=tuple(consumers.get(names[uid], [])),
            yml=ymls.get(yml_path) if yml_path else None,
        )
        out.append(model_contract(inp, dialect, index))
    return out
