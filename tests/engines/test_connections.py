"""Each engine on a real server: it answers queries and describes tables, and a missing table, an
unreachable server or a missing privilege is an EngineError naming the engine, with no password."""

from __future__ import annotations

import socket

import pytest

from app.engines import EngineError, connect
from app.engines.postgres import PostgresEngine
from app.engines.spark import SparkEngine


def test_postgres_runs_queries_and_describes_tables(postgres_url: str) -> None:
    pg = connect("postgres", {"DATACANARY_POSTGRES_URL": postgres_url})
    try:
        pg.execute('CREATE TABLE "Orders" (id bigint PRIMARY KEY, amount numeric(10, 2), at timestamptz)')
        pg.execute('INSERT INTO "Orders" VALUES (1, 9.50, now()), (2, 1.25, now())')
        assert pg.query('SELECT count(*) AS n, sum(amount) AS total FROM "Orders"') == [
            {"n": 2, "total": pytest.approx(10.75)}
        ]
        assert pg.columns('public."Orders"') == [
            ("id", "bigint"),
            ("amount", "numeric(10,2)"),
            ("at", "timestamp with time zone"),
        ]
    finally:
        pg.close()


def test_postgres_missing_table_names_engine_and_server(postgres_url: str) -> None:
    pg = PostgresEngine(postgres_url)
    try:
        with pytest.raises(EngineError) as caught:
            pg.query("SELECT * FROM nowhere.orders")
        assert caught.value.render().startswith("postgres: ")
        assert "nowhere" in caught.value.message and caught.value.hint
    finally:
        pg.close()


def test_postgres_missing_privilege_says_what_to_grant(postgres_url: str) -> None:
    admin = PostgresEngine(postgres_url)
    try:
        admin.execute("CREATE TABLE secret (id int)")
        admin.execute("DROP ROLE IF EXISTS reader_t; CREATE ROLE reader_t LOGIN PASSWORD 'hunter2'")
        reader_url = postgres_url.replace("postgres@", "reader_t:hunter2@", 1)
        reader = PostgresEngine(reader_url)
        with pytest.raises(EngineError) as caught:
            reader.query("SELECT * FROM secret")
        reader.close()
        assert "permission denied" in caught.value.message and "grant" in (caught.value.hint or "")
        assert "hunter2" not in caught.value.render()
    finally:
        admin.execute("DROP TABLE secret; DROP ROLE reader_t")
        admin.close()


def test_unreachable_postgres_is_a_clear_error_without_the_password() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    url = f"postgresql://ana:s3cr3t@127.0.0.1:{port}/wh"
    with pytest.raises(EngineError) as caught:
        connect("postgres", {"DATACANARY_POSTGRES_URL": url})
    text = caught.value.render()
    assert text.startswith("postgres: cannot connect") and "DATACANARY_POSTGRES_URL" in text
    assert "s3cr3t" not in text


def test_spark_runs_queries_and_describes_tables(spark_session) -> None:  # type: ignore[no-untyped-def]
    spark = SparkEngine(session=spark_session)
    spark.execute(
        "CREATE OR REPLACE TEMP VIEW orders AS SELECT * FROM VALUES (1, 9.5D), (2, 1.25D) AS t(id, amount)"
    )
    assert spark.query("SELECT count(*) AS n, sum(amount) AS total FROM orders") == [{"n": 2, "total": 10.75}]
    assert spark.columns("orders") == [("id", "int"), ("amount", "double")]
    with pytest.raises(EngineError) as caught:
        spark.query("SELECT * FROM no_such_table")
    assert caught.value.render().startswith("spark: query failed") and caught.value.hint
