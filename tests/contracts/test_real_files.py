"""Real ODCS files we did not write (tests/contracts/real, see its NOTICE): the examples of the standard and
every ODCS fixture of datacontract-cli. A file valid by the official schema of its own apiVersion validates
and diffs cleanly, also re-serialised; a mutated copy shows the expected change; an invalid file exits 2
at the offending line with what to do."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import main
from app.contracts.diff import diff_contracts
from app.contracts.parse import parse_contract
from app.contracts.rules import ChangeKind
from app.contracts.schema import SUPPORTED_VERSIONS, invalid_parts, odcs_validator
from app.project.yamldoc import load_yaml
from app.types import Impact

DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: the 200 KB files dump in ms, not s
REAL = Path(__file__).resolve().parent / "real"
FILES = sorted(p.relative_to(REAL).as_posix() for p in REAL.rglob("*") if p.suffix in (".yaml", ".yml"))
DC = "datacontract-cli/tests/fixtures/"

# Invalid by the schema of their own apiVersion (checked with jsonschema against the official schema of
# that version, dates read as text): the line of the first error and what the message says there.
INVALID = {
    # v3.0.2 file with 3.1 date bounds (a date where 3.0.2 wants a boolean exclusiveMinimum)
    "bitol/docs/examples/data-types/all-data-types.odcs.yaml": (
        25,
        "`exclusiveMinimum` must be of type boolean",
    ),
    # v3.0.2 files written in 3.1 syntax: `metric:` rules, `team` as a mapping
    "bitol/docs/examples/quality/column-completeness.odcs.yaml": (23, "missing required key `rule`"),
    "bitol/docs/examples/stakeholders/basic-four-dpo.odcs.yaml": (9, "`team` must be of type array"),
    DC + "athena-iceberg/iceberg_example.odcs.yaml": (12, "missing required key `staging_dir`"),
    DC + "azure-blob-file/datacontract.yaml": (18, "`logicalType` must be one of object; got 'blob'"),
    DC + "changelog/integration/changelog_integration_v2.yaml": (50, "`logicalType` must be one of string"),
    DC + "changelog/unit/changelog_unit_v1.yaml": (50, "missing required key `query`"),
    DC + "changelog/unit/changelog_unit_v2.yaml": (47, "missing required key `query`"),
    DC + "custom/export_model/datacontract.odcs.yaml": (16, "unknown key 'account'"),
    DC + "dbt/export/datacontract.odcs.yaml": (16, "unknown key 'account'"),
    DC + "excel/shipments-odcs.yaml": (35, "unknown key 'physicalName'"),
    DC + "lint/invalid.odcs.yaml": (1, "missing required key `status`"),
    DC + "lint/invalid_multiple_errors.odcs.yaml": (1, "missing required key `version`"),
    DC + "lint/invalid_multiple_schema_errors.odcs.yaml": (
        10,
        "`description` must be of type string; got None",
    ),
    DC + "lint/odcs_with_extra_top_level.yaml": (7, "unknown key 'change_management'"),
    DC + "lint/valid.odcs.yaml": (200, "`team` must be of type array; got a mapping (name, members)"),
    DC + "mysql/odcs.yaml": (17, "unknown key 'isNullable', 'isUnique'"),
    DC + "oracle/datacontract-oracle-odcs.yaml": (14, "`port` must be of type integer; got '__PORT__'"),
    DC + "postgres/odcs.yaml": (17, "unknown key 'isNullable', 'isUnique'"),
    DC + "postgres/odcs_case_sensitive.odcs.yaml": (17, "unknown key 'isNullable', 'isUnique'"),
    DC + "postgres/servicelevels.odcs.yaml": (17, "unknown key 'isNullable', 'isUnique'"),
    DC + "postgres-export-physical-name/datacontract.yaml": (7, "`team` must be of type array"),
    DC + "quality-dimensions/datacontract.yaml": (15, "missing required key `rule`"),
    DC + "quality-id/datacontract.yaml": (15, "missing required key `rule`"),
    DC + "quality-sql-dialects/impala.yaml": (14, "`type` must be one of api, athena"),
    DC + "redshift/odcs.yaml": (17, "unknown key 'isNullable', 'isUnique'"),
    DC + "row-filter/datacontract.yaml": (14, "missing required key `rule`"),
    DC + "schema-evolution/odcs-datacontract-cities-version-2.yaml": (64, "unknown key 'delimiter'"),
    DC + "snowflake/import/datacontract.yaml": (8, "missing required key `account`"),
}
VALID = [f for f in FILES if f not in INVALID]


@functools.cache
def _loaded(rel: str) -> Any:
    return load_yaml((REAL / rel).read_text(), rel, dates_as_text=True).data


def _data(rel: str) -> Any:
    """The file as data (dates as text), a fresh copy each time: tests mutate it."""
    return copy.deepcopy(_loaded(rel))


def _depth(props: Any) -> int:
    """How deep columns nest (`properties` in `properties`, array `items`)."""
    if not isinstance(props, list):
        return 0
    inner = [p.get("properties") for p in props if isinstance(p, dict)]
    inner += [
        p["items"].get("properties")
        for p in props
        if isinstance(p, dict) and isinstance(p.get("items"), dict)
    ]
    return 1 + max((_depth(i) for i in inner), default=0)


def _reversed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed(v) for v in value]
    return value


# the same document written again as other tools would: keys sorted in block style, and as JSON (YAML's
# subset) with keys reversed; the test also writes keys reversed in flow style, one line, via the CLI
RESERIALISED: dict[str, Callable[[Any], str]] = {
    "sorted-block": lambda d: yaml.dump(d, Dumper=DUMPER, sort_keys=True, default_flow_style=False),
    "json": lambda d: json.dumps(_reversed(d), indent=1, ensure_ascii=False),
}


def _flow(data: Any) -> str:
    return yaml.dump(_reversed(data), Dumper=DUMPER, sort_keys=False, default_flow_style=True, width=10**6)


def test_the_corpus_is_complete() -> None:
    """Every listed invalid file exists, and the corpus covers every supported version but the newest."""
    assert set(INVALID) <= set(FILES) and len(VALID) >= 70
    versions = {_data(f)["apiVersion"] for f in VALID}
    assert versions >= set(SUPPORTED_VERSIONS) - {"v3.2.0"}
    assert (REAL / "bitol/LICENSE").is_file() and (REAL / "datacontract-cli/LICENSE").is_file()


@pytest.mark.parametrize("rel", VALID)
def test_valid_real_file_validates_and_diffs_cleanly(
    rel: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no datacanary.yml policy from the working directory
    path = str(REAL / rel)
    assert main(["contract", "validate", path]) == 0
    assert "1 valid, 0 invalid" in capsys.readouterr().out
    assert main(["contract", "diff", path, path, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "pass" and report["gates"][0]["findings"] == []
    text = (REAL / rel).read_text()
    contract = parse_contract(text, rel)
    data = _data(rel)
    for style, dump in RESERIALISED.items():
        again = parse_contract(dump(data), rel)
        assert diff_contracts(contract, again) == [], style
        assert [d.name for d in again.datasets] == [d.name for d in contract.datasets], style
    # re-serialised through the CLI too: the file a formatter would write diffs clean against the original
    (tmp_path / "again.odcs.yaml").write_text(_flow(data))
    assert main(["contract", "diff", path, str(tmp_path / "again.odcs.yaml")]) == 0


@pytest.mark.parametrize("rel", sorted(INVALID))
def test_invalid_real_file_exits_2_at_the_offending_line(
    rel: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line, says = INVALID[rel]
    path = str(REAL / rel)
    assert main(["contract", "validate", path]) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"invalid  {path}:{line}: ") and says in out
    assert f"ODCS {_data(rel)['apiVersion']} schema" in out
    assert "\n  hint: " in out and "Traceback" not in out and "$defs" not in out
    assert "0 valid, 1 invalid" in out


def test_a_file_in_a_newer_version_s_syntax_is_told_which_version_accepts_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        main(
            ["contract", "validate", str(REAL / "bitol/docs/examples/quality/column-completeness.odcs.yaml")]
        )
        == 2
    )
    assert "set `apiVersion: v3.1.0`" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "says", "hint"),
    [
        (
            "        mustBeLessThan: 5000000\n",
            "a quality rule takes one comparison, this one has 2 (mustBeGreaterThan, mustBeLessThan)",
            "`mustBeBetween: [1000000, 5000000]`",
        ),
        (
            "        mustBe: 0\n",
            "a quality rule takes one comparison, this one has 2 (mustBeGreaterThan, mustBe)",
            "keep one of them",
        ),
    ],
)
def test_a_quality_rule_with_two_comparisons_is_told_to_keep_one(
    extra: str, says: str, hint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the standard's full example, its rowCount rule given a second bound: a range written as two keys
    text = (REAL / "bitol/docs/examples/all/full-example.odcs.yaml").read_text()
    rule = "        mustBeGreaterThan: 1000000\n"
    path = tmp_path / "full.odcs.yaml"
    path.write_text(text.replace(rule, rule + extra, 1))
    assert main(["contract", "validate", str(path)]) == 2
    out = capsys.readouterr().out
    line = text.splitlines().index("      - metric: rowCount") + 1
    assert out.startswith(f"invalid  {path}:{line}: schema[0].quality[0]: {says}")
    assert hint in out and "is valid under each of" not in out


def test_diff_with_an_invalid_real_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    good = str(REAL / DC / "lint/valid-3.1.0.odcs.yaml")
    bad = str(REAL / DC / "lint/odcs_with_extra_top_level.yaml")
    assert main(["contract", "diff", good, bad]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:7: (top level): unknown key 'change_management'" in err and "hint:" in err


# Full-document validation re-walks nested columns per `unevaluatedProperties` level: deeper files take
# seconds to minutes (product_detail: 395 s), and the two 200 KB adventureworks files 4-7 s each on a
# loaded machine, so the cross-check runs on the others (their verdicts are asserted above).
SHALLOW = [
    f
    for f in FILES
    if (REAL / f).stat().st_size < 100_000
    and max((_depth(o.get("properties")) for o in _data(f).get("schema") or []), default=0) <= 2
]


@pytest.mark.parametrize("rel", SHALLOW)
def test_level_by_level_validation_agrees_with_the_full_schema(rel: str) -> None:
    data = _data(rel)
    version = data["apiVersion"]
    assert (not invalid_parts(data, version)) == odcs_validator(version).is_valid(data)
    assert (not invalid_parts(data, version)) == (rel not in INVALID)


# --- mutated copies: the change a producer makes is the change datacanary reports -----------------------


Pair = tuple[dict[str, Any], dict[str, Any]]


def _column(data: dict[str, Any], want: Callable[[dict[str, Any]], bool]) -> tuple[int, int] | None:
    """(dataset, column) index of the first top-level column `want` accepts."""
    for i, obj in enumerate(data.get("schema") or []):
        for j, prop in enumerate(obj.get("properties") or []):
            if isinstance(prop, dict) and want(prop):
                return i, j
    return None


def _pair(
    data: dict[str, Any],
    want: Callable[[dict[str, Any]], bool],
    base: Callable[[dict[str, Any]], Any],
    head: Callable[[dict[str, Any]], Any],
) -> Pair | None:
    """Two copies of `data` whose first column that `want` accepts is edited by `base` and by `head`."""
    at = _column(data, want)
    if at is None:
        return None
    i, j = at
    old, new = copy.deepcopy(data), copy.deepcopy(data)
    base(old["schema"][i]["properties"][j])
    head(new["schema"][i]["properties"][j])
    return old, new


def _is_text(p: dict[str, Any]) -> bool:
    return p.get("logicalType", "string") == "string" and not p.get("properties") and "items" not in p


def _allowed_values(version: str, values: list[str]) -> dict[str, Any]:
    """An allowed-values rule in the spelling of `version` (3.0: `rule: validValues`)."""
    if version.startswith("v3.0"):
        return {"type": "library", "rule": "validValues", "validValues": values, "mustBe": 0}
    return {"metric": "invalidValues", "mustBe": 0, "arguments": {"validValues": values}}


def _removed(data: dict[str, Any]) -> Pair | None:
    at = _column(data, lambda p: True)
    if at is None:
        return None
    head = copy.deepcopy(data)
    del head["schema"][at[0]]["properties"][at[1]]
    return data, head


def _narrowed(data: dict[str, Any]) -> Pair | None:
    return _pair(
        data,
        _is_text,
        lambda c: c.update(physicalType="varchar(100)"),
        lambda c: c.update(physicalType="varchar(10)"),
    )


def _relaxed(data: dict[str, Any]) -> Pair | None:
    return _pair(
        data,
        lambda p: not p.get("primaryKey"),
        lambda c: c.update(required=True),
        lambda c: c.update(required=False),
    )


def _enum(values: list[str]) -> Callable[[dict[str, Any]], Pair | None]:
    def mutate(data: dict[str, Any]) -> Pair | None:
        version = data["apiVersion"]
        return _pair(
            data,
            lambda p: _is_text(p) and not p.get("quality"),
            lambda c: c.update(quality=[_allowed_values(version, ["placed", "shipped", "cancelled"])]),
            lambda c: c.update(quality=[_allowed_values(version, values)]),
        )

    return mutate


MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], Any], ChangeKind, Impact]] = {
    "column removed": (_removed, ChangeKind.COLUMN_REMOVED, Impact.BREAKING),
    "type narrowed": (_narrowed, ChangeKind.PHYSICAL_TYPE_NARROWED, Impact.BREAKING),
    "required relaxed": (_relaxed, ChangeKind.REQUIRED_RELAXED, Impact.BREAKING),
    "enum value added": (
        _enum(["placed", "shipped", "cancelled", "lost"]),
        ChangeKind.ENUM_VALUE_ADDED,
        Impact.BREAKING,
    ),
    # CONTRACT_CHANGES: readers of a closed set still understand every value that is left
    "enum value removed": (_enum(["placed", "shipped"]), ChangeKind.ENUM_VALUE_REMOVED, Impact.COMPATIBLE),
}


def _mutation_cases() -> list[Any]:
    """For each mutation, the first file it applies to from each project and ODCS version: every
    version's spelling (3.0 `rule: validValues`, 3.1 `metric: invalidValues`) from both projects."""
    cases = []
    for name, (mutate, _, _) in MUTATIONS.items():
        seen: set[tuple[str, str]] = set()
        for rel in VALID:
            data = _data(rel)
            group = (rel.split("/", 1)[0], data["apiVersion"])
            if group not in seen and mutate(data) is not None:
                seen.add(group)
                cases.append(pytest.param(rel, name, id=f"{rel}-{name}"))
    return cases


@pytest.mark.parametrize(("rel", "mutation"), _mutation_cases())
def test_mutated_real_file_shows_the_expected_change(rel: str, mutation: str, tmp_path: Path) -> None:
    mutate, kind, impact = MUTATIONS[mutation]
    pair = mutate(_data(rel))
    base, head = (parse_contract(yaml.dump(d, Dumper=DUMPER, sort_keys=False), rel) for d in pair)
    changes = diff_contracts(base, head)
    found = [c for c in changes if c.kind is kind]
    assert found and all(c.impact is impact for c in found), [c.kind.value for c in changes]
    assert found[0].location is not None and found[0].location.path == rel
