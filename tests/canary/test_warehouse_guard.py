"""On a warehouse there is no DuckDB lockdown behind the static check: it must refuse what PostgreSQL
and Spark offer a SELECT to reach outside the sample (files, other servers, settings, SQL as text)."""

from __future__ import annotations

import pytest

from app.canary.guard import screen


@pytest.mark.parametrize(
    ("sql", "dialect", "why"),
    [
        ("select pg_read_file('/etc/passwd') as x", "postgres", "reads a file"),
        ("select lo_import('/etc/passwd') as x", "postgres", "reads a file"),
        ("select * from dblink('host=evil', 'select 1') as t(a int)", "postgres", "reaches the network"),
        ("select set_config('statement_timeout', '0', false) as x", "postgres", "changes an engine setting"),
        ("select query_to_xml('select * from salaries', true, true, '') as x", "postgres", "runs SQL"),
        ("select pg_terminate_backend(1) as x", "postgres", "acts on the server"),
        ("select reflect('java.lang.Runtime', 'getRuntime') as x", "spark", "calls Java code"),
        ("select java_method('java.lang.System', 'exit', 1) as x", "spark", "calls Java code"),
    ],
)
def test_warehouse_functions_that_reach_outside_are_refused(sql: str, dialect: str, why: str) -> None:
    refusal = screen(sql, dialect)
    assert refusal is not None and why in refusal.reason


def test_ordinary_functions_pass() -> None:
    assert screen("select lower(a) as a, log(b) as b, lpad(c, 3, '0') as c from t", "postgres") is None
