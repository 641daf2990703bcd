"""Bad input anywhere in a change gets a precise message (file, line, what to do), exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.demo import build_demo_repo


def commit(repo: Path, files: dict[str, str | bytes | None]) -> str:
    for rel, text in files.items():
        p = repo / rel
        if text is None:
            p.unlink()
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                p.write_bytes(text)
            else:
                p.write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "change"], check=True)
    return subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def check(
    repo: Path, base: str, head: str, *extra: str, canary: bool = False
) -> subprocess.CompletedProcess[str]:
    """`datacanary check` (by default `--no-canary`) as a user runs it: a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "check", "--project", str(repo), "--base", base, "--head", head,
         "--quiet", *([] if canary else ["--no-canary"]), *extra],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


CASES = {
    "invalid-yaml": (
        {
            "contracts/fct_orders.odcs.yaml": "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1.0.0\nschema:\n  - name: [unclosed\n"  # noqa: E501
        },
        "contracts/fct_orders.odcs.yaml:6",
    ),
    "not-odcs": (
        {
            "contracts/fct_orders.odcs.yaml": "apiVersion: v3.1.0\nkind: DataContract\nid: shop-fct-orders\nversion: 1.0.0\nstatus: active\nschema:\n  - name: fct_orders\n    properties:\n      - name: order_id\n        logicalType: integr\n"  # noqa: E501
        },
        "contracts/fct_orders.odcs.yaml:10",
    ),
    "latin1-model": (
        {
            "models/staging/stg_orders.sql": "select order_id, 'caf\u00e9' as label\nfrom raw_orders\n".encode(
                "latin-1"
            )
        },
        "models/staging/stg_orders.sql:1:22: the file is not UTF-8 text",
    ),
    "latin1-contract": (
        {
            "contracts/fct_orders.odcs.yaml": b"apiVersion: v3.1.0\nkind: DataContract\ndescription: \xe9t\xe9\n"
        },
        "contracts/fct_orders.odcs.yaml:3",
    ),
    "duplicate-key-config": (
        {"datacanary.yml": "name: shop\ndialect: duckdb\nmodels: models\ndialect: snowflake\n"},
        "datacanary.yml:4:1: duplicate key 'dialect': given at line 2 and again at line 4",
    ),
    "duplicate-key-contract": (
        {
            "contracts/fct_orders.odcs.yaml": "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1.0.0\n"
            "status: active\nschema:\n  - name: fct_orders\n    properties:\n      - name: order_id\n"
            "        logicalType: integer\n        logicalType: string\n"
        },
        "contracts/fct_orders.odcs.yaml:11:9: duplicate key 'logicalType': given at line 10",
    ),
    "bad-config": (
        {"datacanary.yml": "name: shop\ndialect: duckdb\npolicy:\n  widening: sometimes\n"},
        "datacanary.yml:4",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_reported_with_file_and_line(case: str, tmp_path: Path) -> None:
    demo = build_demo_repo(tmp_path / "shop")
    files, needle = CASES[case]
    head = commit(demo.path, files)
    proc = check(demo.path, demo.head, head)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "hint:" in proc.stderr


BROKEN_MODELS = {
    "unparseable-sql": (
        {"models/staging/stg_orders.sql": "select\n    order_id,\n    from from raw_orders (\n"},
        "models/staging/stg_orders.sql:3",
    ),
    "missing-table": (
        {"models/staging/stg_orders.sql": "select\n    order_id\nfrom raw_orderz\n"},
        "models/staging/stg_orders.sql:3",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_MODELS))
def test_one_broken_model_is_a_finding_and_the_others_are_still_checked(case: str, tmp_path: Path) -> None:
    import json

    demo = build_demo_repo(tmp_path / "shop")
    files, needle = BROKEN_MODELS[case]
    # the broken model, and an unrelated change to another model that must still get its canary
    other = {
        "models/marts/countries.sql": "select country, count(*) as customers from stg_customers group by 1\n"
    }
    head = commit(demo.path, {**files, **other})
    proc = check(demo.path, demo.head, head, "--format", "json", canary=True)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    findings = [f for g in report["gates"] for f in g["findings"]]
    invalid = [f for f in findings if f["rule"] == "sql-invalid"]
    assert invalid and all(f["blocking"] for f in invalid)
    assert needle in [f"{f['file']}:{f['line']}" for f in invalid]
    # its readers are named as not analysable, and stg_orders is not reported as removed
    assert not [f for f in findings if f["rule"] == "model-removed" and f["dataset"] == "stg_orders"]
    runs = {m["name"]: m["head"] for m in report["canary"]["models"]}
    assert runs["fct_orders"]["status"] == "skipped" and "stg_orders" in runs["fct_orders"]["message"]
    countries = next(m for m in report["canary"]["models"] if m["name"] == "countries")
    assert countries["head"]["status"] == "built" and countries["head"]["rows"] > 0


def test_models_in_a_cycle_are_findings_and_the_others_are_still_checked(tmp_path: Path) -> None:
    import json

    demo = build_demo_repo(tmp_path / "shop")
    # stg_orders reads fct_orders, which reads stg_orders: before, `check` stopped with exit 2
    cyclic = "select order_id, customer_id, ordered_at, status from fct_orders\n"
    other = "select country, count(*) as customers from stg_customers group by 1\n"
    head = commit(demo.path, {"models/staging/stg_orders.sql": cyclic, "models/marts/countries.sql": other})
    proc = check(demo.path, demo.head, head, "--format", "json", canary=True)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    invalid = [f for g in report["gates"] for f in g["findings"] if f["rule"] == "sql-invalid"]
    assert {f["file"] for f in invalid} == {"models/staging/stg_orders.sql", "models/marts/fct_orders.sql"}
    assert all("cycle" in f["message"] and f["blocking"] for f in invalid)
    countries = next(m for m in report["canary"]["models"] if m["name"] == "countries")
    assert countries["head"]["status"] == "built" and countries["head"]["rows"] > 0


def test_a_column_dropped_under_its_readers_is_a_blocking_finding_not_a_crash(tmp_path: Path) -> None:
    import json

    demo = build_demo_repo(tmp_path / "shop")
    # stg_orders stops producing `status`; fct_orders (and daily_revenue below it) still read it
    head = commit(
        demo.path,
        {
            "models/staging/stg_orders.sql": "select\n    order_id,\n    customer_id,\n"
            "    cast(ordered_at as timestamp) as ordered_at\nfrom raw_orders\n"
        },
    )
    proc = check(demo.path, demo.head, head, "--format", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    hits = [f for g in report["gates"] for f in g["findings"] if f["rule"] == "sql-unresolved-column"]
    assert hits and hits[0]["blocking"]
    assert hits[0]["file"] == "models/marts/fct_orders.sql" and hits[0]["line"]
    assert "status" in hits[0]["message"]


def test_a_broken_sample_path_fails_check_even_when_no_model_changed(tmp_path: Path) -> None:
    import json

    demo = build_demo_repo(tmp_path / "shop")
    config = (demo.path / "datacanary.yml").read_text()
    head = commit(demo.path, {"datacanary.yml": config.replace("data/raw_orders.csv", "data/raw_order.csv")})
    proc = check(demo.path, demo.head, head, "--format", "json", canary=True)
    assert proc.returncode == 1, proc.stderr
    canary = next(g for g in json.loads(proc.stdout)["gates"] if g["name"] == "canary")
    missing = [f for f in canary["findings"] if f["rule"] == "canary-source-missing"]
    assert missing and missing[0]["blocking"] and missing[0]["file"] == "datacanary.yml"
    assert "raw_order.csv" in missing[0]["message"]
