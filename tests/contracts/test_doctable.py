"""docs/contract-changes.md's rules table is generated from RULES: the doc and the code cannot drift."""

from __future__ import annotations

import pytest

from app.contracts.doctable import DESCRIPTIONS, END, START, doc_path, rules_table, splice
from app.contracts.rules import RULES


def test_docs_rules_table_matches_the_code() -> None:
    document = doc_path().read_text(encoding="utf-8")
    assert splice(document, rules_table()) == document, (
        "docs/contract-changes.md is out of date: run `python -m app.contracts.doctable`"
    )


def test_every_rule_is_described_with_its_default() -> None:
    table = rules_table()
    assert set(DESCRIPTIONS) == set(RULES)
    for kind, impact in RULES.items():
        assert f"| `{kind.value}` |" in table and f"| {impact.value} |" in table


def test_splice_replaces_only_between_markers() -> None:
    doc = f"intro\n{START}\nold\n{END}\noutro\n"
    assert splice(doc, "new\n") == f"intro\n{START}\nnew\n{END}\noutro\n"
    with pytest.raises(ValueError):
        splice("no markers", "x")


def test_yaml_examples_in_the_doc_are_valid() -> None:
    import re

    from app.contracts.parse import parse_contract
    from app.project.config import parse_config

    contract, config = re.findall(r"```yaml\n(.*?)```", doc_path().read_text(encoding="utf-8"), re.S)
    assert parse_contract(contract, "docs/example.odcs.yaml").compatibility == "backward_transitive"
    assert parse_config("name: docs\n" + config, "datacanary.yml")[0].waivers
