"""Compare SLA properties with their units normalized: `latency 4 h` -> `latency 1 d` is weaker.

Each known property has a direction: for latency and frequency (an interval) smaller is stronger; for
retention, availability and throughput larger is stronger.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from app.contracts.model import SlaProperty
from app.slo.durations import DAY, MONTH, UNITS, YEAR

Outcome = Literal["same", "weakened", "strengthened", "changed"]

_PERCENT = {"percent": 1.0, "%": 1.0, "pct": 1.0}
# +1: bigger is stronger for consumers; -1: smaller is stronger
_DIRECTION = {
    "latency": -1, "freshness": -1, "frequency": -1, "errorrate": -1, "timetodetect": -1, "timetonotify": -1,
    "timetorepair": -1, "timeofavailability": -1,
    "retention": 1, "availability": 1, "throughput": 1, "uptime": 1,
    "endofsupport": 1, "endoflife": 1,
}  # fmt: skip
# properties whose value is an instant: support (or the data) ending later is the stronger promise
_INSTANTS = {"endofsupport", "endoflife"}
# the synonyms ODCS lists for its SLA properties (docs/service-level-agreement.md, "Valid Values")
_SYNONYMS = {
    "av": "availability", "th": "throughput", "er": "errorrate", "ga": "generalavailability",
    "es": "endofsupport", "el": "endoflife", "re": "retention", "fy": "frequency", "ly": "latency",
    "td": "timetodetect", "tn": "timetonotify", "tr": "timetorepair",
}  # fmt: skip
_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z%]*)\s*$")
_ISO = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?(.*)$")
_ZONE_NAMES = {"clock": "none", "clock utc": "a UTC offset"}
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?$")


def sla_key(sla: SlaProperty) -> tuple[str, str]:
    """How an SLA property is matched across revisions: its property name and the element it covers."""
    return (_norm(sla.property), (sla.element or "").lower())


def _norm(name: str) -> str:
    """A property name in one spelling: case-insensitive, and ODCS's synonyms (`ly`) as the name (`latency`)."""
    plain = re.sub(r"[^a-z]", "", name.lower())
    return _SYNONYMS.get(plain, plain)


def magnitude(sla: SlaProperty) -> float | None:
    """The SLA's value in a common unit (seconds, percent, or the raw number); None when unreadable."""
    read = _read(sla)
    return None if read is None else read[0]


def _read(sla: SlaProperty) -> tuple[float, str] | None:
    """The value in a common unit and what that unit is: `duration`, `percent`, `clock` or `` (none)."""
    value, unit = sla.value, (sla.unit or "").strip().lower()
    if isinstance(value, bool) or value is None:
        return None
    if _norm(sla.property) in _INSTANTS:
        return _instant(value)
    if _norm(sla.property) == "timeofavailability":
        clock = _CLOCK.match(str(value))
        if clock:
            h, m, s, zone = clock.groups()
            return _in_zone(int(h) * 3600 + int(m) * 60 + int(s or 0), zone.strip())
        return None
    if isinstance(value, str):
        iso = _ISO.match(value.strip().upper())
        if iso and any(iso.groups()):
            y, mo, w, d, h, mi, s = (int(g or 0) for g in iso.groups())
            return _months(y * 12 + mo) + w * 7 * DAY + d * DAY + h * 3600 + mi * 60 + s, "duration"
        found = _DURATION.match(value)
        if not found:
            return None
        number, inline_unit = float(found.group(1)), found.group(2).lower()
        unit = inline_unit or unit
    else:
        number = float(value)
    if unit in UNITS:
        factor = UNITS[unit]
        if factor in (YEAR, MONTH):
            return _months(number * (12 if factor == YEAR else 1)), "duration"
        return number * factor, "duration"
    if unit in _PERCENT:
        return number, "percent"
    if not unit:
        return number, ""
    return None  # an unknown unit: cannot compare to another unit


