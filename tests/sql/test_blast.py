"""Blast radius: downstream models, columns, contracts and consumers of a change, and its graph."""

from __future__ import annotations

import json

import pytest

from app.sql.analyze import analyze
from app.sql.blast import MAX_NODES, Reach, blast_radius, project_graph, render_mermaid
from tests.sql.conftest import SHOP_SOURCES, build_project, contract_yaml

MODELS = {
    "stg": "select id, amount, status from raw_orders",
    "fct": "select id, amount * 2 as amount2 from stg where status = 'done'",
    "agg": "select sum(amount2) as total from fct",
    "unrelated": "select id from stg",
}
EXTRA = "consumers:\n  agg: ['dashboard: Revenue \"daily\"']\n"


def shop():  # type: ignore[no-untyped-def]
    p = build_project(
        MODELS,
        SHOP_SOURCES,
        contracts={"agg.odcs.yaml": contract_yaml("agg", [("total", "number", None)])},
        extra=EXTRA,
    )
    return p, analyze(p)


def test_a_changed_column_reaches_readers_columns_contracts_and_consumers():
    p, a = shop()
    (reach,) = blast_radius(a, p, [("stg", "amount")]).impacts
    assert reach.direct == ("fct",)
    assert reach.models == ("fct", "agg")
    assert reach.columns == (("fct", "amount2"), ("agg", "total"))
    assert reach.contracts == (("agg", "contracts/agg.odcs.yaml"),)
    assert reach.consumers == (("agg", 'dashboard: Revenue "daily"'),)


def test_a_filter_column_reaches_its_reader_but_no_columns():
    p, a = shop()
    (reach,) = blast_radius(a, p, [("stg", "status")]).impacts
    assert reach.direct == ("fct",) and reach.columns == ()


def test_a_filter_column_reaches_everything_downstream_of_its_reader():
    # fct keeps other rows when stg.status changes, so agg's total (and its dashboard) changes too
    p, a = shop()
    (reach,) = blast_radius(a, p, [("stg", "status")]).impacts
    assert reach.models == ("fct", "agg")
    assert reach.contracts == (("agg", "contracts/agg.odcs.yaml"),)
    assert reach.consumers == (("agg", 'dashboard: Revenue "daily"'),)


@pytest.mark.parametrize(
    "fct",
    [
        "select status, sum(amount) as total from stg group by all",
        "select id, unnest([status, 'any']) as tag, amount from stg",
    ],
)
def test_grouping_by_all_or_unnesting_a_column_decides_rows_too(fct: str) -> None:
    models = {
        "stg": "select id, amount, status from raw_orders",
        "fct": fct,
        "agg": "select count(*) as n from fct",
    }
    p = build_project(models, SHOP_SOURCES)
    (reach,) = blast_radius(analyze(p), p, [("stg", "status")]).impacts
    assert reach.models == ("fct", "agg")


def test_a_column_read_only_for_values_or_ordering_does_not_reach_further():
    models = {
        "stg": "select id, amount, status from raw_orders",
        "fct": "select id, (select max(s.amount) from stg s where s.id = o.id) as top from stg o order by status",
        "agg": "select count(*) as n from fct",
    }
    p = build_project(models, SHOP_SOURCES)
    (reach,) = blast_radius(analyze(p), p, [("stg", "status")]).impacts
    assert reach.models == ("fct",)


def test_a_whole_dataset_reaches_everything_downstream():
    p, a = shop()
    (reach,) = blast_radius(a, p, [("stg", None)]).impacts
    assert set(reach.models) == {"fct", "agg", "unrelated"}


def test_removed_columns_find_readers_in_the_base_analysis():
    p, a = shop()
    head = build_project(
        {**MODELS, "stg": "select id, status from raw_orders", "fct": "select id from stg"}, SHOP_SOURCES
    )
    h = analyze(head, strict=False)  # agg reads fct.amount2, which head dropped
    assert blast_radius(h, head, [("stg", "amount")]).impacts[0].models == ()
    assert blast_radius(h, head, [("stg", "amount")], base=a).impacts[0].direct == ("fct",)


