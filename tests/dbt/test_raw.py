"""The raw_code fallback for manifests without compiled SQL (`dbt parse`)."""

from __future__ import annotations

import pytest

from app.dbt.raw import render_raw
from app.errors import ProjectError

MODELS = {("orders", None): "orders", ("customers", "1"): "customers_v1", ("customers", None): "customers"}


def _render(raw: str) -> str:
    return render_raw(
        raw,
        "models/m.sql",
        this="m",
        ref=lambda name, v: MODELS.get((name, v)),
        source=lambda s, t: {("app", "events"): "events"}.get((s, t)),
    )


@pytest.mark.parametrize(
    ("raw", "sql"),
    [
        ("select * from {{ ref('orders') }}", "select * from orders"),
        ('select * from {{ ref("orders") }}', "select * from orders"),
        ("select * from {{ ref('shop', 'orders') }}", "select * from orders"),  # package-qualified
        ("select * from\n{{- ref('orders') -}}\n", "select * from\norders\n"),  # lines are kept
        ("select * from {{ ref('customers', v=1) }}", "select * from customers_v1"),
        ("select * from {{ ref('customers', version='1') }}", "select * from customers_v1"),
        ("select * from {{ source('app', \"events\") }}", "select * from events"),
        ("select max(ts) from {{ this }}", "select max(ts) from m"),
    ],
)
def test_refs_sources_and_this_resolve(raw: str, sql: str) -> None:
    assert _render(raw) == sql


def test_config_and_comments_vanish_but_keep_their_lines() -> None:
    raw = (
        "{{ config(materialized='table', tags=['a']) }}\n{# a\nnote #}\n"
        "select 1 as x from {{ ref('orders') }}"
    )
    out = _render(raw)
    assert out.splitlines()[-1] == "select 1 as x from orders"
    assert out.count("\n") == raw.count("\n")


def test_unknown_ref_names_its_line() -> None:
    with pytest.raises(ProjectError, match="ref\\('nope'\\) does not resolve") as err:
        _render("select 1\nfrom {{ ref('nope') }}")
    assert err.value.location.line == 2


def test_macros_need_dbt_compile() -> None:
    with pytest.raises(ProjectError, match="more than ref/source/config") as err:
        _render("select {{ dbt_utils.star(ref('orders')) }}\nfrom {{ ref('orders') }}")
    assert err.value.location.line == 1 and "dbt compile" in err.value.hint
