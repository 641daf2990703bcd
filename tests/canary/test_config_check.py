"""datacanary.yml mistakes the canary must not swallow: a missing sample file, and tolerance / intent / keys
entries naming a model or column that does not exist."""

from __future__ import annotations

from pathlib import Path

from tests.canary.conftest import SHOP, run_shop, shop_repo

CONFIG = (SHOP / "datacanary.yml").read_text()
TOUCH = {"models/stg_orders.sql": (SHOP / "models" / "stg_orders.sql").read_text() + "  and amount >= 0\n"}


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_source_path_typo_is_a_blocking_finding_at_its_line(tmp_path: Path) -> None:
    config = CONFIG.replace("path: data/orders.csv", "path: data/ordres.csv")
    repo = shop_repo(tmp_path, {"datacanary.yml": config})
    result = run_shop(repo, ["stg_orders"])
    (f,) = [f for f in result.findings if f.rule == "canary-source-missing"]
    assert f.blocking and f.dataset == "orders" and "data/ordres.csv" in f.message
    assert f.location is not None and (f.location.path, f.location.line) == (
        "datacanary.yml",
        _line(config, "data/ordres.csv"),
    )
    assert f.hint and result.verdict == "fail"
    assert next(s for s in result.sources if s.name == "orders").missing


def test_present_sources_and_known_names_raise_nothing(tmp_path: Path) -> None:
    config = CONFIG + (
        "  tolerance: {amount: {absolute: 0.01}, stg_orders.amount: {decimals: 2}}\n"
        "  intent: [stg_orders.status, customer_orders, amount, stg_orders.*]\n"
        "  keys: {stg_orders: [order_id]}\n"
    )
    result = run_shop(shop_repo(tmp_path, {"datacanary.yml": config, **TOUCH}))
    rules = {f.rule for f in result.findings}
    assert "canary-source-missing" not in rules and "canary-unknown-name" not in rules


def test_unknown_names_in_tolerance_intent_and_keys_are_warnings_at_their_lines(tmp_path: Path) -> None:
    config = CONFIG + (
        "  tolerance:\n"
        "    amout: {absolute: 0.01}\n"
        "    stg_orders.amout: {decimals: 2}\n"
        "  intent:\n"
        "    - stg_ordrs.status\n"
        "  keys:\n"
        "    stg_order: [order_id]\n"
        "    stg_orders: [order_di]\n"
    )
    result = run_shop(shop_repo(tmp_path, {"datacanary.yml": config, **TOUCH}))
    found = {f.location.line: f for f in result.findings if f.rule == "canary-unknown-name" and f.location}
    expected = {
        _line(config, "amout: {absolute"): "'amount'",
        _line(config, "stg_orders.amout"): "'amount'",
        _line(config, "- stg_ordrs.status"): "'stg_orders'",
        _line(config, "stg_order: [order_id]"): "'stg_orders'",
        _line(config, "stg_orders: [order_di]"): "'order_id'",
    }
    assert set(found) == set(expected)
    for line, suggestion in expected.items():
        f = found[line]
        assert f.severity.value == "warning" and f.gate == "canary" and f.location
        assert f.location.path == "datacanary.yml" and suggestion in (f.hint or ""), f
