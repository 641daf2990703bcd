"""Durations as people write them in datacanary.yml (`90s`, `30m`, `2h`, `1d`) and as ODCS writes them
(`value: 4, unit: d`), parsed once into seconds."""

from __future__ import annotations

import re

from app.errors import ConfigError
from app.types import Location

DAY = 86400.0
MONTH = 30 * DAY  # an SLO month, not a calendar one
YEAR = 365 * DAY  # as datacontract-cli counts an ODCS `retention` in years
UNITS: dict[str, float] = {
    "ms": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": DAY, "day": DAY, "days": DAY,
    "w": 7 * DAY, "wk": 7 * DAY, "week": 7 * DAY, "weeks": 7 * DAY,
    "mo": MONTH, "mon": MONTH, "month": MONTH, "months": MONTH,
    "y": YEAR, "yr": YEAR, "yrs": YEAR, "year": YEAR, "years": YEAR,
}  # fmt: skip

_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")


def seconds(value: object, unit: str | None = None, location: Location | None = None) -> float:
    """Seconds in `value`: a number with `unit`, or text like `2h` / `30 min`; a ConfigError otherwise.

    >>> seconds("2h"), seconds(4, "d")
    (7200.0, 345600.0)
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        factor = UNITS.get((unit or "s").strip().lower())
        if factor is None:
            raise ConfigError(f"unknown duration unit {unit!r}", location, f"use one of {_unit_list()}")
        return float(value) * factor
    match = _TEXT.match(str(value))
    if match is None or match.group(2).lower() not in UNITS:
        raise ConfigError(
            f"cannot read duration {value!r}",
            location,
            f"write a number and a unit, e.g. 30m, 2h, 1d ({_unit_list()})",
        )
    return float(match.group(1)) * UNITS[match.group(2).lower()]


def _unit_list() -> str:
    return "s, m, h, d, w, mo, y"


def humanize(total: float | None) -> str:
    """`7260` -> `2h 1m`; the inverse of `seconds`, for messages."""
    if total is None:
        return "-"
    sign = "-" if total < 0 else ""
    rest = int(round(abs(total)))
    parts: list[str] = []
    for name, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size or (not parts and size == 1):
            parts.append(f"{rest // size}{name}")
            rest %= size
        if len(parts) == 2:
            break
    return sign + " ".join(parts)
