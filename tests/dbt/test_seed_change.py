"""A pull request that edits a seed's CSV: the canary builds the base versions of its readers on the base
revision's rows and the head versions on the head's, so the data diff shows what the edit does
downstream. Other seeds are loaded once and read by both sides. On the real jaffle_shop_duckdb project
(benchmarks/dbt_corpus/project, with the manifest dbt compiled for it), in a real git repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.gate.result import RunReport
from app.report import render_report
from tests.dbt.test_broken_upstream import RAW_PAYMENTS, Files, _base, _canary_models, _check, _edit_node

PAYMENTS = "seeds/raw_payments.csv"


def _payments(files: Files, edit: dict[int, str | None]) -> Files:
    """`files` with raw_payments.csv's lines (1-based, the header is line 1) replaced, or removed (None)."""
    rows = files[PAYMENTS].decode().splitlines(keepends=True)
    for line, text in edit.items():
        rows[line - 1] = "" if text is None else text + "\n"
    return _edit_node(files, RAW_PAYMENTS, "".join(rows), model=False)


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    base = _base()
    lines = base[PAYMENTS].decode().splitlines()
    assert lines[2] == "2,2,credit_card,2000" and lines[4] == "4,4,coupon,2500"
    # payment 2 is now 25.00 instead of 20.00; payment 4 (order 4's only payment) is gone
    head = _payments(base, {3: "2,2,credit_card,2500", 5: None})
    return _check(tmp_path_factory.mktemp("edited_seed"), base, head)


def test_the_readers_of_an_edited_seed_show_the_changed_and_removed_rows(edited: RunReport) -> None:
    models = _canary_models(edited)
    stg = models["stg_payments"]["reconciliation"]
    assert stg["rows"] == {"left": 113, "right": 112}
    assert (stg["added"], stg["removed"], stg["changed"]) == (0, 1, 1)
    assert [(c["name"], c["changed"]) for c in stg["columns"] if c["changed"]] == [("amount", 1)]
    # orders sums its payments: order 2 gains 5.00, order 4 loses its 25.00
    orders = models["orders"]["reconciliation"]
    assert (orders["rows"], orders["added"], orders["removed"], orders["changed"]) == (
        {"left": 99, "right": 99},
        0,
        0,
        2,
    )
    amount = next(c for c in orders["columns"] if c["name"] == "amount")
    assert amount["changed"] == 2
    assert amount["left"]["sum"] - amount["right"]["sum"] == pytest.approx(25 - 5)
    changed = {m.dataset for m in edited.findings if m.rule == "canary-changed-rows"}
    assert {"stg_payments", "orders", "customers"} <= changed


def test_the_report_names_the_edited_seed_as_why_its_readers_differ(edited: RunReport) -> None:
    models = _canary_models(edited)
    why = (
        "reads raw_payments, whose data changed in this pull request: the base version ran on the base "
        "revision's rows, the head version on the head's"
    )
    assert models["stg_payments"]["notes"][0] == why
    assert why not in models["orders"]["notes"]  # it reads stg_payments, not the seed
    md = render_report(edited, "markdown", compact=True)
    assert "reads raw\\_payments, whose data changed in this pull request" in md
    said = (
        "raw_payments: its data changed in this pull request (dbt/seeds/raw_payments.csv); the base "
        "versions of its readers read the base revision's 113 row(s), the head versions the head's 112"
    )
    assert said in edited.notes
    assert f"note: {said}" in render_report(edited, "text")


def test_unchanged_seeds_are_read_by_both_sides_alike(edited: RunReport) -> None:
    models = _canary_models(edited)
    assert "stg_orders" not in models and "stg_customers" not in models  # not selected: nothing changed
    # customers reads raw_customers and raw_orders through their staging models, and raw_payments:
    # only the two customers whose payments changed differ
    customers = models["customers"]["reconciliation"]
    assert (customers["added"], customers["removed"], customers["changed"]) == (0, 0, 2)
    assert not [n for n in edited.notes if "raw_orders" in n or "raw_customers" in n]


def test_a_seed_the_pull_request_fixes_warns_at_the_base_row_and_its_readers_base_is_not_built(
    tmp_path: Path,
) -> None:
    fixed = _base()
    lines = fixed[PAYMENTS].decode().splitlines()
    bad = _payments(fixed, {111: lines[110].rsplit(",", 1)[0] + ",abc"})  # past the 100 sniffed rows
    report = _check(tmp_path, bad, fixed)
    assert not [f for f in report.findings if f.blocking]
    (hit,) = [f for f in report.findings if f.rule == "canary-source-invalid"]
    assert (hit.dataset, str(hit.location), hit.severity.value) == (
        "raw_payments",
        "dbt/seeds/raw_payments.csv:111",
        "warning",
    )
    assert "the base revision's" in hit.message
    models = _canary_models(report)
    stg = models["stg_payments"]
    assert stg["status"] == "base-failed"
    assert stg["base"]["status"] == "skipped" and stg["head"]["status"] == "built"
    assert stg["base"]["blocked_by"]["kind"] == "source"
    assert stg["head"]["rows"] == 113
