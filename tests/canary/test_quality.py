"""Contract quality rules evaluated on a table, and the static refusals of the sandbox's first wall."""

from __future__ import annotations

import pytest

from app.canary import exprs as q
from app.canary.compile import CompileProblem, compile_query, name_resolver
from app.canary.quality import QualityResult, checks_for, evaluate, scan_sql
from app.canary.run import run_quality
from app.canary.runner import Sandbox
from app.contracts.model import Column, Dataset, QualityRule
from tests.canary.conftest import make_table


def _results(db: Sandbox, dataset: Dataset) -> dict[str, QualityResult]:
    db.create_schema("head")
    out = run_quality(db, dataset, "t", {"t": ("head", "t")}, "duckdb", 5.0)
    return {r.check.name: r for r in out}


@pytest.fixture
def table(db: Sandbox) -> Sandbox:
    db.create_schema("head")
    db.execute("CREATE TABLE head.t (id INTEGER, status VARCHAR, amount DOUBLE, code VARCHAR)")
    db.conn.executemany(
        "INSERT INTO head.t VALUES (?, ?, ?, ?)",
        [
            (1, "paid", 10.0, "AB"),
            (2, "paid", -1.0, "ABC"),
            (2, "weird", None, "ab"),
            (3, None, 5.0, ""),
        ],
    )
    return db


def test_schema_implied_rules(table: Sandbox) -> None:
    ds = Dataset(
        "t",
        columns=(
            Column("id", primary_key=True),
            Column("status", required=True, allowed_values=("paid", "new")),
            Column("amount", options=(("minimum", 0),)),
            Column("code", options=(("maxLength", 2), ("pattern", "[A-Z]+"))),
        ),
    )
    r = _results(table, ds)
    assert r["id required"].passed is True
    assert r["primary key (id) unique"].observed == 1 and r["primary key (id) unique"].passed is False
    assert r["status required"].observed == 1
    assert r["status allowed values"].observed == 1  # 'weird'; NULL is not an invalid value
    assert r["amount minimum"].observed == 1
    assert r["code maxLength"].observed == 1
    assert r["code pattern"].observed == 2  # 'ab' and ''


@pytest.mark.parametrize(
    ("options", "name", "observed"),
    [
        # ODCS 3.0's boolean form: the bound itself is exclusive, so 10.0 (and 5.0) break it
        ((("maximum", 10), ("exclusiveMaximum", True)), "amount maximum (exclusive)", 1),
        ((("minimum", 5), ("exclusiveMinimum", True)), "amount minimum (exclusive)", 2),
        ((("maximum", 10), ("exclusiveMaximum", False)), "amount maximum", 0),
        # ODCS 3.1's form: the exclusive bound is the number
        ((("exclusiveMaximum", 10),), "amount exclusiveMaximum", 1),
    ],
)
def test_exclusive_bounds_in_both_odcs_forms(
    table: Sandbox, options: tuple[tuple[str, object], ...], name: str, observed: int
) -> None:
    r = _results(table, Dataset("t", columns=(Column("id"), Column("amount", options=options))))
    assert r[name].observed == observed
    assert not any("exclusive" in n and n != name for n in r)  # a boolean is not a bound of its own


def test_library_rules_with_operators_and_percent(table: Sandbox) -> None:
    ds = Dataset(
        "t",
        columns=(
            Column(
                "amount",
                quality=(QualityRule("nulls", "library", "nullValues", "mustBeLessThan", 30, "percent"),),
            ),
            Column(
                "status",
                quality=(
                    QualityRule(
                        "missing",
                        "library",
                        "missingValues",
                        "mustBe",
                        0,
                        arguments=(("missingValues", ("", "n/a")),),
                    ),
                ),
            ),
        ),
        quality=(
            QualityRule("rows", "library", "rowCount", "mustBeBetween", (5, 10)),
            QualityRule(
                "dups",
                "library",
                "duplicateValues",
                "mustBe",
                0,
                arguments=(("properties", ("id", "status")),),
            ),
        ),
    )
    r = _results(table, ds)
    assert r["amount nulls"].observed == 25.0 and r["amount nulls"].passed
    assert r["status missing"].observed == 1 and not r["status missing"].passed
    assert r["rows"].observed == 4 and r["rows"].passed is False
    assert r["dups (id, status)"].passed is True


