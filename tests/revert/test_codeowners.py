from __future__ import annotations

from app.revert.codeowners import owners_for

CODEOWNERS = """
# the default owner
*                    @everyone
/models/             @data-team @ada
contracts/*.yaml     @contracts-owner
**/revenue.sql       @acme/finance
"""


def test_the_last_matching_rule_wins() -> None:
    assert owners_for(CODEOWNERS, ["models/stg_orders.sql"]) == ("data-team", "ada")
    assert owners_for(CODEOWNERS, ["models/marts/revenue.sql"]) == ("acme/finance",)
    assert owners_for(CODEOWNERS, ["README.md"]) == ("everyone",)


def test_a_pattern_with_a_slash_is_anchored_at_the_root() -> None:
    assert owners_for(CODEOWNERS, ["contracts/orders.yaml"]) == ("contracts-owner",)
    assert owners_for(CODEOWNERS, ["nested/contracts/orders.yaml"]) == ("everyone",)


def test_owners_of_many_paths_are_listed_once_in_order() -> None:
    assert owners_for(CODEOWNERS, ["models/a.sql", "README.md", "models/b.sql"]) == (
        "data-team",
        "ada",
        "everyone",
    )
