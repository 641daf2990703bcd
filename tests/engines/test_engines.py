"""The engine layer's shared parts: no credential in any message, SQL transpiled once per dialect."""

from __future__ import annotations

import pytest

from app.engines import EngineError, check_kind, redact, transpile
from app.errors import DatacanaryError


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("postgresql://ana:s3cr3t@db.example:5432/wh", "s3cr3t"),
        ("connection to postgres://u:p%40ss@host/db failed", "p%40ss"),
        ("host=db user=ana password=s3cr3t dbname=wh", "s3cr3t"),
        ("host=db password='two words' dbname=wh", "two words"),
    ],
)
def test_no_password_survives_redaction(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and "***" in out
    err = EngineError("postgres", f"cannot connect to {text}", hint=f"check {text}")
    assert secret not in err.render() and err.render().startswith("postgres: ")


def test_generated_duckdb_sql_is_transpiled_to_each_engine() -> None:
    sql = "SELECT COUNT(*) FILTER (WHERE a IS DISTINCT FROM b) AS n, list_value(1, 2) AS l FROM t"
    assert transpile(sql, "duckdb") == sql
    assert "FILTER(WHERE" in transpile(sql, "postgres").replace(" (", "(")
    assert "ARRAY(1, 2)" in transpile(sql, "spark")


def test_an_unknown_engine_names_the_known_ones() -> None:
    with pytest.raises(DatacanaryError, match="duckdb, postgres, spark"):
        check_kind("snowflake")
