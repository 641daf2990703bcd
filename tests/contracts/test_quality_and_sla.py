"""Quality rule thresholds and SLA properties: which direction is weaker for consumers."""

from __future__ import annotations

from typing import Any

import pytest

from app.contracts.model import QualityRule, SlaProperty
from app.contracts.quality import compare_rules
from app.contracts.sla import compare_sla, magnitude


def _rule(operator: str, value: Any, **kw: Any) -> QualityRule:
    return QualityRule(
        key="k", type="library", metric=kw.pop("metric", "nullValues"), operator=operator, value=value, **kw
    )


@pytest.mark.parametrize(
    ("old", "new", "outcome"),
    [
        (_rule("mustBe", 0), _rule("mustBeLessThan", 10), "loosened"),
        (_rule("mustBeLessThan", 10), _rule("mustBe", 0), "tightened"),
        (_rule("mustBeLessThan", 10), _rule("mustBeLessOrEqualTo", 10), "loosened"),
        (
            _rule("mustBeGreaterThan", 100, metric="rowCount"),
            _rule("mustBeGreaterThan", 10, metric="rowCount"),
            "loosened",
        ),
        (
            _rule("mustBeGreaterOrEqualTo", 1, metric="rowCount"),
            _rule("mustBeGreaterThan", 1, metric="rowCount"),
            "tightened",
        ),
        (_rule("mustBeBetween", (10, 20)), _rule("mustBeBetween", (5, 25)), "loosened"),
        (_rule("mustBeBetween", (10, 20)), _rule("mustBeBetween", (12, 18)), "tightened"),
        (_rule("mustBeBetween", (10, 20)), _rule("mustBeBetween", (15, 25)), "changed"),
        (_rule("mustNotBeBetween", (10, 20)), _rule("mustNotBeBetween", (12, 18)), "loosened"),
        (_rule("mustBe", 0), _rule("mustBe", 0, severity="warning"), "loosened"),
        (_rule("mustBeLessThan", 10, severity="warning"), _rule("mustBeLessThan", 5), "tightened"),
        (_rule("mustBeLessThan", 5), _rule("mustBeLessThan", 10, severity="warning"), "loosened"),
        (_rule("mustBe", 0), _rule("mustBe", 0, metric="missingValues"), "changed"),
        (_rule("mustBeLessThan", 5, unit="rows"), _rule("mustBeLessThan", 5, unit="percent"), "changed"),
        (_rule("mustBe", 0), _rule("mustBe", 0), "same"),
    ],
)
def test_quality_rule_direction(old: QualityRule, new: QualityRule, outcome: str) -> None:
    assert compare_rules(old, new)[0] == outcome


def test_valid_values_are_not_a_rule_change() -> None:
    old = _rule("mustBe", 0, metric="invalidValues", arguments=(("validValues", ("a",)),))
    new = _rule("mustBe", 0, metric="invalidValues", arguments=(("validValues", ("a", "b")),))
    assert compare_rules(old, new)[0] == "same"  # reported value by value as enum-value-* instead


def _sla(prop: str, value: Any, unit: str | None = None) -> SlaProperty:
    return SlaProperty(property=prop, value=value, unit=unit)


@pytest.mark.parametrize(
    ("old", "new", "outcome"),
    [
        (_sla("latency", 4, "h"), _sla("latency", 1, "d"), "weakened"),
        (_sla("latency", 1, "d"), _sla("latency", 4, "h"), "strengthened"),
        (_sla("latency", 4, "h"), _sla("latency", 240, "minutes"), "same"),
        (_sla("latency", "PT30M"), _sla("latency", "1h"), "weakened"),
        (_sla("frequency", 1, "d"), _sla("frequency", 1, "w"), "weakened"),
        (_sla("retention", 3, "y"), _sla("retention", 30, "days"), "weakened"),
        (_sla("retention", 30, "d"), _sla("retention", 1, "year"), "strengthened"),
        (_sla("availability", 99.9, "percent"), _sla("availability", 99, "percent"), "weakened"),
        (_sla("availability", "99.5%"), _sla("availability", "99.9%"), "strengthened"),
        (_sla("timeOfAvailability", "06:00"), _sla("timeOfAvailability", "09:30"), "weakened"),
        (_sla("latency", 4, "h"), _sla("latency", 4, "percent"), "changed"),
        (_sla("generalAvailability", "2025-01-01"), _sla("generalAvailability", "2025-02-01"), "changed"),
    ],
)
def test_sla_direction(old: SlaProperty, new: SlaProperty, outcome: str) -> None:
    assert compare_sla(old, new)[0] == outcome


def test_sla_magnitude_normalizes_units() -> None:
    assert magnitude(_sla("latency", 2, "h")) == magnitude(_sla("latency", "P0DT2H")) == 7200


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (_sla("latency", 4, "h"), _sla("latency", 6)),
        (_sla("frequency", 1, "d"), _sla("frequency", 2)),
        (_sla("latency", "4h"), _sla("latency", "6")),
        (_sla("retention", "P30D"), _sla("retention", 400)),
        (_sla("latency", 6), _sla("latency", 4, "h")),
    ],
)
def test_sla_unit_dropped_or_added_is_unknown_not_seconds(old: SlaProperty, new: SlaProperty) -> None:
    outcome, why = compare_sla(old, new)
    assert outcome == "changed"
    assert "unit" in why


def test_sla_bare_numbers_on_both_sides_still_compare() -> None:
    assert compare_sla(_sla("latency", 4), _sla("latency", 6))[0] == "weakened"


@pytest.mark.parametrize(
    ("old", "new", "outcome"),
    [
        ("09:00-05:00", "10:00-04:00", "same"),  # both 14:00 UTC
        ("09:00+0530", "03:30Z", "same"),
        ("09:00-05:00", "09:00-04:00", "strengthened"),  # 14:00 UTC -> 13:00 UTC
        ("09:00Z", "09:00-01:00", "weakened"),
        ("09:00 CET", "10:00 CET", "weakened"),
        ("09:00", "09:00Z", "changed"),  # a zone now declared: the old time's zone is unknown
        ("09:00 CET", "09:00 EST", "changed"),
    ],
)
def test_time_of_availability_compares_instants_across_offsets(old: str, new: str, outcome: str) -> None:
    result = compare_sla(_sla("timeOfAvailability", old), _sla("timeOfAvailability", new))
    assert result[0] == outcome
    if outcome == "changed":
        assert "time zone" in result[1]
