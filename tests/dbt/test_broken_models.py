"""One bad model never takes the dbt gate down: a model that cannot be parsed, rendered or ordered, a
model file gone or unreadable, a seed that does not load, each is a finding (or a note) of its own, and
every other model still gets its verdict and canary. Small dbt projects in real git repositories, with
manifests in dbt's shape built here (dbt itself is not needed)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from app.dbt.manifest import parse_manifest
from app.dbt.project import build_project
from app.errors import ProjectError
from app.gate.result import RunReport
from app.pipeline import run_check
from app.project.dbt import load_dbt
from app.project.tree import MemoryTree
from app.sql.analyze import analyze
from tests.dbt.conftest import _git, _write, column, manifest_doc, model, rel

Files = dict[str, str | bytes]

ORDERS = "select 1 as order_id, 'placed' as status union all select 2 as order_id, 'shipped' as status"
STG = f"select order_id, status from {rel('orders')}"
FCT = f"select order_id from {rel('stg')}"


def _node(name: str, sql: str, *, depends: tuple[str, ...] = (), compiled: bool = True) -> tuple[str, dict]:
    """A model node whose checksum matches `sql` as its file's text (dbt: sha256 of the stripped text)."""
    uid, node = model(name, sql, depends=depends, compiled=compiled)
    node["checksum"] = {"name": "sha256", "checksum": hashlib.sha256(sql.strip().encode()).hexdigest()}
    return uid, node


def _test(name: str, node: str, col: str) -> tuple[str, dict]:
    """dbt's generic test `name` (unique, not_null) on `node`.`col`."""
    uid = f"test.shop.{name}_{node}_{col}"
    return uid, {
        "resource_type": "test",
        "unique_id": uid,
        "name": f"{name}_{node}_{col}",
        "attached_node": f"model.shop.{node}",
        "column_name": col,
        "config": {"severity": "ERROR"},
        "test_metadata": {"name": name, "namespace": None, "kwargs": {"column_name": col}},
        "depends_on": {"nodes": [f"model.shop.{node}"]},
    }


def _project(*nodes: tuple[str, dict], extra: Files | None = None) -> Files:
    """dbt_project.yml, each model's file (its raw code) and target/manifest.json."""
    files: Files = {"dbt_project.yml": "name: shop\nversion: '1.0'\n"}
    for _, node in nodes:
        if node["resource_type"] == "model":
            files[node["original_file_path"]] = node["raw_code"]  # python models too
    files["target/manifest.json"] = json.dumps(manifest_doc(*nodes))
    return {**files, **(extra or {})}


def _repo(root: Path, base: Files, head: Files) -> Path:
    """A repository with `base` committed on main, then `head` (the whole tree) on top."""
    _git(root, "init", "-q", "-b", "main")
    for label, files in (("base", base), ("head", head)):
        for p in root.iterdir():
            if p.name != ".git":
                _git(root, "rm", "-q", "-r", "--ignore-unmatch", p.name)
        _write(root, files, "")
        _git(root, "add", "-A")
        _git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", label)
    return root


def _check(root: Path, base: Files, head: Files) -> RunReport:
    return run_check(_repo(root, base, head), "HEAD~1", "HEAD", today=dt.date(2026, 1, 15))


def _base_nodes() -> list[tuple[str, dict]]:
    return [
        _node("orders", ORDERS),
        _node("stg", STG, depends=("orders",)),
        _node("fct", FCT, depends=("stg",)),
        _node("other", "select 1 as x"),
    ]


def _canaried(report: RunReport) -> dict[str, str]:
    assert report.canary is not None
    return {m.name: m.head.status for m in report.canary.models}


# --- A, B: an unparseable changed model is in the canary, its readers skipped by name -----------------


def _python_model(name: str) -> tuple[str, dict]:
    uid, node = model(name, "def model(dbt, session):\n    return session.sql('select 1 as id')\n")
    node.update(language="python", original_file_path=f"models/{name}.py")
    node["columns"] = {"id": column("id", "integer")}
    return uid, node


