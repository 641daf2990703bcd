"""`state:modified+` for the canary: the models whose output can change, and everything downstream.

Like dbt (`same_body`, `state:modified.macros`), a model's code is modified when its raw code changed
or a macro it calls changed: not when only its compiled SQL differs, as an incremental model's does
between a compile against an empty warehouse and one against a built one (the `is_incremental()`
branch). Its config and contract count too, and new models. Unlike dbt, a change that provably keeps
the output (whitespace, comments, reordered columns or joins; app/sql's classification of the
compiled SQL) does not count, so it raises no data-diff alarm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.dbt.nodes import DbtModel, Manifest
from app.dbt.project import DbtProject
from app.dbt.sources import this_source

MODIFIED_SQL = ("changed", "added", "renamed")


@dataclass(frozen=True, slots=True)
class StateSelection:
    """`modified` maps each modified model to why; `selected` is modified plus children, in DAG order;
    `seeds` the seeds whose CSV changed (their readers are modified; the canary loads them per side)."""

    modified: Mapping[str, tuple[str, ...]]
    selected: tuple[str, ...]
    seeds: tuple[str, ...] = ()


def state_modified(
    base: DbtProject, head: DbtProject, sql_kinds: Mapping[str, str] | None = None
) -> StateSelection:
    """Select like `dbt ls -s state:modified+ --state <base target>`, over dataset names.

    `sql_kinds` is app/sql's classification per head model (`unchanged`, `equivalent`, `changed`,
    `added`, `renamed`, ...); without it, and for a model it leaves out (one the analysis could not
    take), any difference in the compiled SQL text counts.
    """
    old = {base.names[uid]: m for uid, m in base.manifest.models.items()}
    new = {head.names[uid]: m for uid, m in head.manifest.models.items()}
    old_sql, new_sql = base.project.models, head.project.models
    modified: dict[str, tuple[str, ...]] = {}
    seeds = changed_seeds(base, head)
    for name, m in sorted(new.items()):
        why: list[str] = []
        before = old.get(name)
        if name not in new_sql or (before is not None and name not in old_sql):
            # a python model (no SQL to compare): dbt's own rule, the code text
            if before is None or before.raw_code != m.raw_code:
                why.append("code added" if before is None else "code changed")
        elif before is None:
            why.append(f"sql {(sql_kinds or {}).get(name, 'added')}")
        else:
            why += _code_reasons(base, head, before, m, name, sql_kinds)
        if before is not None:
            why += _config_reasons(before, m)
        why += [f"reads seed {s}, whose data changed" for s in _changed_seeds(head, m, seeds)]
        if why:
            modified[name] = tuple(why)
    selected = tuple(_downstream_in_order(head, set(modified)))
    return StateSelection(modified=modified, selected=selected, seeds=seeds)


def _code_reasons(
    base: DbtProject,
    head: DbtProject,
    before: DbtModel,
    m: DbtModel,
    name: str,
    sql_kinds: Mapping[str, str] | None,
) -> list[str]:
    """Why a SQL model's code counts as modified: dbt's rule (raw code, or a macro it calls), where the
    compiled SQL also changed in a way that can change the output."""
    if sql_kinds is not None and name in sql_kinds:
        kind = sql_kinds[name]
        compiled = kind in MODIFIED_SQL
    else:  # a broken model is a finding of its own; selected, its readers are skipped by name
        kind = "changed"
        compiled = base.project.models[name].sql != head.project.models[name].sql
    if not compiled:
        return []
    if before.raw_code != m.raw_code:
        return [f"sql {kind}"]
    macros = changed_macros(base.manifest, head.manifest, m.macros)
    if macros:
        return [f"sql {kind}: macro {', '.join(macros)} changed"]
    if this_source(name) in head.project.config.sources or this_source(name) in base.project.config.sources:
        return []  # the same code compiled with and without its is_incremental() branch
    # same raw code, same macros, other compiled SQL: a var, the target or an env var; say it
    return [f"compiled sql {kind} (its raw code did not: a var, env var or target differs)"]


def changed_macros(old: Manifest, new: Manifest, called: tuple[str, ...]) -> list[str]:
    """Macros `called` (and the macros they call) whose SQL differs between the manifests."""
    out: list[str] = []
    todo, seen = list(called), set()
    while todo:
        uid = todo.pop(0)
        if uid in seen:
            continue
        seen.add(uid)
        a, b = old.macros.get(uid), new.macros.get(uid)
        if a is None and b is None:
            continue  # a manifest without its macros (trimmed, or dbt's own): nothing to compare
        if a is None or b is None or a[0] != b[0]:
            out.append(uid.rsplit(".", 1)[-1])
        todo.extend((b or a or ("", ()))[1])
    return out


def changed_seeds(base: DbtProject, head: DbtProject) -> tuple[str, ...]:
    """The seeds whose CSV changed between the revisions (dbt's state:modified on a seed: its checksum,
    the file's sha256), by dataset name; a seed new in head is not among them (nothing to compare)."""
    old = {base.names[uid]: s for uid, s in base.manifest.seeds.items()}
    out = []
    for uid, seed in sorted(head.manifest.seeds.items()):
        before = old.get(head.names[uid])
        if (
            before is not None
            and before.file_sha256
            and seed.file_sha256
            and before.file_sha256 != seed.file_sha256
        ):
            out.append(head.names[uid])
    return tuple(out)


def _changed_seeds(head: DbtProject, m: DbtModel, changed: tuple[str, ...]) -> list[str]:
    """Seeds `m` reads whose CSV changed (like dbt's state:modified on the seed, then `+`)."""
    return [
        head.names[uid] for uid in m.depends_on if uid in head.manifest.seeds and head.names[uid] in changed
    ]


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
