"""Compatibility modes as sets of checks, so a change that edits its own contract's mode cannot relax
the gate it is judged by: the change is checked under both modes, the new one applies afterwards.

>>> effective_mode("backward", "none")
'backward'
>>> effective_mode("backward", "forward_transitive")
'full_transitive'
"""

from __future__ import annotations

_CHECKS: dict[str, frozenset[str]] = {
    "none": frozenset(),
    "backward": frozenset({"backward"}),
    "forward": frozenset({"forward"}),
    "full": frozenset({"backward", "forward"}),
}


def _checks(mode: str) -> tuple[frozenset[str], bool]:
    return _CHECKS.get(mode.removesuffix("_transitive"), _CHECKS["backward"]), mode.endswith("_transitive")


def effective_mode(*modes: str | None) -> str:
    """The mode that asks for every check any of `modes` asks for (None entries are ignored)."""
    checks: set[str] = set()
    transitive = False
    given = [m for m in modes if m]
    for mode in given or ["backward"]:
        more, trans = _checks(mode)
        checks |= more
        transitive |= trans
    if not checks:
        return "none"
    family = "full" if checks == {"backward", "forward"} else next(iter(checks))
    return family + ("_transitive" if transitive else "")


def relaxes(old: str, new: str) -> bool:
    """True when `new` drops a check `old` made (backward -> none, full -> forward, *_transitive -> plain)."""
    (a, ta), (b, tb) = _checks(old), _checks(new)
    return not a <= b or (ta and not tb and bool(b))
