"""What the models of a dbt project read that is not a SQL model: sources, seeds (with their CSV as
sample data), python models and incremental models' own earlier state, as datacanary sources."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from app.dbt.catalog import Catalog
from app.dbt.nodes import Manifest
from app.dbt.seeds import sniff_columns
from app.project.config import ProjectConfig, SourceConfig
from app.project.tree import join

Read = Callable[[str], "str | None"]


def this_source(model: str) -> str:
    """The source standing for a model's own table when its SQL reads `{{ this }}`."""
    return f"{model}__this"


def project_sources(
    manifest: Manifest,
    names: Mapping[str, str],
    config: ProjectConfig,
    root: str,
    read: Read,
    self_readers: set[str],
    catalog: Catalog,
) -> dict[str, SourceConfig]:
    """dbt sources, seeds, python models and `{{ this }}` as datacanary sources; datacanary.yml may
    give sample data for any of them, keyed by the dataset name or dbt's `source_name.table`. Column
    types come from the yml, else dbt's catalog (what the warehouse has), else the seed's CSV."""
    declared = dict(config.sources)
    out: dict[str, SourceConfig] = {}
    for uid, src in sorted(manifest.sources.items()):
        name = names[uid]
        user = declared.pop(name, None) or declared.pop(f"{src.source_name}.{src.name}", None)
        cols = {**catalog.get(uid, {}), **{c.name: c.data_type for c in src.columns if c.data_type}}
        out[name] = _merge(user, cols, src.description or None)
    for uid, seed in sorted(manifest.seeds.items()):
        name = names[uid]
        user = declared.pop(name, None)
        cols = {c.name: c.data_type for c in seed.columns if c.data_type} or dict(seed.column_types)
        cols = {**catalog.get(uid, {}), **cols}
        if not cols:
            text = read(join(root, seed.path))
            cols = sniff_columns(text, seed.delimiter) if text is not None else {}
        out[name] = _merge(user, cols, None, SourceConfig(path=seed.path, format="csv", columns=cols))
    for uid, m in sorted(manifest.models.items()):
        cols = {**catalog.get(uid, {}), **{c.name: c.data_type for c in m.columns if c.data_type}}
        if m.language != "sql":
            out[names[uid]] = _merge(declared.pop(names[uid], None), cols, m.description or None)
        elif this_source(names[uid]) in self_readers:
            this = this_source(names[uid])
            out[this] = _merge(declared.pop(this, None), cols, f"{names[uid]} before this run")
    out.update(declared)  # sources only datacanary.yml knows (e.g. read by a model's raw SQL)
    return out


def _merge(
    user: SourceConfig | None, cols: dict[str, str], description: str | None, base: SourceConfig | None = None
) -> SourceConfig:
    start = base or SourceConfig(columns=cols, description=description)
    if user is None:
        return start
    return user.model_copy(
        update={
            "columns": {**cols, **user.columns},
            "path": user.path or start.path,
            # a sample of the user's own (say Parquet) has its own format, not the seed's csv
            "format": user.format if user.path else user.format or start.format,
            "description": user.description or description,
        }
    )
