"""One verdict per directly changed model, from the SQL alone: equivalent, dialect_rewrite, rename (columns
followed through lineage, models matched modulo the change's renames), schema_change, logic_change,
yml_only; rendered in the JSON report, the CLI text, the comment and the contracts check run."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

from app.pipeline import evaluate
from app.project.tree import MemoryTree
from app.report import render_report
from app.report.effects import effects_for
from app.sql.analyze import analyze
from app.sql.verdicts import CodeFacts, ModelVerdict, model_verdicts
from tests.sql.conftest import SHOP_SOURCES, build_project, contract_yaml

STG = "select id as order_id, customer_id, amount, status from raw_orders"
ORDERS = "select o.order_id, o.amount * 2 as double_amount from stg_orders o where o.status = 'done'"


def verdicts(
    base: dict[str, str], head: dict[str, str], contracts: tuple[dict[str, str], dict[str, str]] | None = None
) -> dict[str, ModelVerdict]:
    b = build_project(base, SHOP_SOURCES, contracts[0] if contracts else None)
    h = build_project(head, SHOP_SOURCES, contracts[1] if contracts else None)
    from app.project.properties import properties_changed

    facts = CodeFacts(properties_changed=frozenset(properties_changed(b, h)))
    found = model_verdicts(analyze(b, strict=False), analyze(h, strict=False), facts)
    return {v.model: v for v in found}


def test_a_model_nobody_changed_gets_no_verdict() -> None:
    assert verdicts({"stg_orders": STG, "orders": ORDERS}, {"stg_orders": STG, "orders": ORDERS}) == {}


@pytest.mark.parametrize(
    "head",
    [
        ORDERS.replace("o.amount * 2", "2 * o.amount"),
        ORDERS.replace("o.status = 'done'", "'done' = o.status"),
        ORDERS.replace(" o ", " as ord ").replace("o.", "ord."),
        "-- reviewed\n"
        + ORDERS.replace("select", "SELECT").replace("from", "\n  FROM").replace("where", "WHERE"),
    ],
)
def test_rewrites_reviewers_make_are_equivalent(head: str) -> None:
    got = verdicts({"stg_orders": STG, "orders": ORDERS}, {"stg_orders": STG, "orders": head})
    assert got["orders"].verdict == "equivalent"


def test_a_left_join_reordered_is_equivalent_but_not_when_an_on_clause_reads_the_other_join() -> None:
    base = (
        "select c.id, o.amount, p.method from raw_customers c "
        "left join raw_orders o on c.id = o.customer_id left join raw_payments p on c.id = p.order_id"
    )
    head = (
        "select c.id, o.amount, p.method from raw_customers c "
        "left join raw_payments p on c.id = p.order_id left join raw_orders o on c.id = o.customer_id"
    )
    assert verdicts({"m": base}, {"m": head})["m"].verdict == "equivalent"
    chained = base.replace("c.id = p.order_id", "o.id = p.order_id")
    reordered = head.replace("c.id = p.order_id", "o.id = p.order_id")
    assert verdicts({"m": chained}, {"m": reordered})["m"].verdict == "logic_change"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("ifnull(amount, 0)", "coalesce(amount, 0)"),
        ("amount::bigint", "cast(amount as bigint)"),
        ("status <> 'x'", "status != 'x'"),
    ],
)
def test_a_spelling_sqlglot_normalises_is_a_dialect_rewrite(before: str, after: str) -> None:
    sql = "select id, {} as v from raw_orders"
    got = verdicts({"m": sql.format(before)}, {"m": sql.format(after)})
    assert got["m"].verdict == "dialect_rewrite"


def test_a_logic_change_is_one_even_when_the_data_would_be_equal() -> None:
    # amounts are in cents: > 0 and >= 0.01 keep the same rows, but only on such data
    sql = "select id, amount from raw_orders where amount {}"
    got = verdicts({"m": sql.format("> 0")}, {"m": sql.format(">= 0.01")})
    assert got["m"].verdict == "logic_change"


RENAMED_STG = STG.replace("id as order_id", "id as id_of_order")


@pytest.mark.parametrize(
    ("reader", "verdict", "renamed"),
    [
        # same expression under the upstream's new name: the rename is followed through lineage
        ("o.id_of_order", "rename", (("order_id", "id_of_order"),)),
        # the reader keeps its own output name: nothing of its output changed
        ("o.id_of_order as order_id", "equivalent", ()),
    ],
)
def test_a_column_rename_is_followed_by_the_model_reading_it(
    reader: str, verdict: str, renamed: tuple[tuple[str, str], ...]
) -> None:
    head = {"stg_orders": RENAMED_STG, "orders": ORDERS.replace("o.order_id", reader)}
    got = verdicts({"stg_orders": STG, "orders": ORDERS}, head)
    assert (got["stg_orders"].verdict, got["stg_orders"].columns_renamed) == (
        "rename",
        (("order_id", "id_of_order"),),
    )
    assert (got["orders"].verdict, got["orders"].columns_renamed) == (verdict, renamed)


def test_a_model_renamed_whose_sql_only_follows_an_upstream_rename_is_a_model_rename() -> None:
    head_stg = STG.replace("amount,", "amount as amount_usd,")
    moved = ORDERS.replace("o.amount * 2", "o.amount_usd * 2")
    got = verdicts({"stg_orders": STG, "orders": ORDERS}, {"stg_orders": head_stg, "fct_orders": moved})
    assert got["fct_orders"].verdict == "rename"
    assert got["fct_orders"].renamed_from == "orders"
    assert "orders" not in got  # not removed + added


def test_an_unnamed_expression_is_renamed_under_the_name_duckdb_gives_it() -> None:
    base = "select id, 1 - amount from raw_orders"
    got = verdicts({"m": base}, {"m": "select id, 1 - amount as rest from raw_orders"})
    assert got["m"].verdict == "rename"
    assert got["m"].columns_renamed == (("(1 - amount)", "rest"),)
    con = duckdb.connect()
    con.execute("create table raw_orders (id bigint, amount double)")
    assert [d[0] for d in con.execute(base).description] == ["id", "(1 - amount)"]


@pytest.mark.parametrize(
    ("head", "detail", "what"),
    [
        ("select id, amount, status, 1 as one from raw_orders", "additive", {"added": ("one",)}),
        ("select id, amount from raw_orders", "breaking", {"removed": ("status",)}),
        ("select id, amount::double as amount, status from raw_orders", "breaking", {"retyped": ("amount",)}),
    ],
)
def test_outputs_added_removed_or_retyped_are_a_schema_change(
    head: str, detail: str, what: dict[str, tuple[str, ...]]
) -> None:
    got = verdicts({"m": "select id, amount, status from raw_orders"}, {"m": head})["m"]
    assert (got.verdict, got.detail) == ("schema_change", detail)
    for field, value in what.items():
        assert getattr(got, field) == value


def test_an_added_column_with_a_changed_filter_is_a_logic_change() -> None:
    base = "select id, amount from raw_orders where amount > 0"
    head = "select id, amount, status from raw_orders where amount > 10"
    assert verdicts({"m": base}, {"m": head})["m"].verdict == "logic_change"


def test_a_contract_edited_without_sql_is_yml_only() -> None:
    a = {"m.odcs.yaml": contract_yaml("m", [("id", "integer", None)])}
    b = {"m.odcs.yaml": contract_yaml("m", [("id", "integer", None), ("amount", "number", None)])}
    got = verdicts(
        {"m": "select id, amount from raw_orders"}, {"m": "select id, amount from raw_orders"}, (a, b)
    )
    assert got["m"].verdict == "yml_only"


def _report() -> object:
    base = build_project({"stg_orders": STG, "orders": ORDERS}, SHOP_SOURCES)
    head = build_project(
        {
            "stg_orders": STG.replace("id as order_id", "id as id_of_order"),
            "orders": ORDERS.replace("2", "3"),
        },
        SHOP_SOURCES,
    )
    return evaluate(base, head, head_tree=MemoryTree({}), canary=False, today=dt.date(2026, 1, 1))


def test_every_view_of_the_report_gives_each_changed_model_its_verdict() -> None:
    report = _report()
    models = json.loads(render_report(report, "json"))["models"]  # type: ignore[arg-type]
    assert [(m["model"], m["verdict"]) for m in models] == [
        ("stg_orders", "rename"),
        ("orders", "logic_change"),
    ]
    assert models[0]["columns_renamed"] == [{"old": "order_id", "new": "id_of_order"}]
    text = render_report(report, "text")  # type: ignore[arg-type]
    assert "rename" in text and "order_id → id_of_order" in text
    markdown = render_report(report, "markdown")  # type: ignore[arg-type]
    assert "| `orders` | **logic_change** |" in markdown
    effects = effects_for(
        report,  # type: ignore[arg-type]
        head_sha="c" * 40,
        pr_number=7,
        details_url=None,
        can_write=True,
        markdown=markdown,
    )
    summaries = {e.ref: e.output.summary for e in effects if getattr(e, "output", None) is not None}  # type: ignore[attr-defined]
    assert "| `stg_orders` | **rename** | order\\_id → id\\_of\\_order |" in summaries["contracts"]
    comment = next(e for e in effects if type(e).__name__ == "UpsertComment")
    assert "**logic_change**" in comment.body  # type: ignore[attr-defined]


def test_a_changed_model_the_analysis_cannot_take_is_a_logic_change_at_its_error() -> None:
    base = build_project({"m": "select id from raw_orders", "n": "select id from raw_orders"}, SHOP_SOURCES)
    head = build_project({"m": "select id from raw_orderz", "n": "select id from raw_orders"}, SHOP_SOURCES)
    report = evaluate(base, head, head_tree=MemoryTree({}), canary=False, today=dt.date(2026, 1, 1))
    (only,) = report.models
    assert (only.model, only.verdict) == ("m", "logic_change")
    assert only.reasons == ("not analysable (see its finding)",)
    assert only.location.path == "models/m.sql"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("select id as i from raw_orders", "select id i from raw_orders"),
        (
            "select o.id from raw_orders o inner join raw_customers c on c.id = o.customer_id",
            "select o.id from raw_orders o join raw_customers c on c.id = o.customer_id",
        ),
        ("select sum(amount) as total from raw_orders", "SELECT SUM(amount) AS total FROM raw_orders"),
    ],
)
def test_optional_keywords_and_case_are_no_dialect_rewrite(before: str, after: str) -> None:
    assert verdicts({"m": before}, {"m": after})["m"].verdict == "equivalent"
