"""Builders for contract tests: a small valid ODCS document as data, mutated per test, parsed for real."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.contracts.model import Contract
from app.contracts.parse import parse_contract

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "contracts"
PATH = "contracts/orders.odcs.yaml"


def base_doc() -> dict[str, Any]:
    """A small but complete contract: one dataset, typed columns, quality, semantics and SLAs."""
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "orders",
        "name": "Orders",
        "version": "1.0.0",
        "status": "active",
        "team": {"name": "sales-data"},
        "schema": [
            {
                "name": "orders",
                "physicalName": "fct_orders",
                "physicalType": "table",
                "description": "One row per order.",
                "quality": [{"metric": "rowCount", "mustBeGreaterThan": 0}],
                "properties": [
                    {
                        "name": "order_id",
                        "logicalType": "integer",
                        "physicalType": "bigint",
                        "required": True,
                        "unique": True,
                        "primaryKey": True,
                        "primaryKeyPosition": 1,
                    },
                    {
                        "name": "status",
                        "logicalType": "string",
                        "physicalType": "varchar(20)",
                        "required": True,
                        "logicalTypeOptions": {"maxLength": 20, "pattern": "^[a-z]+$"},
                        "quality": [
                            {
                                "metric": "invalidValues",
                                "mustBe": 0,
                                "arguments": {"validValues": ["placed", "shipped", "cancelled"]},
                            }
                        ],
                    },
                    {
                        "name": "amount",
                        "logicalType": "number",
                        "physicalType": "decimal(12,2)",
                        "required": True,
                        "logicalTypeOptions": {"minimum": 0},
                        "customProperties": [{"property": "unit", "value": "EUR"}],
                        "quality": [{"metric": "nullValues", "mustBe": 0}],
                    },
                    {
                        "name": "ordered_at",
                        "logicalType": "timestamp",
                        "physicalType": "timestamp",
                        "required": True,
                        "description": "When the order was placed.",
                    },
                    {
                        "name": "email",
                        "logicalType": "string",
                        "physicalType": "varchar(254)",
                        "classification": "restricted",
                    },
                ],
            }
        ],
        "slaProperties": [
            {"property": "latency", "value": 4, "unit": "h"},
            {"property": "retention", "value": 3, "unit": "y"},
            {"property": "availability", "value": 99.5, "unit": "percent"},
        ],
    }


def prop(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """The column `name` of the first dataset, for in-place mutation."""
    return next(p for p in doc["schema"][0]["properties"] if p["name"] == name)


def to_contract(doc: dict[str, Any], path: str = PATH) -> Contract:
    return parse_contract(yaml.safe_dump(doc, sort_keys=False), path)


Mutation = Callable[[dict[str, Any]], None]


def mutated(mutation: Mutation, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    out = copy.deepcopy(doc if doc is not None else base_doc())
    mutation(out)
    return out


@pytest.fixture
def doc() -> dict[str, Any]:
    return base_doc()
