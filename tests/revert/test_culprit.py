from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from app.revert.culprit import MergedChange, find
from app.revert.history import merged_changes, promoted
from tests.revert.conftest import LINEAGE, Repo

FAR = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def test_merged_pull_requests_are_read_from_first_parent_history(repo: Repo) -> None:
    changes = merged_changes(repo.path)
    assert [(c.number, c.branch, c.title) for c in changes] == [
        (2, "customer-names", "Customer names"),
        (1, "cents-to-euros", "Amounts in euros"),
    ]
    assert changes[1].files == ("models/stg_helpers.sql", "models/stg_orders.sql")
    assert changes[1].commit == repo.merges[1]


def test_culprit_is_the_newest_change_upstream_of_the_breach_not_the_newest_change(repo: Repo) -> None:
    changes = promoted(repo.path, merged_changes(repo.path), [])
    culprit = find(["revenue"], changes, LINEAGE, since=None, until=FAR)
    assert culprit is not None
    assert culprit.change.number == 1  # PR 2 is newer but touches nothing upstream of revenue
    assert culprit.path == ("stg_orders", "orders", "revenue")
    assert culprit.files == ("models/stg_orders.sql",)
    assert culprit.considered == 2


def test_changes_promoted_before_the_last_good_evaluation_are_not_suspects(repo: Repo) -> None:
    changes = promoted(repo.path, merged_changes(repo.path), [])
    pr1_promoted = next(at for c, at in changes if c.number == 1)
    assert find(["revenue"], changes, LINEAGE, since=pr1_promoted, until=FAR) is None


def test_promotion_time_comes_from_the_promotion_that_first_contained_the_merge(repo: Repo) -> None:
    t1 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    t2 = dt.datetime(2030, 2, 1, tzinfo=dt.UTC)
    changes = promoted(repo.path, merged_changes(repo.path), [(repo.merges[1], t1), (repo.merges[2], t2)])
    assert {c.number: at for c, at in changes} == {1: t1, 2: t2}
    culprit = find(["orders"], changes, LINEAGE, since=None, until=t1)
    assert culprit is not None and culprit.promoted_at == t1
    # a change not promoted yet cannot be the culprit of a breach in this environment
    assert find(["customers"], changes, LINEAGE, since=None, until=t1) is None


def test_a_change_to_datacanary_yml_is_a_suspect_for_every_dataset(repo: Repo) -> None:
    repo.merge_pr(3, "config", "Tune config", {"datacanary.yml": "name: shop\ndialect: duckdb\n"})
    changes = promoted(repo.path, merged_changes(repo.path), [])
    culprit = find(["customers"], changes, LINEAGE, since=None, until=FAR)
    assert culprit is not None and culprit.change.number == 3
    assert culprit.files == ("datacanary.yml",)


FILES = {"stg": "models/stg_orders.sql", "orders": "models/orders.sql", "cust": "models/customers.sql",
         "rev": "models/revenue.sql", "readme": "README.md"}  # fmt: skip
UPSTREAM_OF_REVENUE = {"models/stg_orders.sql", "models/orders.sql", "contracts/orders.odcs.yaml",
                       "models/revenue.sql", "datacanary.yml"}  # fmt: skip


@given(
    st.lists(st.tuples(st.integers(0, 100), st.sampled_from(sorted(FILES))), min_size=0, max_size=12),
    st.one_of(st.none(), st.integers(0, 100)),
)
def test_culprit_is_the_newest_promoted_change_into_the_lineage(
    changes: list[tuple[int, str]], since: int | None
) -> None:
    base = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

    def change(i: int, hours: int, key: str) -> MergedChange:
        at = base + dt.timedelta(hours=hours)
        return MergedChange(f"{i:040x}", "0" * 40, at, f"c{i}", (FILES[key],), number=i)

    promoted = [(change(i, h, f), base + dt.timedelta(hours=h)) for i, (h, f) in enumerate(changes)]
    since_at = None if since is None else base + dt.timedelta(hours=since)
    until = base + dt.timedelta(hours=90)
    culprit = find(["revenue"], promoted, LINEAGE, since_at, until)
    eligible = [
        (at, c.merged_at, c.number)
        for c, at in promoted
        if (since_at is None or at > since_at) and at <= until and set(c.files) & UPSTREAM_OF_REVENUE
    ]
    if not eligible:
        assert culprit is None
    else:
        assert culprit is not None
        best = max(eligible)
        assert (culprit.promoted_at, culprit.change.merged_at) == best[:2]
