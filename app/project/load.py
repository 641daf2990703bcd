"""Load a data project from a Tree (a git revision or a directory). The only I/O is the Tree's."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from app.contracts.model import Contract
from app.contracts.parse import parse_contract
from app.errors import ProjectError
from app.project.config import CONFIG_FILE, parse_config
from app.project.model import ModelFile, Project, freeze_models
from app.project.tree import Tree, glob, join
from app.types import Location

if TYPE_CHECKING:
    from app.dbt.project import DbtProject

CONTRACT_PATTERNS = ("**/*.odcs.yaml", "**/*.odcs.yml")


def load_project(tree: Tree, root: str = "") -> Project:
    """Read datacanary.yml, every model and every contract under `root` of `tree`."""
    loaded = load_any_project(tree, root)
    return loaded if isinstance(loaded, Project) else loaded.strict_project()


def load_any_project(tree: Tree, root: str = "") -> Project | DbtProject:
    """Like load_project, but a dbt project comes with its manifest: a model whose Jinja could not be
    rendered is kept apart (DbtProject.mark_unrendered), not raised, so the others can be analysed."""
    config_path = join(root, CONFIG_FILE)
    if tree.exists(join(root, "dbt_project.yml")):
        # a datacanary.yml next to dbt_project.yml only adds settings to the dbt project
        from app.project.dbt import load_dbt  # dbt support is optional weight

        return load_dbt(tree, root)
    if not tree.exists(config_path):
        raise ProjectError(
            f"no {CONFIG_FILE} in {root or 'the repository root'} at {tree.label}",
            Location(config_path),
            "create datacanary.yml (see README.md), or pass --project pointing at the directory that has it",
        )
    config, doc = parse_config(tree.read_text(config_path), config_path)
    if config.dbt is not None and config.dbt.get("project_dir") is not None:
        # datacanary.yml declares a dbt project elsewhere (`dbt: {project_dir: transform}`)
        from app.project.dbt import load_dbt

        return load_dbt(tree, root)

    model_paths = glob(tree, join(root, config.models), "**/*.sql")
    contract_paths = sorted(
        {p for pat in CONTRACT_PATTERNS for p in glob(tree, join(root, config.contracts), pat)}
    )
    prefetch = getattr(tree, "prefetch", None)
    if prefetch is not None:
        prefetch(model_paths + contract_paths)

    models: dict[str, ModelFile] = {}
    for path in model_paths:
        name = posixpath.splitext(posixpath.basename(path))[0]
        if name in models:
            raise ProjectError(
                f"two models are named {name!r}: {models[name].path} and {path}",
                Location(path, 1),
                "model names come from file names and must be unique; rename one of the files",
            )
        models[name] = ModelFile(name=name, path=path, sql=tree.read_text(path))

    contracts: list[Contract] = [parse_contract(tree.read_text(p), p) for p in contract_paths]
    _check_unique_datasets(contracts)
    return Project(
        root=root,
        label=tree.label,
        config=config,
        config_doc=doc,
        models=freeze_models(models),
        contracts=tuple(contracts),
    )


def _check_unique_datasets(contracts: list[Contract]) -> None:
    seen: dict[str, Contract] = {}
    for c in contracts:
        for d in c.datasets:
            if d.name in seen and seen[d.name].path != c.path:
                raise ProjectError(
                    f"dataset {d.name!r} is described by two contracts: {seen[d.name].path} and {c.path}",
                    d.location or Location(c.path),
                    "keep one contract per dataset",
                )
            seen[d.name] = c
