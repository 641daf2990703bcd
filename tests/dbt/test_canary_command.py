"""`datacanary canary` reads a dbt project as `check` does: an edited seed is read per side (its readers'
base versions read the base revision's rows), and a model whose Jinja cannot be rendered is a finding of
its own while the other models are still built and compared. On the real jaffle_shop_duckdb project
(benchmarks/dbt_corpus/project) and on a small dbt project, in real git repositories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from tests.dbt.test_broken_models import ORDERS, _base_nodes, _node, _project, _repo
from tests.dbt.test_broken_upstream import _base
from tests.dbt.test_seed_change import PAYMENTS, _payments


def _canary(project: Path, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, dict[str, Any]]:
    args = ["canary", "--base", "HEAD~1", "--head", "HEAD", "--project", str(project), "--format", "json"]
    code = main([*args, "-q", *more])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("chosen", [(), ("--models", "stg_payments")], ids=["selected", "by-hand"])
def test_an_edited_seed_shows_in_its_readers_diffs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], chosen: tuple[str, ...]
) -> None:
    base = _base()
    assert base[PAYMENTS].decode().splitlines()[2] == "2,2,credit_card,2000"
    head = _payments(base, {3: "2,2,credit_card,2500", 5: None})  # payment 2 changed, payment 4 gone
    _, out = _canary(_repo(tmp_path, base, head), capsys, *chosen)
    models = {m["name"]: m for m in out["models"]}
    stg = models["stg_payments"]["reconciliation"]
    assert stg["rows"] == {"left": 113, "right": 112}
    assert (stg["added"], stg["removed"], stg["changed"]) == (0, 1, 1)
    assert any("raw_payments: its data changed in this pull request" in n for n in out["notes"])


def test_a_model_whose_jinja_cannot_be_rendered_is_a_finding_and_the_rest_is_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loop = "select {% for s in ['a', 'b'] %} 1 as n_{{ s }}, {% endfor %} 1 as one from {{ ref('orders') }}\n"
    head = [
        _node("orders", ORDERS + " union all select 3 as order_id, 'placed' as status", compiled=False),
        *[n for n in _base_nodes() if not n[0].endswith((".orders", ".other"))],
        _node("other", "select 2 as x", compiled=False),
        _node("counts", loop, depends=("orders",), compiled=False),
    ]
    code, out = _canary(_repo(tmp_path, _project(*_base_nodes()), _project(*head)), capsys)
    findings = [f for f in out["findings"] if f.get("dataset") == "counts"]
    assert findings and "more than ref/source/config" in findings[0]["message"]
    assert findings[0]["file"] == "models/counts.sql" and findings[0]["blocking"]
    built = {m["name"]: m["head"]["status"] for m in out["models"]}
    assert built["orders"] == "built" and built["other"] == "built"
    orders = next(m for m in out["models"] if m["name"] == "orders")["reconciliation"]
    assert orders["added"] == 1
    assert code == 1  # a verdict (the broken new model blocks, as in `check`), not a project error (2)