def test_mermaid_graph_highlights_changed_nodes_and_sanitizes_ids():
    p, a = shop()
    text = render_mermaid(blast_radius(a, p, [("stg", "amount")]))
    assert text.startswith("```mermaid\nflowchart LR\n") and text.rstrip().endswith("```")
    assert 'd_stg_0["stg"]' in text and "class d_stg_0 changed" in text
    assert "#34;daily#34;" in text  # quotes in labels cannot break the node syntax (mermaid entity codes)
    assert "-.->" in text  # the contract hangs off its model


def test_graph_is_capped_with_a_more_node():
    models = {"stg": "select id from raw_orders"} | {
        f"m{i}": "select id from stg" for i in range(MAX_NODES + 15)
    }
    p = build_project(models, SHOP_SOURCES)
    blast = blast_radius(analyze(p), p, [("stg", "id")])
    assert len(blast.nodes) == MAX_NODES and blast.hidden == 16
    assert "+16 more" in render_mermaid(blast)
    assert len(project_graph(analyze(p)).nodes) == MAX_NODES


def test_json_and_report_sections():
    p, a = shop()
    blast = blast_radius(a, p, [("stg", "amount")])
    doc = json.loads(json.dumps(blast.to_json()))
    assert doc["impacts"][0]["columns"][0] == {"model": "fct", "column": "amount2"}
    assert "stg.amount: 2 downstream models, 2 columns" in blast.render("text")
    md = blast.render("markdown")
    assert "| `stg.amount` | `fct` | 2 | 2 |" in md and "```mermaid" in md
    assert "```mermaid" not in blast.render("markdown", compact=True)


def test_a_changed_dataset_downstream_of_another_is_one_highlighted_node():
    p, a = shop()
    blast = blast_radius(a, p, [("stg", "amount"), ("fct", "amount2")])
    labels = [n.label for n in blast.nodes if n.kind in ("changed", "model")]
    assert labels.count("fct") == 1
    assert {n.label for n in blast.nodes if n.kind == "changed"} == {"stg", "fct"}


def test_a_contract_column_reaches_its_readers_on_snowflake_where_unquoted_names_are_upper_case():
    # contracts and dbt ymls say `amount`; Snowflake stores (and the analysis names) AMOUNT: the blast
    # radius of a breaking contract change was empty
    p = build_project(MODELS, SHOP_SOURCES, dialect="snowflake")
    (reach,) = blast_radius(analyze(p), p, [("stg", "amount")]).impacts
    assert reach.column == "amount"
    assert reach.models == ("fct", "agg")
    assert reach.columns == (("fct", "AMOUNT2"), ("agg", "TOTAL"))


def reaches(
    models: dict[str, str], sources: dict[str, dict[str, str]], *columns: str
) -> dict[str | None, Reach]:
    """The blast radius of each of `columns` of model `stg`, by column."""
    p = build_project(models, sources)
    return {i.column: i for i in blast_radius(analyze(p), p, [("stg", c) for c in columns]).impacts}


def test_distinct_on_rows_are_decided_by_its_expressions_and_order_not_by_every_column():
    # every column of a DISTINCT ON query read as deciding its rows: a change to `id` reached `agg`
    latest = "select distinct on (customer_id) customer_id, id, amount from stg order by customer_id, ordered_at desc"
    models = {
        "stg": "select id, customer_id, amount, ordered_at from raw_orders",
        "latest": latest,
        "agg": "select sum(amount) as total from latest",
    }
    reach = reaches(models, SHOP_SOURCES, "id", "customer_id", "ordered_at")
    assert reach["id"].models == ("latest",) and reach["id"].columns == (("latest", "id"),)
    assert reach["customer_id"].models == ("latest", "agg")  # which rows are kept
    assert reach["ordered_at"].models == ("latest", "agg")  # which row of each is kept


def test_a_pivots_rows_are_decided_by_what_it_passes_through_not_by_what_it_aggregates():
    # the aggregated and FOR columns read as deciding rows, the passed-through ones (its grouping) not
    models = {
        "stg": "select country, name, year, population from cities",
        "wide": "select * from stg pivot (sum(population) for year in (2000, 2010))",
        "names": "select country, name from wide",
        "total": 'select sum("2000") as total from wide',
    }
    cities = {"cities": {"country": "varchar", "name": "varchar", "year": "int", "population": "int"}}
    reach = reaches(models, cities, "population", "name")
    assert reach["population"].models == ("wide", "total")
    assert reach["name"].models == ("wide", "names", "total")
