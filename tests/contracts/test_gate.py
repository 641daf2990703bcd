"""The contracts gate over two project revisions: pairing contract files, policy from datacanary.yml."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml

from app.contracts.gate import contract_findings, pair_contracts
from app.errors import ConfigError
from app.findings import Finding
from app.project.load import load_project
from app.project.model import Project
from app.project.tree import MemoryTree
from tests.contracts.conftest import base_doc, prop, to_contract

TODAY = dt.date(2026, 6, 1)
CONFIG = "name: shop\ndialect: duckdb\n"


def _project(files: dict[str, Any], config: str = CONFIG, label: str = "rev") -> Project:
    tree = {"datacanary.yml": config}
    for path, doc in files.items():
        tree[path] = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
    return load_project(MemoryTree(tree, label))


def _rules(findings: list[Finding]) -> list[tuple[str, str | None, str | None]]:
    return sorted((f.rule, f.dataset, f.column) for f in findings)


def _customers() -> dict[str, Any]:
    doc = base_doc()
    doc.update(id="customers", name="Customers")
    doc["schema"][0].update(name="customers", physicalName="dim_customers")
    return doc


def test_unchanged_project_has_no_findings() -> None:
    p = _project({"contracts/orders.odcs.yaml": base_doc()})
    assert contract_findings(p, p, today=TODAY) == []


def test_moved_contract_file_is_paired_by_id_not_removed_and_added() -> None:
    base = _project({"contracts/orders.odcs.yaml": base_doc()})
    doc = base_doc()
    prop(doc, "status")["required"] = False
    head = _project({"contracts/sales/orders.odcs.yaml": doc})
    findings = contract_findings(base, head, today=TODAY)
    assert _rules(findings) == [("required-relaxed", "orders", "status")]
    assert (
        findings[0].location is not None and findings[0].location.path == "contracts/sales/orders.odcs.yaml"
    )


def test_contract_with_new_id_is_paired_by_dataset_name() -> None:
    base = _project({"contracts/orders.odcs.yaml": base_doc()})
    doc = base_doc()
    doc["id"] = "orders-v2"
    head = _project({"contracts/orders_v2.odcs.yaml": doc})
    assert contract_findings(base, head, today=TODAY) == []


def test_removed_contract_file_reports_dataset_removed() -> None:
    base = _project({"contracts/orders.odcs.yaml": base_doc(), "contracts/customers.odcs.yaml": _customers()})
    head = _project({"contracts/orders.odcs.yaml": base_doc()})
    findings = contract_findings(base, head, today=TODAY)
    assert _rules(findings) == [("dataset-removed", "customers", None)]
    assert findings[0].blocking
    assert findings[0].location is not None and findings[0].location.path == "contracts/customers.odcs.yaml"


def test_new_contract_file_reports_dataset_added_and_no_base_means_all_new() -> None:
    head = _project({"contracts/orders.odcs.yaml": base_doc(), "contracts/customers.odcs.yaml": _customers()})
    base = _project({"contracts/orders.odcs.yaml": base_doc()})
    assert _rules(contract_findings(base, head, today=TODAY)) == [("dataset-added", "customers", None)]
    assert _rules(contract_findings(None, head, today=TODAY)) == [
        ("dataset-added", "customers", None),
        ("dataset-added", "orders", None),
    ]


def test_policy_and_waivers_come_from_head_config_with_lines() -> None:
    config = CONFIG + (
        "policy:\n  rules:\n    documentation-changed: off\n"
        "waivers:\n"
        "  - rule: column-removed\n    dataset: orders\n    column: email\n"
        "    reason: DATA-1\n    expires: 2027-01-01\n"
        "  - rule: unique-dropped\n    dataset: customers\n    reason: old\n    expires: 2025-01-01\n"
    )
    base = _project({"contracts/orders.odcs.yaml": base_doc()}, config)
    doc = base_doc()
    doc["schema"][0]["properties"] = [p for p in doc["schema"][0]["properties"] if p["name"] != "email"]
    doc["schema"][0]["description"] = "changed"
    head = _project({"contracts/orders.odcs.yaml": doc}, config)
    findings = contract_findings(base, head, today=TODAY)
    assert _rules(findings) == [("column-removed", "orders", "email"), ("waiver-expired", "customers", None)]
    removed = next(f for f in findings if f.rule == "column-removed")
    assert removed.accepted is not None and removed.accepted.reason == "DATA-1"
    expired = next(f for f in findings if f.rule == "waiver-expired")
    assert expired.location is not None and (expired.location.path, expired.location.line) == (
        "datacanary.yml",
        12,
    )


def test_unknown_rule_in_config_is_reported_even_without_contract_changes() -> None:
    config = CONFIG + "policy:\n  rules:\n    no-such-rule: off\n"
    p = _project({"contracts/orders.odcs.yaml": base_doc()}, config)
    with pytest.raises(ConfigError) as info:
        contract_findings(p, p, today=TODAY)
    assert info.value.location is not None and info.value.location.line == 5


def test_history_is_used_for_transitive_contracts() -> None:
    v1 = base_doc()
    prop(v1, "status")["logicalTypeOptions"]["maxLength"] = 10
    doc = base_doc()
    doc["customProperties"] = [{"property": "compatibility", "value": "backward_transitive"}]
    p = _project({"contracts/orders.odcs.yaml": doc})
    history = {"contracts/orders.odcs.yaml": [to_contract(v1)]}
    findings = contract_findings(p, p, today=TODAY, history=history)
    assert _rules(findings) == [("constraint-loosened", "orders", "status")]


def test_pairing_keeps_unmatched_on_both_sides() -> None:
    a, b = to_contract(base_doc()), to_contract(_customers(), "contracts/customers.odcs.yaml")
    assert pair_contracts([a], [b]) == [(None, b), (a, None)]
