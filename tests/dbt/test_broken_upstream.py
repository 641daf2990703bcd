"""The readers of a broken model or seed are "not checked", naming it at its file:line: never silently
passed, never run on an empty stand-in, never a second blocking finding. On a real public dbt project
(dbt-labs/jaffle_shop_duckdb, benchmarks/dbt_corpus/project, with the manifest dbt compiled for it),
one model or seed broken in a pull request, in a real git repository."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from app.gate.result import RunReport
from app.pipeline import run_check
from app.report import render_report
from tests.dbt.conftest import _git, _write

PROJECT = Path(__file__).resolve().parents[2] / "benchmarks" / "dbt_corpus" / "project"
Files = dict[str, bytes]

STG_PAYMENTS = "model.jaffle_shop.stg_payments"
PAYMENT_METHODS = "model.jaffle_shop.payment_methods"
ORDER_STATUS_DAILY = "model.jaffle_shop.order_status_daily"
RAW_PAYMENTS = "seed.jaffle_shop.raw_payments"
# everything that reads stg_payments, directly (orders, customers, payment_methods) or not
PAYMENT_READERS = {"orders", "customers", "payment_methods", "customer_segments", "customer_value_share"}


def _base() -> Files:
    return {p.relative_to(PROJECT).as_posix(): p.read_bytes() for p in PROJECT.rglob("*") if p.is_file()}


def _compiled(files: Files, uid: str) -> str:
    code: str = json.loads(files["target/manifest.json"])["nodes"][uid]["compiled_code"]
    return code


def _edit_node(files: Files, uid: str, text: str, *, model: bool) -> Files:
    """`files` with the node's file replaced by `text` and the manifest as `dbt compile` then writes it:
    dbt renders Jinja without parsing SQL, so broken SQL is compiled_code as it is."""
    out = dict(files)
    manifest = json.loads(out["target/manifest.json"])
    node = manifest["nodes"][uid]
    out[node["original_file_path"]] = text.encode()
    if model:
        node["raw_code"] = node["compiled_code"] = text
        digest = hashlib.sha256(text.strip().encode()).hexdigest()
    else:
        digest = hashlib.sha256(text.encode()).hexdigest()  # dbt: a seed's checksum is the file's
    node["checksum"] = {"name": "sha256", "checksum": digest}
    out["target/manifest.json"] = json.dumps(manifest).encode()
    return out


def _with_unrelated_change(files: Files) -> Files:
    """A change the canary must still check: order_status_daily reads no payments."""
    sql = _compiled(files, ORDER_STATUS_DAILY).replace("select", "select 1 as one,", 1)
    return _edit_node(files, ORDER_STATUS_DAILY, sql, model=True)


def _check(root: Path, base: Files, head: Files) -> RunReport:
    _git(root, "init", "-q", "-b", "main")
    for label, files in (("base", base), ("head", head)):
        if (root / "dbt").exists():
            _git(root, "rm", "-q", "-r", "dbt")
        _write(root, dict(files), "dbt")
        _git(root, "add", "-A")
        _git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", label)
    return run_check(root, "HEAD~1", "HEAD", "dbt", today=dt.date(2026, 12, 1))


def _canary_models(report: RunReport) -> dict[str, dict]:
    canary = report.to_json()["canary"]
    assert canary is not None
    return {m["name"]: m for m in canary["models"]}


# --- 1: a model that is broken --------------------------------------------------------------------


@pytest.fixture(scope="module")
def unparseable(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    base = _base()
    broken = _compiled(base, STG_PAYMENTS).replace(
        "amount / 100 as amount", "amount / 100 as amount,\n        (((\n"
    )
    head = _edit_node(_with_unrelated_change(base), STG_PAYMENTS, broken, model=True)
    # a reader's own SQL change: its verdict and findings need no data, so they still come
    methods = _compiled(base, PAYMENT_METHODS).replace(
        "count(*) as payments", "count(*) as payments, 1 as one"
    )
    head = _edit_node(head, PAYMENT_METHODS, methods, model=True)
    return _check(tmp_path_factory.mktemp("unparseable"), base, head)


def test_an_unparseable_model_blocks_once_at_its_file_and_line(unparseable: RunReport) -> None:
    blocking = [f for f in unparseable.findings if f.blocking]
    assert [(f.rule, f.dataset) for f in blocking] == [("sql-invalid", "stg_payments")]
    assert str(blocking[0].location).startswith("dbt/models/staging/stg_payments.sql:22")


def test_the_readers_of_an_unparseable_model_are_not_checked_naming_it(unparseable: RunReport) -> None:
    models = _canary_models(unparseable)
    where = "dbt/models/staging/stg_payments.sql:22:6"
    for name in PAYMENT_READERS:  # customer_segments reads customers: named by the root, not by it
        assert models[name]["status"] == "not-checked", name
        assert models[name]["not_checked"] == f"upstream stg_payments is broken ({where})"
        assert models[name]["blocked_by"] == {
            "name": "stg_payments",
            "kind": "model",
            "status": "invalid",
            "reason": f"upstream stg_payments is broken ({where})",
            "file": "dbt/models/staging/stg_payments.sql",
            "line": 22,
        }
        assert models[name]["reconciliation"] is None and models[name]["quality"] == []
    skipped = {f.dataset: f for f in unparseable.findings if f.rule == "canary-skipped"}
    assert set(skipped) == PAYMENT_READERS
    assert all(not f.blocking and f"not checked: upstream stg_payments is broken ({where})" in f.message
               for f in skipped.values())  # fmt: skip
    assert models["order_status_daily"]["status"] == "compared"


def test_a_reader_s_own_sql_checks_still_run(unparseable: RunReport) -> None:
    verdicts = {v.model: v.verdict for v in unparseable.models}
    assert verdicts["payment_methods"] == "schema_change"
    added = [f for f in unparseable.findings if f.dataset == "payment_methods" and f.gate == "contracts"]
    assert [(f.rule, f.column) for f in added] == [("model-output-column-added", "one")]


def test_the_comment_says_per_model_what_was_not_checked_and_why(unparseable: RunReport) -> None:
    md = render_report(unparseable, "markdown", compact=True)
    for name in PAYMENT_READERS:
        assert f"#### `{name}`: not checked\n" in md
    assert (
        "**Not checked**: upstream `stg_payments` is broken (`dbt/models/staging/stg_payments.sql:22:6`)"
        in md
    )
    text = render_report(unparseable, "text")
    assert "customers (dbt/models/customers.sql) - not checked" in text
    assert "not checked: upstream stg_payments is broken (dbt/models/staging/stg_payments.sql:22:6)" in text


def test_readers_of_a_model_that_fails_to_build_are_not_checked(tmp_path: Path) -> None:
    base = _base()
    failing = _compiled(base, STG_PAYMENTS).replace(
        "amount / 100 as amount", "cast(payment_method as integer) as amount"
    )  # statically fine; 'credit_card' is no integer
    report = _check(
        tmp_path, base, _edit_node(_with_unrelated_change(base), STG_PAYMENTS, failing, model=True)
    )
    blocking = [f for f in report.findings if f.blocking]
    assert [(f.rule, f.dataset) for f in blocking] == [("canary-model-failed", "stg_payments")]
    models = _canary_models(report)
    assert models["stg_payments"]["status"] == "failed"
    for name in PAYMENT_READERS:
        assert models[name]["status"] == "not-checked", name
        reason = "upstream stg_payments is broken (dbt/models/staging/stg_payments.sql:1)"
        assert models[name]["not_checked"] == reason
    assert models["order_status_daily"]["status"] == "compared"


# --- 2: a seed that does not load ------------------------------------------------------------------


def _seed_with(files: Files, line: int, value: str) -> Files:
    """raw_payments.csv with the amount on `line` (1-based, the header is line 1) replaced by `value`."""
    rows = files["seeds/raw_payments.csv"].decode().splitlines(keepends=True)
    rows[line - 1] = rows[line - 1].rsplit(",", 1)[0] + f",{value}\n"
    return _edit_node(files, RAW_PAYMENTS, "".join(rows), model=False)


@pytest.fixture(scope="module")
def bad_seed(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    # past the first 100 rows, where the column types come from (as dbt's agate infers them)
    base = _base()
    head = _seed_with(_with_unrelated_change(base), 111, "abc")
    return _check(tmp_path_factory.mktemp("bad_seed"), base, head)


def test_a_seed_that_does_not_load_blocks_once_at_the_bad_row(bad_seed: RunReport) -> None:
    blocking = [f for f in bad_seed.findings if f.blocking]
    assert [(f.rule, f.dataset, str(f.location)) for f in blocking] == [
        ("canary-source-invalid", "raw_payments", "dbt/seeds/raw_payments.csv:111")
    ]
    (hit,) = blocking
    assert "are not checked" in hit.message and "empty table" not in hit.message
    assert hit.hint is not None and "fix the row on line 111" in hit.hint


def test_the_readers_of_a_seed_that_does_not_load_are_not_checked_not_run_on_an_empty_table(
    bad_seed: RunReport,
) -> None:
    models = _canary_models(bad_seed)
    reason = "source raw_payments could not be loaded (dbt/seeds/raw_payments.csv:111)"
    for name in {"stg_payments", *PAYMENT_READERS}:
        assert models[name]["status"] == "not-checked", name
        assert models[name]["not_checked"] == reason
        assert models[name]["blocked_by"]["kind"] == "source"
        assert models[name]["reconciliation"] is None  # nothing was compared on no rows
        assert models[name]["base"]["status"] == models[name]["head"]["status"] == "skipped"
    skipped = [f for f in bad_seed.findings if f.rule == "canary-skipped"]
    assert {f.dataset for f in skipped} == {"stg_payments", *PAYMENT_READERS}
    assert all(not f.blocking and reason in f.message for f in skipped)
    assert models["order_status_daily"]["status"] == "compared"
    md = render_report(bad_seed, "markdown", compact=True)
    assert (
        "**Not checked**: source `raw_payments` could not be loaded (`dbt/seeds/raw_payments.csv:111`)" in md
    )


def test_a_header_only_seed_is_intentionally_empty_and_its_readers_run(tmp_path: Path) -> None:
    base = _base()
    header = base["seeds/raw_customers.csv"].decode().splitlines(keepends=True)[0]
    head = _edit_node(_with_unrelated_change(base), "seed.jaffle_shop.raw_customers", header, model=False)
    report = _check(tmp_path, base, head)
    assert not [f for f in report.findings if f.blocking or f.rule == "canary-skipped"]
    models = _canary_models(report)
    assert models["stg_customers"]["status"] == "compared"
    # an empty table on head, not a stand-in on both sides: the base revision's customers, all removed
    recon = models["stg_customers"]["reconciliation"]
    assert (recon["rows"], recon["removed"]) == ({"left": 100, "right": 0}, 100)
