"""The audit of a written table against its contract (app.runs.audit.run_checks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from app.contracts.model import Column, Dataset, QualityRule
from app.runs.audit import run_checks
from app.runs.envdb import open_env


@pytest.fixture
def conn() -> Iterator[Any]:
    con = duckdb.connect()
    con.execute("CREATE TABLE main.t AS SELECT * FROM (VALUES ('1', 5), ('2', NULL), ('x', 9)) v(s, n)")
    yield con
    con.close()


def test_a_mistyped_rule_fails_alone_and_the_other_checks_still_count(conn: Any) -> None:
    mistyped = QualityRule(
        "enum", "library", "invalidValues", "mustBe", 0, arguments=(("validValues", (1, 2)),)
    )
    ds = Dataset("t", columns=(Column("s", quality=(mistyped,)), Column("n", required=True)))
    r = {c.check.name: c for c in run_checks(conn, ds, "main.t")}
    assert r["s enum"].passed is None and "Conversion Error" in (r["s enum"].error or "")
    assert r["n required"].observed == 1 and r["n required"].passed is False


def test_a_sql_rule_cannot_read_a_file_by_shadowing_it_with_a_cte(conn: Any, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("s\nTOPSECRET\n")
    peek = QualityRule(
        "peek",
        "sql",
        operator="mustBe",
        value=0,
        query=f'select count(*) from (with "{secret}" as (select 1 a) select * from t) s, "{secret}" f '
        "where f.s = 'TOPSECRET'",
    )
    (result,) = run_checks(conn, Dataset("t", quality=(peek,)), "main.t")
    assert result.observed is None and "reads a file" in (result.error or "")


def test_the_environment_connection_cannot_read_files_or_be_unlocked(tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("s\nTOPSECRET\n")
    conn = open_env(tmp_path / "env.duckdb")
    try:
        conn.execute("CREATE TABLE t AS SELECT 1 AS x")  # the run still writes its own database
        with pytest.raises(duckdb.PermissionException):
            conn.execute(f"SELECT * FROM read_csv('{secret}')")
        with pytest.raises(duckdb.Error, match="locked"):
            conn.execute("SET enable_external_access = true")
    finally:
        conn.close()
