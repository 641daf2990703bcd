"""Load a dbt project (the edge): read a compiled `manifest.json` from a git revision or from disk,
plus the schema ymls, seed CSVs and datacanary.yml it needs from the tree, and build the Project.

A directory is a dbt project when it holds `dbt_project.yml` (a datacanary.yml next to it only adds
settings), or when its datacanary.yml declares one: `dbt: {project_dir: transform}`.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.dbt.catalog import parse_catalog
from app.dbt.manifest import parse_manifest
from app.dbt.project import DbtProject, build_project
from app.errors import ConfigError, ProjectError
from app.project.config import CONFIG_FILE
from app.project.model import Project
from app.project.tree import Tree, join
from app.project.yamldoc import load_yaml
from app.types import Location

DEFAULT_MANIFEST = "target/manifest.json"
CATALOG = "catalog.json"  # `dbt docs generate` writes it next to the manifest


@dataclass(frozen=True, slots=True)
class _Place:
    """Where the dbt project is (`root`), which datacanary.yml applies, and where its manifest is."""

    root: str
    config_path: str
    manifest: str  # repository-relative


def _place(tree: Tree | None, root: str) -> _Place:
    """`root` itself when it holds dbt_project.yml, else the `dbt.project_dir` its datacanary.yml names."""
    config_path = join(root, CONFIG_FILE)
    settings = _settings(tree, config_path) if tree is not None else {}
    project_dir = settings.get("project_dir")
    if isinstance(project_dir, str) and tree is not None and not tree.exists(join(root, "dbt_project.yml")):
        root = join(root, project_dir)
        if not tree.exists(join(root, "dbt_project.yml")):
            raise ConfigError(
                f"dbt.project_dir {project_dir!r} has no dbt_project.yml ({tree.label})",
                Location(config_path),
                "point dbt.project_dir at the directory holding dbt_project.yml, relative to datacanary.yml",
            )
    manifest = settings.get("manifest")
    return _Place(root, config_path, join(root, manifest if isinstance(manifest, str) else DEFAULT_MANIFEST))


def _settings(tree: Tree, config_path: str) -> dict[str, Any]:
    """The `dbt:` section of a datacanary.yml (empty when there is none)."""
    if not tree.exists(config_path):
        return {}
    data = load_yaml(tree.read_text(config_path), config_path, ConfigError).data
    section = data.get("dbt") if isinstance(data, dict) else None
    return section if isinstance(section, dict) else {}


def load_dbt_project(tree: Tree, root: str = "") -> Project:
    """The dbt project under `root` of `tree`, from the manifest committed with it."""
    return load_dbt(tree, root).strict_project()


def load_dbt(tree: Tree, root: str = "") -> DbtProject:
    """Like load_dbt_project, with the manifest and the notes (e.g. raw SQL used for missing compiled)."""
    place = _place(tree, root)
    if not tree.exists(place.manifest):
        raise ProjectError(
            f"the dbt project in {place.root or 'the repository root'} has no compiled manifest "
            f"at {place.manifest} ({tree.label})",
            Location(join(place.root, "dbt_project.yml")),
            "run `dbt compile` for base and head and pass them with "
            "`--base-manifest target-base/manifest.json --manifest target/manifest.json`",
        )
    catalog_path = posixpath.join(posixpath.dirname(place.manifest), CATALOG)
    catalog = (tree.read_bytes(catalog_path), catalog_path) if tree.exists(catalog_path) else None
    return _build(tree.read_bytes(place.manifest), place.manifest, tree, place, tree.label, catalog)


def load_manifest_file(path: Path, tree: Tree | None = None, root: str = "") -> Project:
    """A dbt project from a manifest file on disk. `tree` (the revision the manifest was compiled
    from) supplies schema ymls, seed CSVs and datacanary.yml under `root`; without it, contracts have
    no line numbers and seeds no sniffed types."""
    return load_manifest(path, tree, root).strict_project()


def load_manifest(path: Path, tree: Tree | None = None, root: str = "") -> DbtProject:
    """Like load_manifest_file, with the manifest and the notes."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ProjectError(
            f"cannot read the dbt manifest {path}: {exc.strerror or exc}",
            Location(str(path)),
            "run `dbt compile` first; it writes target/manifest.json",
        ) from None
    label = f"{tree.label}, manifest {path}" if tree is not None else str(path)
    catalog_file = Path(path).parent / CATALOG
    catalog = (catalog_file.read_bytes(), str(catalog_file)) if catalog_file.is_file() else None
    return _build(data, str(path), tree, _place(tree, root), label, catalog)


def _build(
    data: bytes, path: str, tree: Tree | None, place: _Place, label: str, catalog: tuple[bytes, str] | None
) -> DbtProject:
    """Parse the manifest (and the catalog.json beside it, when there is one) and build the project."""
    manifest = parse_manifest(data, path)
    root = place.root
    prefetch = getattr(tree, "prefetch", None)  # a git revision reads many blobs in one process
    if prefetch is not None:
        wanted = [m.path for m in manifest.models.values()] + [s.path for s in manifest.seeds.values()]
        wanted += [m.patch_path for m in manifest.models.values() if m.patch_path]
        prefetch(sorted({join(root, p) for p in wanted}))

    def read(p: str) -> str | None:
        if tree is None or not tree.exists(p):
            return None
        return tree.read_text(p)

    types = parse_catalog(*catalog) if catalog is not None else None
    built = build_project(
        manifest, root=root, label=label, read=read, catalog=types, config_path=place.config_path
    )
    return _typed_by_samples(built, tree) if tree is not None else built


def _typed_by_samples(built: DbtProject, tree: Tree) -> DbtProject:
    """Sources without declared columns but with sample data take the sample's columns and types."""
    from app.project.samples import sample_columns, undeclared_with_samples

    project = built.project
    names = undeclared_with_samples(project, tree)
    if not names:
        return built
    found = sample_columns(project, tree, names)
    if not found:
        return built
    sources = dict(project.config.sources)
    notes = list(built.notes)
    for name, cols in found.items():
        sources[name] = sources[name].model_copy(update={"columns": cols})
        notes.append(
            f"{name}: no declared columns (no yml columns or catalog.json); typed from its sample data "
            f"{sources[name].path} ({len(cols)} columns)"
        )
    config = project.config.model_copy(update={"sources": sources})
    return replace(built, project=replace(project, config=config), notes=tuple(notes))
