"""Which models had their properties changed between two revisions, SQL aside: for dbt, the yml a
model is documented and tested by (description, columns, tests, config, contract); for a plain
project, the contract that describes it. Source positions do not count: a property moved to another
line has not changed. [pure]"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from app.project.model import Project
from app.types import Location

if TYPE_CHECKING:
    from app.dbt.nodes import DbtModel, DbtTest
    from app.dbt.project import DbtProject


def properties_changed(
    base: Project | None, head: Project, dbt: tuple[DbtProject, DbtProject] | None = None
) -> set[str]:
    """Models in both revisions whose properties differ."""
    if base is None:
        return set()
    if dbt is not None:
        return _dbt_changed(*dbt)
    out = set()
    for name in head.models.keys() & base.models.keys():
        a, b = base.contract_of(name), head.contract_of(name)
        if _plain(a[1] if a else None) != _plain(b[1] if b else None):
            out.add(name)
    return out


_INCREMENTAL = re.compile(r"\{%-?\s*if\s+is_incremental\(\)\s*-?%\}(.*?)\{%-?\s*endif\s*-?%\}", re.S)


def incremental_branch_changed(
    dbt: tuple[DbtProject, DbtProject] | None,
) -> dict[str, tuple[str, str]]:
    """Incremental models whose `{% if is_incremental() %}` branch changed -> (base, head) branch text
    (whitespace folded): the compiled SQL of a full build does not show it, incremental runs take it."""
    if dbt is None:
        return {}
    base, head = dbt
    old = {base.names[uid]: m for uid, m in base.manifest.models.items()}
    out = {}
    for uid, m in head.manifest.models.items():
        before = old.get(head.names[uid])
        if before is not None and m.materialized == "incremental" and _branches(before) != _branches(m):
            out[head.names[uid]] = (_branches(before), _branches(m))
    return out


def same_code_incremental(dbt: tuple[DbtProject, DbtProject] | None) -> set[str]:
    """Incremental models whose raw code, config and called macros are the same in both revisions (dbt's
    state:modified, app.dbt.select): their compiled SQL may still differ (`is_incremental()` is true
    against a built warehouse), which the PR did not do."""
    from app.dbt.select import changed_macros

    if dbt is None:
        return set()
    base, head = dbt
    old = {base.names[uid]: m for uid, m in base.manifest.models.items()}
    out = set()
    for uid, m in head.manifest.models.items():
        before = old.get(head.names[uid])
        if (
            before is not None
            and m.materialized == "incremental"
            and before.raw_code == m.raw_code
            and dict(before.config) == dict(m.config)
            and not changed_macros(base.manifest, head.manifest, m.macros)
        ):
            out.add(head.names[uid])
    return out


def _branches(m: DbtModel) -> str:
    return "\n".join(" ".join(b.split()) for b in _INCREMENTAL.findall(m.raw_code))


def _dbt_changed(base: DbtProject, head: DbtProject) -> set[str]:
    old_tests, new_tests = base.manifest.tests_by_node(), head.manifest.tests_by_node()
    old = {base.names[uid]: (m, old_tests.get(uid, [])) for uid, m in base.manifest.models.items()}
    out = set()
    for uid, m in head.manifest.models.items():
        name = head.names[uid]
        if name in old and _model_props(*old[name]) != _model_props(m, new_tests.get(uid, [])):
            out.add(name)
    return out


def _model_props(m: DbtModel, tests: list[DbtTest]) -> Any:
    found = sorted(
        repr((t.test_name, t.namespace, t.column_name, t.kwargs, t.severity, t.where, t.error_if))
        for t in tests
    )
    return (
        m.description,
        m.columns,
        m.constraints,
        m.config,
        m.contract_enforced,
        m.contract_checksum,
        m.materialized,
        m.owner,
        m.deprecation_date,
        found,
    )


def _plain(value: Any) -> Any:
    """A value with its source positions left out, comparable across revisions."""
    if isinstance(value, Location):
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(
            (f.name, _plain(getattr(value, f.name)))
            for f in dataclasses.fields(value)
            if "location" not in f.name
        )
    if hasattr(value, "model_dump"):
        return _plain(value.model_dump())
    if isinstance(value, dict):
        return tuple(sorted((str(k), _plain(v)) for k, v in value.items() if "location" not in str(k)))
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value
