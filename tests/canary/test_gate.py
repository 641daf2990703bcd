"""The canary gate's thresholds, over hand-made results (no database)."""

from __future__ import annotations

from typing import Any

from app.canary.gate import canary_findings
from app.canary.models import ModelRun
from app.canary.reconcile import ColumnResult, KeyHealth, Reconciliation
from app.canary.result import CanaryResult, ModelCanary
from app.canary.schema import SchemaChange
from app.project.config import ProjectConfig
from app.types import Severity


def _recon(**kw: Any) -> Reconciliation:
    base: dict[str, Any] = dict(
        left="base",
        right="head",
        key=("id",),
        rows_left=100,
        rows_right=100,
        schema=(),
        columns=(),
        added=0,
        removed=0,
        changed=0,
        unchanged=100,
        left_keys=KeyHealth(100, 0, 0, 0),
        right_keys=KeyHealth(100, 0, 0, 0),
    )
    base.update(kw)
    return Reconciliation(**base)


def _result(
    recon: Reconciliation | None, contracted: bool = True, head_status: str = "built"
) -> CanaryResult:
    run = ModelRun("m", "head", "models/m.sql", head_status, None if head_status == "built" else "boom")
    model = ModelCanary(
        "m", "models/m.sql", contracted, ("id",), ModelRun("m", "base", "models/m.sql", "built"), run, recon
    )
    return CanaryResult(1, (model,), (), (), (), (), {})


def _config(**canary: Any) -> ProjectConfig:
    return ProjectConfig.model_validate({"name": "p", "canary": canary})


def _findings(result: CanaryResult, config: ProjectConfig | None = None) -> dict[str, Severity]:
    return {f.rule: f.severity for f in canary_findings(result, config or _config(), None)}  # type: ignore[arg-type]


def test_changed_rows_over_threshold_fail_a_contracted_dataset() -> None:
    assert _findings(_result(_recon(changed=6, unchanged=94))) == {"canary-changed-rows": Severity.ERROR}
    assert _findings(_result(_recon(changed=4, unchanged=96))) == {"canary-changed-rows": Severity.NOTICE}
    assert _findings(_result(_recon())) == {}


def test_uncontracted_changes_warn_unless_a_threshold_is_set() -> None:
    r = _result(_recon(changed=50, unchanged=50), contracted=False)
    assert _findings(r) == {"canary-changed-rows": Severity.WARNING}
    cfg = _config(thresholds={"uncontracted_changed_rows_pct": 20})
    assert _findings(r, cfg) == {"canary-changed-rows": Severity.ERROR}


def test_row_count_change_and_new_duplicate_keys() -> None:
    r = _recon(rows_right=130, added=30, right_keys=KeyHealth(130, 0, 3, 6))
    found = _findings(_result(r))
    assert found["canary-row-count"] is Severity.ERROR
    assert found["canary-duplicate-keys"] is Severity.ERROR


def test_change_outside_the_declared_intent_warns() -> None:
    cols = (
        ColumnResult("amount", "INTEGER", "INTEGER", "native", None, 2, 0.98),
        ColumnResult("status", "VARCHAR", "VARCHAR", "value", None, 1, 0.99),
    )
    r = _result(_recon(changed=2, unchanged=98, columns=cols))
    found = canary_findings(r, _config(intent=["m.amount"]), None)  # type: ignore[arg-type]
    unexpected = [f for f in found if f.rule == "canary-unexpected-change"]
    assert [f.column for f in unexpected] == ["status"] and unexpected[0].severity is Severity.WARNING


def test_schema_changes_and_failed_head_models() -> None:
    r = _recon(
        schema=(SchemaChange("x", "removed", "INTEGER", None), SchemaChange("y", "added", None, "INTEGER"))
    )
    found = canary_findings(_result(r), _config(), None)  # type: ignore[arg-type]
    assert {(f.rule, f.column, f.severity) for f in found} == {
        ("canary-schema-change", "x", Severity.WARNING),
        ("canary-schema-change", "y", Severity.NOTICE),
    }
    failed = canary_findings(_result(None, head_status="failed"), _config(), None)  # type: ignore[arg-type]
    assert [(f.rule, f.blocking, str(f.location)) for f in failed] == [
        ("canary-model-failed", True, "models/m.sql:1")
    ]


def test_changes_within_the_declared_intent_warn_instead_of_failing() -> None:
    cols = (ColumnResult("amount", "INTEGER", "INTEGER", "native", None, 60, 0.4),)
    r = _result(_recon(changed=60, unchanged=40, columns=cols))
    assert _findings(r, _config(intent=["m.amount"])) == {"canary-changed-rows": Severity.WARNING}
    assert _findings(r, _config(intent=["m.status"]))["canary-changed-rows"] is Severity.ERROR
