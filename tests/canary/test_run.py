"""run_canary over real git revisions of the canary shop: what it catches, what it refuses, how it goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.canary.conftest import SHOP, run_shop, shop_repo

CUSTOMER_ORDERS = (SHOP / "models" / "customer_orders.sql").read_text()


def _rules(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.rule for f in result.findings}


def test_unchanged_output_passes(tmp_path: Path) -> None:
    # a cosmetic rewrite: same rows
    repo = shop_repo(
        tmp_path,
        {
            "models/stg_orders.sql": "select order_id, customer_id, status, amount, ordered_at\n"
            "from orders where not (status = 'returned')\n"
        },
    )
    result = run_shop(repo, ["stg_orders", "customer_orders", "country_revenue"])
    assert result.verdict == "pass", [f.message for f in result.findings]
    assert [m.status for m in result.models] == ["compared", "compared", "compared"]
    assert all(m.reconciliation.identical for m in result.models)


def test_timestamp_truncated_to_a_day_is_caught(tmp_path: Path) -> None:
    repo = shop_repo(
        tmp_path,
        {
            "models/customer_orders.sql": CUSTOMER_ORDERS.replace(
                "min(o.ordered_at)", "date_trunc('day', min(o.ordered_at))"
            )
        },
    )
    result = run_shop(repo, ["customer_orders", "country_revenue"])
    m = result.model("customer_orders")
    assert m.reconciliation.changed_columns == ("first_order_at",)
    assert "canary-changed-rows" in _rules(result) and result.verdict == "fail"
    ex = next(e for e in m.reconciliation.examples if e.kind == "changed")
    assert ex.right["first_order_at"].endswith("T00:00:00")
    # country_revenue does not read first_order_at: same output
    assert result.model("country_revenue").reconciliation.identical


def test_join_fan_out_is_caught_as_duplicate_keys(tmp_path: Path) -> None:
    fanned = CUSTOMER_ORDERS.replace(
        "left join stg_orders o on o.customer_id = c.customer_id\ngroup by all",
        "left join stg_orders o on o.customer_id = c.customer_id\ngroup by c.customer_id, c.country, o.status",
    )
    repo = shop_repo(tmp_path, {"models/customer_orders.sql": fanned})
    result = run_shop(repo, ["customer_orders"])
    r = result.model("customer_orders").reconciliation
    assert r.right_keys.duplicate_keys > 0 and r.left_keys.duplicate_keys == 0
    assert {"canary-duplicate-keys", "canary-row-count", "canary-quality"} <= _rules(result)


def test_sample_coverage_and_join_survival_are_reported(tmp_path: Path) -> None:
    result = run_shop(shop_repo(tmp_path, {}), ["customer_orders"])
    cov = {s.name: s for s in result.sources}
    assert cov["customers"].rows_total == 200 and 0 < cov["customers"].rows_sampled < 200
    (join,) = result.joins
    assert (join.child, join.parent, join.column) == ("orders", "customers", "customer_id")
    assert join.rate == 1.0  # both sampled on customer_id: every order keeps its customer


def test_a_model_reading_a_file_is_refused_and_the_run_goes_on(tmp_path: Path) -> None:
    repo = shop_repo(
        tmp_path,
        {
            "models/stg_orders.sql": "select order_id, customer_id, status, amount, ordered_at from orders\n"
            "union all\nselect 1, 1, column0, 0, null from read_csv('/etc/passwd')\n",
            "models/customer_orders.sql": CUSTOMER_ORDERS.replace("min(o.ordered_at)", "max(o.ordered_at)"),
        },
    )
    result = run_shop(repo)
    stg = result.model("stg_orders")
    assert stg.head.status == "refused" and "read_csv" in stg.head.message
    assert stg.head.location.path == "models/stg_orders.sql"
    # downstream of the refused model is skipped with the reason, not silently dropped
    co = result.model("customer_orders")
    assert co.head.status == "skipped" and "stg_orders (was refused by the sandbox)" in co.head.message
    refused = [f for f in result.findings if f.rule == "canary-sandbox-refused"]
    assert refused and refused[0].blocking


def test_a_slow_model_hits_the_time_limit_and_the_run_goes_on(tmp_path: Path) -> None:
    config = (SHOP / "datacanary.yml").read_text().replace("timeout_seconds: 5", "timeout_seconds: 0.5")
    repo = shop_repo(
        tmp_path,
        {
            "models/country_revenue.sql": "select country, sum(revenue) as revenue, count(*) as orders\n"
            "from customer_orders, range(100000000) as t(i) group by country\n",
            "models/customer_orders.sql": CUSTOMER_ORDERS.replace("min(o.ordered_at)", "max(o.ordered_at)"),
        },
        base_changes={"datacanary.yml": config},  # the limits that apply are the base revision's
    )
    result = run_shop(repo, ["customer_orders", "country_revenue"])
    assert result.model("country_revenue").head.status == "timeout"
    assert result.model("customer_orders").status == "compared"
    timeout = next(f for f in result.findings if f.rule == "canary-timeout")
    assert timeout.blocking  # a model that hangs must not pass the gate
    assert result.limits["timeout_seconds"] == 0.5


def test_snowflake_models_are_transpiled(tmp_path: Path) -> None:
    config = (SHOP / "datacanary.yml").read_text().replace("dialect: duckdb", "dialect: snowflake")
    model = (
        "select customer_id, country, iff(count(order_id) > 3, 'loyal', 'new') as segment\n"
        "from customers left join stg_orders using (customer_id)\ngroup by customer_id, country\n"
        "qualify row_number() over (partition by customer_id order by country) = 1\n"
    )
    repo = shop_repo(tmp_path, {"models/segments.sql": model}, base_changes={"datacanary.yml": config})
    result = run_shop(repo, ["segments"])
    seg = result.model("segments")
    assert seg.status == "new" and seg.head.ok and seg.head.rows > 0


def test_sql_that_cannot_be_transpiled_is_reported_with_file_and_line(tmp_path: Path) -> None:
    config = (SHOP / "datacanary.yml").read_text().replace("dialect: duckdb", "dialect: snowflake")
    model = "select customer_id,\n  to_varchar(signed_up_at, 'YYYY-MM') as month\nfrom customers\n"
    repo = shop_repo(tmp_path, {"models/months.sql": model}, base_changes={"datacanary.yml": config})
    result = run_shop(repo, ["months"])
    run = result.model("months").head
    assert run.status == "transpile" and run.location.path == "models/months.sql"
    assert any(
        f.rule == "canary-transpile" and f.location.path == "models/months.sql" for f in result.findings
    )


def test_contract_quality_rules_run_on_head(tmp_path: Path) -> None:
    repo = shop_repo(
        tmp_path,
        {
            "models/customer_orders.sql": CUSTOMER_ORDERS.replace(
                "c.country,", "case when c.country = 'DE' then 'DEU' else c.country end as country,"
            )
        },
    )
    result = run_shop(repo, ["customer_orders"])
    failed = {r.check.name for r in result.model("customer_orders").quality_failed}
    assert failed == {"country maxLength"}
    assert any(f.rule == "canary-quality" and f.column == "country" and f.blocking for f in result.findings)


def test_json_has_every_section(tmp_path: Path) -> None:
    import json

    result = run_shop(shop_repo(tmp_path, {}), ["customer_orders"])
    data = json.loads(json.dumps(result.to_json()))
    assert set(data) >= {"verdict", "sources", "joins", "upstream", "models", "findings", "limits", "seed"}
    assert data["upstream"][0]["name"] == "stg_orders" and data["upstream"][0]["status"] == "built"
    assert data["models"][0]["reconciliation"]["identical"] is True


@pytest.mark.parametrize(
    "statement",
    [
        "COPY (SELECT 1) TO '{tmp}/out.csv'",
        "ATTACH '{tmp}/other.duckdb' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET threads = 4",
        "SET enable_external_access = true",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/hosts'",
    ],
)
def test_locked_down_connection_refuses_outside_access(tmp_path: Path, statement: str) -> None:
    from app.canary.runner import QueryFailed, Sandbox

    db = Sandbox()
    db.lock_down(memory_limit="256MB", threads=1)
    with pytest.raises(QueryFailed):
        db.execute(statement.format(tmp=tmp_path))
    assert not (tmp_path / "out.csv").exists()
    db.close()


def test_report_section_renders_in_every_format(tmp_path: Path) -> None:
    repo = shop_repo(
        tmp_path,
        {
            "models/customer_orders.sql": CUSTOMER_ORDERS.replace(
                "min(o.ordered_at)", "date_trunc('day', min(o.ordered_at))"
            )
        },
    )
    result = run_shop(repo, ["customer_orders"])
    full, compact = result.render("markdown"), result.render("markdown", compact=True)
    assert (
        "#### `customer_orders`: compared (contracted)" in full and "<details><summary>Example rows" in full
    )
    assert "Example rows" not in compact and "| `first_order_at` |" in compact
    text = result.render("text")
    assert "customer_orders (models/customer_orders.sql) - compared" in text and "first_order_at" in text


def test_a_model_whose_operand_types_do_not_match_is_told_which_types(tmp_path: Path) -> None:
    """DuckDB names the operator and the types that did not match ('/(VARCHAR, INTEGER_LITERAL)');
    that text starts like a path and was redacted as one, leaving the user nothing to fix by."""
    repo = shop_repo(
        tmp_path,
        {"models/country_revenue.sql": "select country, country / 2 as half\nfrom customer_orders\n"},
    )
    result = run_shop(repo, ["country_revenue"])
    message = result.model("country_revenue").head.message or ""
    assert "/(VARCHAR, INTEGER_LITERAL)" in message and "path outside" not in message, message
    (f,) = [f for f in result.findings if f.rule == "canary-model-failed"]
    assert "/(VARCHAR, INTEGER_LITERAL)" in f.message


def test_a_model_failing_on_the_sample_is_a_blocking_finding(tmp_path: Path) -> None:
    repo = shop_repo(
        tmp_path,
        {
            "models/country_revenue.sql": "select country, cast(country as integer) as code\n"
            "from customer_orders\n"
        },
    )
    result = run_shop(repo, ["country_revenue"])
    run = result.model("country_revenue").head
    assert run.status == "failed" and "Conversion Error" in run.message
    (f,) = [f for f in result.findings if f.rule == "canary-model-failed"]
    assert f.blocking and f.location.path == "models/country_revenue.sql"
