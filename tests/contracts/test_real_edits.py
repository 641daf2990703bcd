"""Pull-request edits of real ODCS files (the standard's examples, datacontract-cli's fixtures), each
with the classification docs/contract-changes.md gives it. A review of the contract diff on these files
found each case misclassified or missed; the edit is made on the file's own text, so lines stay real."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.contracts.diff import diff_contracts
from app.contracts.parse import parse_contract
from app.types import Impact

REAL = Path(__file__).resolve().parent / "real"
FULL = "bitol/docs/examples/all/full-example.odcs.yaml"
WORKS = "bitol/docs/examples/all/postgresql-adventureworks-contract.odcs.yaml"
JSON = "datacontract-cli/tests/fixtures/local-json-complex/datacontract.yaml"
DQX = "datacontract-cli/tests/fixtures/dqx/datacontract.odcs.yaml"
PK = "datacontract-cli/tests/fixtures/composite-pk-export/datacontract.yaml"
ENUM = "datacontract-cli/tests/fixtures/dbt_sync/orders.odcs.yaml"


def _diff(
    rel: str, old: str, new: str, count: int = 1, text: str | None = None
) -> tuple[list[tuple[str, Impact]], list[int]]:
    """(rule, impact) and head line of every change from the real file (or `text`, an edit of it) to the
    file with `old` -> `new`."""
    text = (REAL / rel).read_text() if text is None else text
    assert text.count(old) >= count, f"{old!r} is not in {rel}"
    head = parse_contract(text.replace(old, new, count), rel)
    changes = diff_contracts(parse_contract(text, rel), head, dialect=head.server_dialect or "duckdb")
    return [(c.kind.value, c.impact) for c in changes], [
        c.location.line for c in changes if c.location and c.location.line
    ]


_STRONGER = ("sla-strengthened", Impact.COMPATIBLE)
_WEAKER = ("sla-weakened", Impact.BREAKING)
# (file, old text, new text, expected (rule, impact) list); an empty list: no change at all
CASES = {
    # two timeOfAvailability SLAs of one element: the regulatory one hid behind the analytics one
    "sla-duplicate-weakened": (
        FULL,
        "value: 09:00-08:00\n    element: tab1.txn_ref_dt\n    driver: regulatory",
        "value: 13:00-08:00\n    element: tab1.txn_ref_dt\n    driver: regulatory",
        [("sla-weakened", Impact.BREAKING)],
    ),
    "sla-duplicate-removed": (
        FULL,
        "  - property: timeOfAvailability\n    value: 09:00-08:00\n    element: tab1.txn_ref_dt\n"
        "    driver: regulatory # Describes the importance of the SLA: [regulatory|analytics|operational|...]\n",
        "",
        [("sla-weakened", Impact.BREAKING)],
    ),
    # an array's items were never read
    "array-items-retyped": (
        JSON,
        "        items:\n          name: item\n          logicalType: string",
        "        items:\n          name: item\n          logicalType: integer",
        [("logical-type-changed", Impact.BREAKING)],
    ),
    "array-item-property-removed": (
        JSON,
        "            - name: value\n              logicalType: string\n              required: true\n",
        "",
        [("column-removed", Impact.BREAKING)],
    ),
    "array-item-property-relaxed": (
        JSON,
        "            - name: key\n              logicalType: string\n              required: true",
        "            - name: key\n              logicalType: string\n              required: false",
        [("required-relaxed", Impact.BREAKING)],
    ),
    # the contract's servers say postgres: int8 is a bigint there (sqlglot's default dialect: a tinyint)
    "postgres-int4-to-int8-widened": (
        WORKS,
        'physicalType: "int4"',
        'physicalType: "int8"',
        [("physical-type-widened", Impact.COMPATIBLE)],
    ),
    # without positions the key is a set of columns; with them the order is the positions'
    "unpositioned-key-reordered": (
        PK,
        "    primaryKeyPosition: 2\n",
        "",
        [("primary-key-changed", Impact.BREAKING)],
    ),
    # datacontract-cli's allowed values: a column customProperty `enum`
    "custom-enum-value-added": (
        ENUM,
        "              - delivered\n",
        "              - delivered\n              - cancelled\n",
        [("enum-value-added", Impact.BREAKING)],
    ),
    "custom-enum-value-removed": (
        ENUM,
        "              - shipped\n",
        "",
        [("enum-value-removed", Impact.COMPATIBLE)],  # readers see fewer values: backward compatible
    ),
    # a declared type dropped: the promise is gone (unknown), never silently nothing
    "physical-type-dropped": (
        WORKS,
        '      physicalType: "int4"\n',
        "",
        [("physical-type-changed", Impact.UNKNOWN)],
    ),
    # a year is 365 days (and 12 months), as datacontract-cli counts retention: the same promise
    "retention-years-as-days": (FULL, "value: 3\n    unit: y", "value: 1095\n    unit: d", []),
    "retention-years-as-months": (FULL, "value: 3\n    unit: y", "value: 36\n    unit: months", []),
    "retention-iso-year-as-days": (DQX, "value: P1Y", "value: P365D", []),
    "retention-iso-year-as-months": (DQX, "value: P1Y", "value: P12M", []),
    "retention-year-to-52-weeks": (DQX, "value: P1Y", "value: P52W", [("sla-weakened", Impact.BREAKING)]),
    # support ending sooner is a weaker promise; the same instant at another UTC offset is no change
    "end-of-support-earlier": (FULL, '"2032-05-12T', '"2027-05-12T', [("sla-weakened", Impact.BREAKING)]),
    "end-of-life-later": (FULL, '"2042-05-12T09:30:10-08:00"', '"2045-01-01"', [_STRONGER]),
    "end-of-life-in-utc": (FULL, '"2042-05-12T09:30:10-08:00"', '"2042-05-12T17:30:10Z"', []),
    # ODCS's synonyms of SLA properties (`ly` for latency) name the same SLA
    "sla-property-as-synonym": (FULL, "property: latency #", "property: ly #", []),
    "sla-synonym-weakened": (
        FULL,
        "property: retention\n    value: 3",
        "property: re\n    value: 2",
        [_WEAKER],
    ),
    "version-bumped": (FULL, "version: 1.1.0", "version: 1.2.0", [("version-changed", Impact.INFO)]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_real_files_edit_is_classified_as_documented(case: str) -> None:
    rel, old, new, expected = CASES[case]
    found, lines = _diff(rel, old, new)
    assert found == expected
    head_lines = (REAL / rel).read_text().replace(old, new, 1).splitlines()
    for line in lines:  # each change points into the edited file, at the element it is about
        assert 1 <= line <= len(head_lines)


# datacontract-cli's dbt_sync orders, with an invalidValues rule beside its `enum` custom property: the
# enum is the column's allowed values, the rule's validValues a check of its own
_VALUES = "              - pending\n              - shipped\n              - delivered\n"
_RULE = "        quality:\n          - metric: invalidValues\n            mustBe: 0\n            arguments:\n"
_CHECKED = "              - delivered\n        required: true\n"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("[pending, shipped]", "[pending, shipped, lost]", [("quality-rule-loosened", Impact.BREAKING)]),
        ("[pending, shipped]", "[pending]", [("quality-rule-tightened", Impact.COMPATIBLE)]),
        ("[pending, shipped]", "[pending, lost]", [("quality-rule-changed", Impact.UNKNOWN)]),
        ("[pending, shipped]", "[shipped, pending]", []),
        (
            "              - delivered\n",
            "              - delivered\n              - lost\n",
            [("enum-value-added", Impact.BREAKING)],
        ),
    ],
)
def test_a_valid_values_rule_beside_the_columns_allowed_values_is_compared(
    old: str, new: str, expected: list[tuple[str, Impact]]
) -> None:
    rule = _CHECKED + _RULE + "              validValues: [pending, shipped]\n"
    text = (REAL / ENUM).read_text().replace(_CHECKED, rule, 1)
    assert _diff(ENUM, old, new, text=text)[0] == expected


def test_a_second_valid_values_rule_of_a_column_is_compared() -> None:
    doc = (
        "apiVersion: v3.2.0\nkind: DataContract\nid: o\nversion: 1.0.0\nstatus: active\nschema:\n"
        "  - name: orders\n    properties:\n      - name: status\n        logicalType: string\n"
        "        enum:\n          - value: placed\n          - value: shipped\n"
        + _RULE
        + "              validValues: [placed, shipped]\n"
        "          - id: legacy_statuses\n            metric: invalidValues\n            mustBeLessThan: 10\n"
        "            arguments:\n              validValues: [placed, shipped, open]\n"
    )
    changes = diff_contracts(
        parse_contract(doc, "c"), parse_contract(doc.replace("shipped, open]", "shipped, open, held]"), "c")
    )
    assert [(c.kind.value, c.impact, c.message) for c in changes] == [
        (
            "quality-rule-loosened",
            Impact.BREAKING,
            "quality rule `legacy_statuses` loosened: valid value 'held' added",
        )
    ]


_DOC = "documentation-changed", Impact.INFO
_HELD = "          - value: held\n            description: Held for review\n"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("for payment", "for payment or a credit check", [_DOC]),
        ("label: Shipped", "label: Dispatched", [_DOC]),
        # a new value with its description is the value added, not a documentation change besides
        (
            "          - value: shipped\n",
            _HELD + "          - value: shipped\n",
            [("enum-value-added", Impact.BREAKING)],
        ),
    ],
)
def test_an_odcs_3_2_enum_values_documentation_edited_is_info(
    old: str, new: str, expected: list[tuple[str, Impact]]
) -> None:
    doc = (
        "apiVersion: v3.2.0\nkind: DataContract\nid: o\nversion: 1.0.0\nstatus: active\nschema:\n"
        "  - name: orders\n    properties:\n      - name: status\n        logicalType: string\n"
        "        enum:\n          - value: pending\n            description: Waiting for payment\n"
        "          - value: shipped\n            label: Shipped\n"
    )
    changes = diff_contracts(parse_contract(doc, "c"), parse_contract(doc.replace(old, new), "c"))
    assert [(c.kind.value, c.impact) for c in changes] == expected
    if expected[0][0] == "documentation-changed":
        assert changes[0].message == "allowed value documentation changed"


@pytest.mark.parametrize(
    ("rel", "old", "new", "line"),
    [
        (FULL, "logicalType: date", "logicalType: timestamp", "        logicalType: timestamp"),
        (FULL, "classification: restricted", "classification: public", "        classification: public"),
        (FULL, "description: Country code", "description: ISO code", "        description: ISO code"),
        (WORKS, 'physicalType: "int4"', 'physicalType: "int8"', '      physicalType: "int8"'),
        (JSON, "  required: true", "  required: false", "        required: false"),
        (ENUM, "maximum: 1000000", "maximum: 2000000", "          maximum: 2000000"),
        # the schema object's own keys, and a primary key at the column that left or joined it
        (
            FULL,
            "physicalType: table\n    businessName: Core",
            "physicalType: view\n    businessName: Core",
            "    physicalType: view",
        ),
        (
            FULL,
            "description: Provides core payment metrics",
            "description: Core metrics",
            "    description: Core metrics",
        ),
        (
            FULL,
            "primaryKey: true\n        primaryKeyPosition: 1\n        businessName: receiver id",
            "primaryKey: false\n        primaryKeyPosition: 1\n        businessName: receiver id",
            "        primaryKey: false",
        ),
        # a quality rule's threshold or severity: that key's line, not the rule's `- metric:`
        (FULL, "mustBeGreaterThan: 1000000", "mustBeGreaterThan: 1000", "        mustBeGreaterThan: 1000"),
        (
            FULL,
            "severity: error\n            business",
            "severity: warning\n            business",
            "            severity: warning",
        ),
        # a key removed: the mapping it was removed from
        (ENUM, "          maximum: 1000000\n", "", "        logicalTypeOptions:"),
        (JSON, "              required: true\n", "", "            - name: key"),
        # allowed values dropped: the column, not the base's line of the list (another line in head)
        (
            ENUM,
            "        customProperties:\n          - property: enum\n            value:\n" + _VALUES,
            "",
            "      - name: order_status",
        ),
    ],
)
def test_a_column_change_points_at_the_line_of_the_key_that_changed(
    rel: str, old: str, new: str, line: str
) -> None:
    found, lines = _diff(rel, old, new)
    head = (REAL / rel).read_text().replace(old, new, 1).splitlines()
    assert len(found) == 1 and head[lines[0] - 1] == line


def _between(rel: str, start: str, end: str) -> str:
    text = (REAL / rel).read_text()
    return text[text.index(start) : text.index(end)]


@pytest.mark.parametrize(
    ("rel", "start", "end", "rule", "line"),
    [
        (
            FULL,
            "      - id: rcvr_cntry_code_prop",
            "    quality:\n      - metric: rowCount",
            "column-removed",
            "  - id: tbl_obj",
        ),
        (FULL, "  # Receivers master table", "# Pricing", "dataset-removed", "schema:"),
        (
            FULL,
            "  - property: frequency",
            "  - property: timeOfAvailability",
            "sla-weakened",
            "slaProperties:",
        ),
        # the column's only rule and its `quality:` key: the column
        (
            ENUM,
            "        quality:\n          - description: 95%",
            "    quality:\n      - description: Row",
            "quality-rule-removed",
            "      - name: order_total",
        ),
    ],
)
def test_a_removal_points_at_what_held_it_in_head(
    rel: str, start: str, end: str, rule: str, line: str
) -> None:
    # the base's line of a removed element is another line of the head file, where annotations land
    found, lines = _diff(rel, _between(rel, start, end), "")
    head = (REAL / rel).read_text().replace(_between(rel, start, end), "", 1).splitlines()
    assert found[0][0] == rule and head[lines[0] - 1] == line


def test_the_version_change_points_at_the_version_line() -> None:
    _, lines = _diff(FULL, "version: 1.1.0", "version: 1.2.0")
    text = (REAL / FULL).read_text().replace("version: 1.1.0", "version: 1.2.0")
    assert text.splitlines()[lines[0] - 1].startswith("version: 1.2.0")


def test_an_unpositioned_keys_columns_reordered_are_only_reordered(tmp_path: Path) -> None:
    text = (
        (REAL / PK)
        .read_text()
        .replace("    primaryKeyPosition: 2\n", "")
        .replace("    primaryKeyPosition: 1\n", "")
    )
    props = text.split("  - name: ")
    swapped = "  - name: ".join([props[0], props[2], props[1], *props[3:]])
    found = [c.kind.value for c in diff_contracts(parse_contract(text, PK), parse_contract(swapped, PK))]
    assert found == ["column-reordered"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("", "", []),
        ("\n      - metric: rowCount\n        mustBeLessThan: 10000000", "", ["quality-rule-removed"]),
    ],
)
def test_unnamed_rules_of_one_metric_are_matched_by_content(old: str, new: str, expected: list[str]) -> None:
    doc = (
        "apiVersion: v3.1.0\nkind: DataContract\nid: o\nversion: 1.0.0\nstatus: active\nschema:\n"
        "  - name: orders\n    quality:\n      - metric: rowCount\n        mustBeGreaterThan: 1000"
        "\n      - metric: rowCount\n        mustBeLessThan: 10000000\n    properties:\n"
        "      - name: id\n        logicalType: integer\n"
    )
    lines = doc.split("\n")
    reordered = "\n".join([*lines[:8], *lines[10:12], *lines[8:10], *lines[12:]])
    assert [
        c.kind.value for c in diff_contracts(parse_contract(doc, "c"), parse_contract(reordered, "c"))
    ] == []
    if old:
        dropped = diff_contracts(parse_contract(doc, "c"), parse_contract(doc.replace(old, new), "c"))
        assert [c.kind.value for c in dropped] == expected
        assert dropped[0].old == "rowCount mustBeLessThan 10000000"  # the rule that went, not its twin


def test_yaml_and_sql_layout_and_empty_declarations_are_no_change() -> None:
    doc = (
        "apiVersion: v3.1.0\nkind: DataContract\nid: o\nversion: 1.0.0\nstatus: active\nschema:\n"
        "  - name: orders\n    quality:\n      - type: sql\n        query: |\n"
        "          SELECT count(*) FROM orders\n          WHERE amount < 0\n        mustBe: 0\n"
        "    properties:\n      - name: amount\n        logicalType: number\n"
        "        customProperties:\n          - property: currency\n            value:\n"
    )
    base = parse_contract(doc, "c")
    folded = doc.replace(
        "query: |\n          SELECT count(*) FROM orders\n          WHERE amount < 0",
        "query: >-\n          SELECT count(*)   FROM orders WHERE amount < 0 -- negative amounts",
    )
    assert diff_contracts(base, parse_contract(folded, "c")) == []
    literal = doc.replace("amount < 0", "amount < 0 AND note = 'a  b'")
    spaced = doc.replace("amount < 0", "amount < 0 AND note = 'a b'")
    changed = diff_contracts(parse_contract(literal, "c"), parse_contract(spaced, "c"))
    # text inside quotes is data: a different query, reported as the rule's query changed
    assert [(c.kind.value, c.impact) for c in changed] == [("quality-rule-changed", Impact.UNKNOWN)]
    pii = doc.replace(
        "            value:\n", "            value:\n          - property: pii\n            value: false\n"
    )
    assert diff_contracts(base, parse_contract(pii, "c")) == []
    currency = diff_contracts(base, parse_contract(doc.replace("value:\n", "value: EUR\n"), "c"))
    assert [(c.kind.value, c.impact) for c in currency] == [("semantics-changed", Impact.INFO)]


@pytest.mark.parametrize(
    ("before", "after", "impact"), [(False, True, Impact.COMPATIBLE), (True, False, Impact.BREAKING)]
)
def test_odcs_3_0_boolean_exclusive_bounds(before: bool, after: bool, impact: Impact) -> None:
    doc = (
        "apiVersion: v3.0.2\nkind: DataContract\nid: o\nversion: 1.0.0\nstatus: active\nschema:\n"
        "  - name: orders\n    properties:\n      - name: pct\n        logicalType: number\n"
        "        logicalTypeOptions:\n          maximum: 100\n          exclusiveMaximum: {}\n"
    )
    changes = diff_contracts(
        parse_contract(doc.format(str(before).lower()), "c"),
        parse_contract(doc.format(str(after).lower()), "c"),
    )
    assert [(c.kind.value, c.impact) for c in changes] == [
        ("constraint-tightened" if after else "constraint-loosened", impact)
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [("          exclusiveMaximum: false\n", ""), ("", "          exclusiveMaximum: false\n")],
)
def test_an_odcs_3_0_false_exclusive_bound_written_or_dropped_is_no_change(old: str, new: str) -> None:
    doc = (
        "apiVersion: v3.0.2\nkind: DataContract\nid: o\nversion: 1.0.0\nstatus: active\nschema:\n"
        "  - name: orders\n    properties:\n      - name: pct\n        logicalType: number\n"
        "        logicalTypeOptions:\n          maximum: 100\n{}"
    )
    # `false` says the maximum is inclusive, as it is without the key: not a tightened constraint
    assert diff_contracts(parse_contract(doc.format(old), "c"), parse_contract(doc.format(new), "c")) == []


@pytest.mark.parametrize(
    ("servers", "code", "rule"),
    [
        ("", 1, "physical-type-narrowed"),  # no servers, no datacanary.yml: DuckDB's int8, a bigint
        ("postgres", 1, "physical-type-narrowed"),
        ("databricks", 0, "physical-type-widened"),  # Spark SQL's int8 is a tinyint: int8 -> int4 widens
    ],
)
def test_contract_diff_reads_int8_in_the_contracts_own_server_dialect(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    servers: str,
    code: int,
    rule: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # no datacanary.yml here
    text = (REAL / WORKS).read_text()
    if servers:
        text += (
            f"servers:\n  - server: prod\n    type: {servers}\n    host: db\n    port: 5432\n"
            "    database: aw\n    schema: public\n    catalog: main\n"
        )
    base, head = tmp_path / "base.yaml", tmp_path / "head.yaml"
    base.write_text(text.replace('physicalType: "int4"', 'physicalType: "int8"', 1))
    head.write_text(text)
    assert main(["contract", "diff", str(base), str(head)]) == code
    assert rule in capsys.readouterr().out


def test_nested_fields_are_compared_but_never_queried_as_columns_of_their_own() -> None:
    from app.canary.quality import checks_for

    contract = parse_contract((REAL / JSON).read_text(), JSON)
    [dataset] = contract.datasets
    names = [c.name for c in dataset.columns]
    assert "array_test_string[]" in names and "array_test_object[].key" in names
    nested = {c.name for c in dataset.columns if c.parent is not None}
    assert {c.name for c in dataset.table_columns} == set(names) - nested
    assert {check.column for check in checks_for(dataset)} <= {c.name for c in dataset.table_columns} | {None}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # a logicalType declared while the physical type narrows: the narrowing still blocks
        (
            "        physicalType: bigint\n",
            "        logicalType: integer\n        physicalType: int\n",
            [("logical-type-changed", Impact.INFO), ("physical-type-narrowed", Impact.BREAKING)],
        ),
        (
            "        logicalType: string\n        physicalType: varchar(100)\n",
            "        physicalType: varchar(10)\n",
            [("logical-type-changed", Impact.UNKNOWN), ("physical-type-narrowed", Impact.BREAKING)],
        ),
    ],
)
def test_a_type_declared_or_dropped_beside_a_narrowing_still_reports_the_narrowing(
    old: str, new: str, expected: list[tuple[str, Impact]]
) -> None:
    doc = (
        "apiVersion: v3.1.0\nkind: DataContract\nid: o\nversion: 1.0.0\nstatus: active\nschema:\n"
        "  - name: orders\n    properties:\n      - name: c\n" + old
    )
    changes = diff_contracts(
        parse_contract(doc, "c"), parse_contract(doc.replace(old, new), "c"), dialect="postgres"
    )
    assert sorted((c.kind.value, c.impact) for c in changes) == sorted(expected)


def test_an_empty_text_semantics_value_filled_in_is_info() -> None:
    doc = (
        "apiVersion: v3.1.0\nkind: DataContract\nid: o\nversion: 1.0.0\nstatus: active\nschema:\n"
        "  - name: orders\n    properties:\n      - name: amount\n        logicalType: number\n"
        '        customProperties:\n          - property: unit\n            value: ""\n'
    )
    changes = diff_contracts(
        parse_contract(doc, "c"), parse_contract(doc.replace('value: ""', "value: EUR"), "c")
    )
    assert [(c.kind.value, c.impact) for c in changes] == [("semantics-changed", Impact.INFO)]


def test_an_unnamed_sql_rule_is_named_by_its_query_text() -> None:
    doc = (
        "apiVersion: v3.1.0\nkind: DataContract\nid: o\nversion: 1.0.0\nstatus: active\nschema:\n"
        "  - name: orders\n    quality:\n      - type: sql\n"
        "        query: SELECT count(*) FROM orders WHERE id IS NULL\n        mustBe: 0\n"
        "    properties:\n      - name: id\n        logicalType: integer\n"
    )
    [rule] = parse_contract(doc, "c").datasets[0].quality
    assert rule.key == "sql:SELECT count(*) FROM orders WHERE id IS NULL"
