"""Validate the change policy of datacanary.yml against the rules table: an unknown rule id in
`policy.rules` or in a waiver is a configuration error at its line, never a silent no-op."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence

from app.contracts.rules import ChangeKind
from app.errors import ConfigError
from app.project.config import PolicyConfig, Waiver
from app.types import Location

KNOWN_RULES = tuple(k.value for k in ChangeKind)


def _suggest(rule: str) -> str:
    close = difflib.get_close_matches(rule, KNOWN_RULES, n=1)
    if close:
        return f"did you mean `{close[0]}`? (rule ids are listed in docs/contract-changes.md)"
    return "use a rule id from docs/contract-changes.md"


def check_policy(
    policy: PolicyConfig,
    waivers: Sequence[Waiver],
    waivers_location: Callable[[int], Location] | None = None,
    config_location: Callable[[tuple[str | int, ...]], Location] | None = None,
) -> None:
    """Raise ConfigError (with the datacanary.yml line when known) for an unknown rule id."""
    for rule in policy.rules:
        if rule not in KNOWN_RULES:
            raise ConfigError(
                f"policy.rules: unknown rule `{rule}`",
                config_location(("policy", "rules", rule)) if config_location else None,
                _suggest(rule),
            )
    for i, w in enumerate(waivers):
        if w.rule not in KNOWN_RULES:
            where = None
            if config_location is not None:
                where = config_location(("waivers", i, "rule"))
            elif waivers_location is not None:
                where = waivers_location(i)
            raise ConfigError(f"waivers[{i}]: unknown rule `{w.rule}`", where, _suggest(w.rule))
