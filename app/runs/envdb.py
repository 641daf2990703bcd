"""Open an environment's DuckDB file for a run, a restore or an SLO evaluation. DuckDB names a file's
catalog after the file (`prod.duckdb` -> `prod`), so a schema of the same name (`schema: prod`, as the
promotion docs show) made every `prod.table` ambiguous. The file is ATTACHed under a fixed alias that
no schema is expected to use, and made the default catalog, so `schema.table` always means a schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ALIAS = "datacanary_env"


def open_env(database: str | Path, read_only: bool = False) -> Any:
    """An in-memory DuckDB connection with `database` attached as `ALIAS` and in use, then locked down
    like the canary's sandbox: models and contract `sql` rules run on it, and they cannot read files,
    reach the network or load extensions whatever the static check missed."""
    import duckdb
    from sqlglot import exp

    from app.canary.runner import lock
    from app.errors import UsageError

    conn = duckdb.connect()
    try:
        path = exp.Literal.string(str(database)).sql("duckdb")
        conn.execute(f'ATTACH {path} AS "{ALIAS}"' + (" (READ_ONLY)" if read_only else ""))
        conn.execute(f'USE "{ALIAS}"')
        lock(conn)
    except duckdb.IOException as exc:  # another process holds the file, or it is not a DuckDB database
        conn.close()
        text = str(exc).splitlines()[0]
        if "lock" in text.lower():
            raise UsageError(
                f"the environment database {database} is in use by another process: {text}",
                hint="wait for the other datacanary run, backfill, restore or evaluation on this "
                "environment to finish, then run this again (DuckDB lets one process write a file)",
            ) from None
        raise UsageError(
            f"the environment database {database} cannot be opened: {text}",
            hint="check that the file is a DuckDB database (environments.<env>.parameters.data), "
            "not truncated or of another program; restore it from a backup if it is damaged",
        ) from None
    except BaseException:
        conn.close()
        raise
    return conn


def schemas(conn: Any) -> set[str]:
    """The schemas of the database in use (the environment's)."""
    rows = conn.execute(
        "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()"
    ).fetchall()
    return {r[0] for r in rows}


def search_path(conn: Any, *names: str) -> None:
    """Resolve unqualified names in those of the schemas `names` that exist, in order: a schema no run
    has created yet is left out (SET search_path refuses a missing one)."""
    present = schemas(conn)
    (catalog,) = conn.execute("SELECT current_database()").fetchone()
    path = ",".join(f'"{catalog}".{n}' for n in dict.fromkeys(names) if n in present)
    conn.execute(f"SET search_path = '{path or catalog + '.main'}'")
