"""An incremental model compiled with its is_incremental() branch, back to its full refresh: the filter
on `{{ this }}` is left out of the text, every other line keeps its number (app.dbt.incremental)."""

from __future__ import annotations

import pytest

from app.dbt.incremental import full_refresh

THIS = "orders__this"


@pytest.mark.parametrize(
    ("compiled", "refreshed"),
    [
        ("select * from final\n\nwhere d >= (select max(d) from orders__this)\n", "select * from final"),
        (
            "select * from e where 1=1 and ts > (select max(ts) from orders__this) and x = 1",
            "select * from e where 1=1 and x = 1",
        ),
        (
            "select * from e where ts > (select coalesce(max(ts), 0) from orders__this) and x = 1 group by 1",
            "select * from e where x = 1 group by 1",
        ),
        (
            "with a as (select * from e where ts > (select max(ts) from orders__this)) select * from a",
            "with a as (select * from e ) select * from a",
        ),
        ("select * from e", "select * from e"),
    ],
)
def test_filters_on_this_are_left_out(compiled: str, refreshed: str) -> None:
    out = full_refresh(compiled, THIS, "duckdb")
    assert out is not None
    assert " ".join(out.split()) == refreshed
    assert out.count("\n") == compiled.count("\n") and len(out) == len(compiled)


@pytest.mark.parametrize(
    "compiled",
    [
        "select * from e where x = 1 or ts > (select max(ts) from orders__this)",
        "select e.* from e left join orders__this t on t.id = e.id where t.id is null",
        "with m as (select max(ts) as m from orders__this) select * from e, m where e.ts > m.m",
    ],
)
def test_other_reads_of_this_are_not_guessed_away(compiled: str) -> None:
    assert full_refresh(compiled, THIS, "duckdb") is None
