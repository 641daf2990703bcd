"""The test PostgreSQL server itself: a real server answers, and each test gets its own database."""

from __future__ import annotations


def test_each_test_gets_an_empty_database_on_a_real_server(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert version is not None and int(version[0].split(".")[0]) >= 13
    assert tables == (0,)