def test_sql_rule_runs_in_the_sandbox(table: Sandbox) -> None:
    ok = QualityRule(
        "neg", "sql", operator="mustBe", value=0, query="select count(*) from {object} where amount < 0"
    )
    bad = QualityRule(
        "peek", "sql", operator="mustBe", value=0, query="select count(*) from read_csv('/etc/passwd')"
    )
    r = _results(table, Dataset("t", quality=(ok, bad)))
    assert r["neg"].observed == 1 and r["neg"].passed is False
    assert r["peek"].passed is None and "read_csv" in (r["peek"].error or "")


def test_explicit_rule_replaces_the_implied_one() -> None:
    ds = Dataset(
        "t",
        columns=(
            Column(
                "id",
                required=True,
                quality=(
                    QualityRule(
                        "nullValues", "library", "nullValues", "mustBeLessThan", 5, severity="warning"
                    ),
                ),
            ),
        ),
    )
    (check,) = checks_for(ds)
    assert (check.operator, check.severity) == ("mustBeLessThan", "warning")


def test_scan_sql_is_one_query(db: Sandbox) -> None:
    make_table(db, "x", [("a", "INTEGER")], [(1,), (None,)])
    checks = checks_for(Dataset("x", columns=(Column("a", required=True, unique=True),)))
    row = db.query(scan_sql(q.table("x"), checks))[0]
    assert row["rows"] == 2 and evaluate(checks[0], row["q0"], 2).observed == 1


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("select * from read_csv('/etc/passwd')", "read_csv"),
        ("select * from t where x in (select * from read_parquet('s3://b/k'))", "read_parquet"),
        ("select getenv('HOME')", "getenv"),
        ("select * from glob('/etc/*')", "glob"),
        ("select * from query('select 1')", "query"),
        ("copy t to '/tmp/x.csv'", "COPY"),
        ("attach 'x.duckdb' as x", "attaches a database"),
        ("install httpfs", "installs an extension"),
        ("load httpfs", "loads an extension"),
        ("set threads = 8", "SET"),
        ("pragma database_list", "PRAGMA"),
        ("select 1; select 2", "second statement"),
        ("select * from '/etc/hosts.csv'", "reads a file"),
        ("export database '/tmp/dump'", "EXPORT"),
        ("create secret (type s3, key_id 'k')", "CREATE"),
        ("-- harmless\nCALL pragma_version()", "CALL"),
    ],
)
def test_dangerous_sql_is_refused_before_it_runs(sql: str, words: str) -> None:
    with pytest.raises(CompileProblem) as info:
        compile_query(sql, path="models/m.sql", dialect="duckdb", resolve=name_resolver({"t": ("head", "t")}))
    assert info.value.kind == "refused" and words in info.value.message
    assert info.value.location.path == "models/m.sql"


def test_table_references_are_rewritten_with_sqlglot() -> None:
    out = compile_query(
        "with t as (select 1 as a) select o.a from Orders o join t using (a) join stg using (a)",
        path="m.sql",
        dialect="duckdb",
        resolve=name_resolver({"orders": ("source", "orders"), "stg": ("head", "stg")}),
    )
    assert '"source"."orders" AS o' in out.sql and '"head"."stg" AS "stg"' in out.sql and "JOIN t " in out.sql
    assert q.sql(q.table("stg", "head")) == '"head"."stg"'


def test_a_null_in_valid_values_allows_null_and_still_counts_the_other_values(table: Sandbox) -> None:
    rule = QualityRule(
        "enum", "library", "invalidValues", "mustBe", 0, arguments=(("validValues", ("paid", None)),)
    )
    only_null = QualityRule(
        "none", "library", "invalidValues", "mustBe", 0, arguments=(("validValues", (None,)),)
    )
    r = _results(
        table, Dataset("t", columns=(Column("status", quality=(rule,)), Column("code", quality=(only_null,))))
    )
    assert r["status enum"].observed == 1 and r["status enum"].passed is False  # 'weird'
    assert r["code none"].observed == 4  # nothing but NULL is valid


def test_a_mistyped_rule_fails_alone_and_the_other_checks_still_count(table: Sandbox) -> None:
    mistyped = QualityRule(
        "enum", "library", "invalidValues", "mustBe", 0, arguments=(("validValues", (1, 2)),)
    )
    ds = Dataset("t", columns=(Column("id", required=True), Column("status", quality=(mistyped,))))
    r = _results(table, ds)
    assert r["status enum"].passed is None and "cannot run" in (r["status enum"].error or "")
    assert "Conversion Error" in (r["status enum"].error or "")
    assert r["id required"].observed == 0 and r["id required"].passed is True