def _instant(value: object) -> tuple[float, str] | None:
    """An ISO date or date-time (`2032-05-12`, `2032-05-12T09:30:10-08:00`) as UTC seconds; without an
    offset it is read as UTC (these dates are months or years apart, not hours)."""
    try:
        when = dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp(), "instant"


def _months(months: float) -> float:
    """Seconds in a number of months, counted as the SLO checks and datacontract-cli count them (a year
    is 365 days, a month 30) except that 12 months make a year: `1y` = `P12M` = `365d` = `P365D`."""
    return (months // 12) * YEAR + (months % 12) * MONTH


def _in_zone(seconds: int, zone: str) -> tuple[float, str]:
    """A time of day in UTC when it carries an offset (`09:00-05:00` is 14:00 UTC); else as written,
    with the zone name (or none) as its unit, so only times in the same zone compare."""
    if zone.upper() in ("Z", "UTC", "GMT"):
        return seconds, "clock utc"
    offset = _OFFSET.match(zone.upper())
    if offset:
        sign, h, m = offset.groups()
        shift = int(h) * 3600 + int(m or 0) * 60
        return seconds - shift if sign == "+" else seconds + shift, "clock utc"
    return seconds, f"clock {zone.lower()}".strip()


def compare_sla(old: SlaProperty, new: SlaProperty) -> tuple[Outcome, str]:
    """Classify a change of one SLA property for consumers."""
    before, after = _show(old), _show(new)
    if before == after:
        return "same", ""
    a, b = _read(old), _read(new)
    direction = _DIRECTION.get(_norm(new.property))
    if a is None or b is None or direction is None or {a[1], b[1]} == {"duration", "percent"}:
        return "changed", f"{before} -> {after}"
    if {a[1], b[1]} == {"duration", ""}:
        # a bare number next to a duration is no number of seconds: its unit is unknown, so is the change
        went = "went missing" if b[1] == "" else "was added to a bare number"
        return "changed", f"{before} -> {after}: the unit {went}, the change cannot be measured"
    if a[1] != b[1] and a[1].startswith("clock"):
        zones = " -> ".join(_ZONE_NAMES.get(z, z.removeprefix("clock ").upper()) for z in (a[1], b[1]))
        return "changed", f"{before} -> {after}: time zone {zones}, the times cannot be compared"
    if a[0] == b[0]:
        return "same", ""
    stronger = (b[0] > a[0]) if direction > 0 else (b[0] < a[0])
    return ("strengthened" if stronger else "weakened"), f"{before} -> {after}"


def compare_entries(old: SlaProperty, new: SlaProperty) -> tuple[Outcome, str, tuple[str, ...]]:
    """Classify two matched SLA entries that may cover another element (or, paired by their `id`, state
    another property), and which keys changed (`value`; or `property`, `element`: it moved). A moved SLA
    is weakened when its value weakened, else changed: readers of the old element may have lost it."""
    moves = [
        (key, f"{key} {a or 'unset'} -> {b or 'unset'}")
        for key, a, b, same in (
            ("property", old.property, new.property, _norm(old.property) == _norm(new.property)),
            ("element", old.element, new.element, sla_key(old)[1] == sla_key(new)[1]),
        )
        if not same
    ]
    if not moves:
        return (*compare_sla(old, new), ("value",))
    outcome, why = compare_sla(old, new) if moves[0][0] != "property" else ("changed", "")
    if (before := _show(old)) != (after := _show(new)) and not why:
        why = f"{before} -> {after}"
    why = ", ".join([*(m for _, m in moves), *([why] if why else [])])
    return ("weakened" if outcome == "weakened" else "changed"), why, tuple(k for k, _ in moves)


def _show(sla: SlaProperty) -> str:
    return f"{sla.value} {sla.unit}" if sla.unit else str(sla.value)


def show(sla: SlaProperty) -> Any:
    """The SLA's value as written, for reports."""
    return _show(sla)
