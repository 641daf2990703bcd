"""The contracts gate over two revisions of a project: pair contract files, diff them, apply the policy."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from app.contracts.diff import diff_contracts
from app.contracts.model import Contract
from app.contracts.policy import apply_policy, expired_waivers
from app.contracts.policy_check import check_policy
from app.findings import Finding
from app.project.model import Project

_NO_HISTORY: Mapping[str, Sequence[Contract]] = MappingProxyType({})


def pair_contracts(
    base: Sequence[Contract], head: Sequence[Contract]
) -> list[tuple[Contract | None, Contract | None]]:
    """Match contract files across revisions by `id`, then path, then a shared dataset name, so a moved or
    renamed file is compared with its earlier self. Unmatched ones pair with None (added or removed)."""
    left = list(base)
    pairs: list[tuple[Contract | None, Contract | None]] = []
    unmatched: list[Contract] = []
    # a path identifies a contract only where one file holds one contract (a dbt schema.yml holds many)
    shared = {p for side in (left, head) for p, n in Counter(c.path for c in side).items() if n > 1}
    for h in head:
        hit = next((b for b in left if b.id == h.id), None) or next(
            (b for b in left if b.path == h.path and h.path not in shared), None
        )
        if hit is None:
            unmatched.append(h)
            continue
        left.remove(hit)
        pairs.append((hit, h))
    for h in unmatched:
        names = {d.name for d in h.datasets}
        hit = next((b for b in left if names & {d.name for d in b.datasets}), None)
        if hit is not None:
            left.remove(hit)
        pairs.append((hit, h))
    pairs.extend((b, None) for b in left)
    return pairs


def contract_findings(
    base: Project | None,
    head: Project,
    *,
    today: dt.date,
    history: Mapping[str, Sequence[Contract]] = _NO_HISTORY,
) -> list[Finding]:
    """Findings of the contracts gate for `base` -> `head` (base None: everything is new).

    `history` maps a head contract's path (or id) to its earlier versions, oldest first, for the
    `*_transitive` compatibility modes (see `app.project.history.contract_history`).
    """
    config = head.config
    doc = head.config_doc
    locate = doc.location
    check_policy(config.policy, config.waivers, config_location=locate)
    findings: list[Finding] = []
    for old, new in pair_contracts(base.contracts if base else (), head.contracts):
        earlier: Sequence[Contract] = ()
        if new is not None:
            earlier = history.get(new.path) or history.get(new.id) or ()
        changes = diff_contracts(old, new, dialect=config.dialect)
        found = apply_policy(
            changes,
            base=old,
            head=new,
            policy=config.policy,
            waivers=config.waivers,
            today=today,
            history=earlier,
            config_location=locate,
            dialect=config.dialect,
            report_expired=False,  # reported once for the whole run, below, not once per contract
        )
        findings.extend(found)
    findings.extend(expired_waivers(config.waivers, today, lambda i: locate(("waivers", i))))
    return findings