@pytest.fixture(scope="module")
def unparseable_stg(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    # canary keys from unique + not_null tests: on stg (broken in head) and on a python model
    tests = [_test(t, m, c) for t in ("unique", "not_null") for m, c in (("stg", "order_id"), ("py", "id"))]
    broken = f"{STG}\nwhere status in (((\n"
    head = [
        _node("orders", ORDERS),
        _node("stg", broken, depends=("orders",)),
        _node("fct", FCT, depends=("stg",)),
        _node("other", "select 2 as x"),
        _python_model("py"),
    ]
    base = [*_base_nodes(), _python_model("py")]
    return _check(tmp_path_factory.mktemp("unparseable"), _project(*base, *tests), _project(*head, *tests))


def test_a_changed_unparseable_model_is_canaried_so_its_readers_are_skipped_by_name(
    unparseable_stg: RunReport,
) -> None:
    invalid = [f for f in unparseable_stg.findings if f.rule == "sql-invalid"]
    assert [(f.dataset, f.location.path if f.location else None) for f in invalid] == [
        ("stg", "models/stg.sql")
    ]
    canary = unparseable_stg.gate("canary")
    assert canary is not None and canary.skipped_reason is None
    skipped = [f for f in canary.findings if f.rule == "canary-skipped"]
    assert [f.dataset for f in skipped] == ["fct"]
    assert "not checked: upstream stg is broken (models/stg.sql:2" in skipped[0].message
    assert _canaried(unparseable_stg) == {"fct": "skipped", "other": "built"}


def test_keys_dbt_s_tests_give_are_not_judged_as_canary_keys_entries(unparseable_stg: RunReport) -> None:
    # stg's and py's unique + not_null tests make their canary keys; nobody wrote a canary.keys entry
    assert not [f for f in unparseable_stg.findings if f.rule == "canary-unknown-name"]


def test_a_key_written_for_a_broken_model_is_no_unknown_name(tmp_path: Path) -> None:
    config = {"datacanary.yml": "canary:\n  keys:\n    stg: [order_id]\n    gone: [id]\n"}
    head = [
        _node("orders", ORDERS),
        _node("stg", f"{STG}\nwhere status in (((\n", depends=("orders",)),
        _node("other", "select 2 as x"),
    ]
    report = _check(tmp_path, _project(*_base_nodes(), extra=config), _project(*head, extra=config))
    unknown = [f.message for f in report.findings if f.rule == "canary-unknown-name"]
    assert len(unknown) == 1 and "'gone'" in unknown[0]  # stg exists: it is broken, with its own finding


# --- C: a ref cycle ------------------------------------------------------------------------------------


def test_the_models_of_a_cycle_are_findings_and_the_rest_is_still_checked(tmp_path: Path) -> None:
    head = [
        _node("orders", ORDERS),
        _node("stg", f"select order_id, status from {rel('fct')}", depends=("fct",)),
        _node("fct", FCT, depends=("stg",)),
        _node("other", "select 2 as x"),
    ]
    report = _check(tmp_path, _project(*_base_nodes()), _project(*head))
    cycle = {(f.dataset, str(f.location)) for f in report.findings if "cycle" in f.message}
    assert cycle == {("stg", "models/stg.sql:1"), ("fct", "models/fct.sql:1")}
    assert all(f.blocking for f in report.findings if "cycle" in f.message)
    assert _canaried(report)["other"] == "built"
    assert {v.model for v in report.models} == {"stg", "other"}  # fct's own SQL did not change


def test_a_lenient_analysis_leaves_a_cycle_out_and_analyses_its_readers() -> None:
    nodes = [
        _node("a", f"select id from {rel('b')}", depends=("b",)),
        _node("b", f"select id from {rel('a')}", depends=("a",)),
        _node("reader", f"select id from {rel('a')}", depends=("a",)),
        _node("alone", "select 1 as id"),
    ]
    manifest = parse_manifest(json.dumps(manifest_doc(*nodes)), "target/manifest.json")
    project = build_project(manifest, root="", label="head", read=lambda p: None).project
    with pytest.raises(ProjectError, match="cycle"):
        analyze(project)
    an = analyze(project, strict=False)
    assert set(an.broken) == {"a", "b"} and "b -> a -> b" in an.broken["b"].error.message
    assert set(an.models) == {"reader", "alone"}  # reads a by its columns: analysed, types unknown


# --- G, E: the stale-manifest note names files gone or unreadable --------------------------------------


def test_a_model_file_deleted_under_a_stale_manifest_is_named_in_the_notes() -> None:
    files = _project(*_base_nodes())
    del files["models/stg.sql"]  # its readers still ref() it; `dbt compile` would fail
    notes = load_dbt(MemoryTree(files, label="head")).notes
    assert any("models/stg.sql (not in the revision)" in n and "dbt compile" in n for n in notes)


def test_a_manifest_read_without_its_tree_does_not_call_every_model_deleted() -> None:
    manifest = parse_manifest(json.dumps(manifest_doc(*_base_nodes())), "target/manifest.json")
    assert not build_project(manifest, root="", label="m", read=lambda p: None).notes


def test_a_model_file_that_is_not_utf8_is_named_in_the_notes_not_the_end_of_the_run() -> None:
    files = _project(*_base_nodes())
    files["models/fct.sql"] = b"-- caf\xe9\n" + FCT.encode()
    notes = load_dbt(MemoryTree(files, label="head")).notes
    assert any("models/fct.sql (not UTF-8)" in n for n in notes)


# --- D: a `dbt parse` manifest with Jinja beyond ref/source/config in one model ----------------------------


def test_a_model_whose_jinja_cannot_be_rendered_is_a_finding_at_its_line(tmp_path: Path) -> None:
    loop = (
        "select\n    count(*) as n,\n"
        "    {% for s in ['placed', 'shipped'] %} count(*) as n_{{ s }}, {% endfor %}\n"
        "    1 as one\nfrom {{ ref('orders') }}\n"
    )
    head = [
        _node("orders", ORDERS, compiled=False),
        _node("stg", "select order_id, status from {{ ref('orders') }}", depends=("orders",), compiled=False),
        _node("fct", "select order_id from {{ ref('stg') }}", depends=("stg",), compiled=False),
        _node("other", "select 2 as x", compiled=False),
        _node("counts", loop, depends=("orders",), compiled=False),
        _node("reader", "select n from {{ ref('counts') }}", depends=("counts",), compiled=False),
    ]
    report = _check(tmp_path, _project(*_base_nodes()), _project(*head))  # head: from `dbt parse`
    hit = [f for f in report.findings if f.dataset == "counts" and f.gate == "contracts"]
    assert len(hit) == 1 and "more than ref/source/config" in hit[0].message
    assert str(hit[0].location) == "models/counts.sql:3" and "dbt compile" in (hit[0].hint or "")
    assert _canaried(report)["other"] == "built"
    skipped = [f for f in report.findings if f.rule == "canary-skipped" and f.dataset == "reader"]
    assert skipped and "not checked: upstream counts is broken (models/counts.sql:3)" in skipped[0].message


def test_commands_that_need_every_model_still_stop_at_the_unrendered_one() -> None:
    files = _project(*_base_nodes(), _node("n", "select {{ var('n', 1) }} as n", compiled=False))
    built = load_dbt(MemoryTree(files))
    with pytest.raises(ProjectError, match="more than ref/source/config"):
        built.strict_project()
    assert built.project.models["n"].sql.startswith("-- ")  # check: left out of the analysis


# --- F: a seed row that does not fit its column's type -------------------------------------------------


def _seed(name: str) -> tuple[str, dict]:
    uid = f"seed.shop.{name}"
    return uid, {
        "resource_type": "seed",
        "unique_id": uid,
        "name": name,
        "package_name": "shop",
        "original_file_path": f"seeds/{name}.csv",
        "database": "warehouse",
        "schema": "analytics",
        "alias": name,
        "relation_name": rel(name),
        "config": {"enabled": True},
        "columns": {},
    }


ROWS = [f"{i},2024-01-{i % 28 + 1:02d}" for i in range(1, 151)]
SEEDS = {
    # past the rows dbt (and datacanary) infer the column types from: DuckDB names the line
    "a-row-that-does-not-fit": ("id,ordered_on\n" + "".join(f"{r}\n" for r in ROWS), "151,not-a-date\n", 152),
    # a row appended with another line ending: DuckDB cannot tell the file's CSV dialect
    "mixed-line-endings": ("id,ordered_on\r\n" + "".join(f"{r}\r\n" for r in ROWS), "151,2024-02-01\n", None),
}


@pytest.mark.parametrize("case", sorted(SEEDS))
def test_a_seed_that_does_not_load_is_a_finding_at_its_file_and_the_rest_is_checked(
    case: str, tmp_path: Path
) -> None:
    good, appended, line = SEEDS[case]
    nodes = [
        _seed("raw"),
        _node("from_seed", f"select id, ordered_on from {rel('raw')}", depends=("raw",)),
        *_base_nodes(),
    ]
    head = [*nodes[:-1], _node("other", "select 2 as x")]
    base_files, head_files = {"seeds/raw.csv": good}, {"seeds/raw.csv": good + appended}
    report = _check(tmp_path, _project(*nodes, extra=base_files), _project(*head, extra=head_files))
    assert report.gate("contracts") is not None
    hit = [f for f in report.findings if f.rule == "canary-source-invalid"]
    assert len(hit) == 1 and hit[0].blocking and hit[0].dataset == "raw"
    assert hit[0].location is not None and (hit[0].location.path, hit[0].location.line) == (
        "seeds/raw.csv",
        line,
    )
    assert "from_seed" in hit[0].message and "<path outside the project>" not in hit[0].message
    assert _canaried(report)["other"] == "built"
