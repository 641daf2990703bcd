"""`state:modified+` for the canary: the models whose output can change, and everything downstream.

Like dbt, a model is modified when its SQL, its config or its contract changed, or it is new. Unlike
dbt, the SQL is the compiled SQL and a change that provably keeps the output (whitespace, comments,
reordered columns or joins; app/sql's classification) does not count, so it raises no data-diff alarm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.dbt.nodes import DbtModel
from app.dbt.project import DbtProject

MODIFIED_SQL = ("changed", "added", "renamed")


@dataclass(frozen=True, slots=True)
class StateSelection:
    """`modified` maps each modified model to why; `selected` is modified plus children, in DAG order."""

    modified: Mapping[str, tuple[str, ...]]
    selected: tuple[str, ...]


def state_modified(
    base: DbtProject, head: DbtProject, sql_kinds: Mapping[str, str] | None = None
) -> StateSelection:
    """Select like `dbt ls -s state:modified+ --state <base target>`, over dataset names.

    `sql_kinds` is app/sql's classification per head model (`unchanged`, `equivalent`, `changed`,
    `added`, `renamed`, ...); without it, any difference in the compiled SQL text counts.
    """
    old = {base.names[uid]: m for uid, m in base.manifest.models.items()}
    new = {head.names[uid]: m for uid, m in head.manifest.models.items()}
    old_sql, new_sql = base.project.models, head.project.models
    modified: dict[str, tuple[str, ...]] = {}
    for name, m in sorted(new.items()):
        why: list[str] = []
        before = old.get(name)
        if name not in new_sql or (before is not None and name not in old_sql):
            # a python model (no SQL to compare): dbt's own rule, the code text
            if before is None or before.raw_code != m.raw_code:
                why.append("code added" if before is None else "code changed")
        elif sql_kinds is not None:
            kind = sql_kinds.get(name, "added" if before is None else "unchanged")
            if kind in MODIFIED_SQL:
                why.append(f"sql {kind}")
        elif before is None:
            why.append("sql added")
        elif old_sql[name].sql != new_sql[name].sql:
            why.append("sql changed")
        if before is not None:
            why += _config_reasons(before, m)
        why += [f"reads seed {s}, whose data changed" for s in _changed_seeds(base, head, m)]
        if why:
            modified[name] = tuple(why)
    return StateSelection(modified=modified, selected=tuple(_downstream_in_order(head, set(modified))))


def _changed_seeds(base: DbtProject, head: DbtProject, m: DbtModel) -> list[str]:
    """Seeds `m` reads whose CSV changed (like dbt's state:modified on the seed, then `+`)."""
    old = {base.names[uid]: s for uid, s in base.manifest.seeds.items()}
    out = []
    for uid in m.depends_on:
        seed = head.manifest.seeds.get(uid)
        if seed is None:
            continue
        before = old.get(head.names[uid])
        if (
            before is not None
            and before.file_sha256
            and seed.file_sha256
            and before.file_sha256 != seed.file_sha256
        ):
            out.append(head.names[uid])
    return out


def _config_reasons(before: DbtModel, after: DbtModel) -> list[str]:
    why = []
    if dict(before.config) != dict(after.config):
        keys = sorted({k for k, v in set(before.config) ^ set(after.config)})
        why.append(f"config changed: {', '.join(keys)}")
    if before.contract_enforced != after.contract_enforced or (
        after.contract_enforced and before.contract_checksum != after.contract_checksum
    ):
        why.append("contract changed")
    return why


def _downstream_in_order(head: DbtProject, start: set[str]) -> list[str]:
    """`start` and every model that depends on one of them, parents before children."""
    parents: dict[str, list[str]] = {}
    for uid, m in head.manifest.models.items():
        parents[head.names[uid]] = [head.names[d] for d in m.depends_on if d in head.manifest.models]
    children: dict[str, list[str]] = {}
    for child, ps in parents.items():
        for p in ps:
            children.setdefault(p, []).append(child)
    wanted = set(start)
    stack = list(start)
    while stack:
        for c in children.get(stack.pop(), []):
            if c not in wanted:
                wanted.add(c)
                stack.append(c)
    order: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:  # depth-first post-order; dbt already refused cycles
        if name in done:
            return
        done.add(name)
        for p in sorted(parents.get(name, [])):
            visit(p)
        if name in wanted:
            order.append(name)

    for name in sorted(wanted):
        visit(name)
    return order
