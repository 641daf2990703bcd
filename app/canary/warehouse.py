"""The canary where the data lives: scratch schemas on a warehouse engine (PostgreSQL, Spark) standing in
for the DuckDB sandbox's `source`, `shared`, `base` and `head` schemas.

A run creates `datacanary_<run>_<label>` for each label and drops them when it ends, also on an error or
an interruption (Ctrl-C, SIGTERM). A run killed outright leaves them behind: on PostgreSQL each run holds
a session advisory lock named after its run id, so the next run (or `datacanary canary --clean-scratch`)
drops the schemas of every run whose lock is free, i.e. whose connection is gone; on Spark, which has no
such lock, it drops those older than STALE_SECONDS (the command: all of them).

The canary's own SQL is generated in DuckDB's dialect with the labels as schema names; `Warehouse`
renames the labels to the scratch schemas and transpiles it with sqlglot. Models are compiled straight
from the project's dialect to the engine's (app.canary.models), over the scratch names (`relation`).
What protects the warehouse from a hostile model is in docs/engines/postgres.md, section "Canary".
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlglot import exp

from app.canary.runner import QueryFailed

if TYPE_CHECKING:
    from app.engines import Engine

T = TypeVar("T")
PREFIX = "datacanary_"
LABELS = ("source", "shared", "base", "head")
STALE_SECONDS = 24 * 3600  # Spark: a run's scratch older than this is a leftover
_NAME = re.compile(rf"^{PREFIX}(?P<run>[0-9a-f]{{8}}[0-9a-f]{{6}})_(?P<label>{'|'.join(LABELS)})$")


def new_run_id(now: float | None = None) -> str:
    """8 hex digits of the start time (seconds) and 6 random ones: sortable, and unique enough."""
    return f"{int(time.time() if now is None else now):08x}{secrets.token_hex(3)}"


def scratch_names(run: str) -> dict[str, str]:
    return {label: f"{PREFIX}{run}_{label}" for label in LABELS}


def _lock_key(run: str) -> int:
    """The run's PostgreSQL advisory lock key (a signed 64-bit integer)."""
    return int(run, 16) & 0x7FFF_FFFF_FFFF_FFFF


class Warehouse:
    """The Sandbox's methods on a warehouse Engine, over one run's scratch schemas."""

    inputs = None  # no file is ever read: the sources are tables in the warehouse
    memory_limit = None

    def __init__(
        self, engine: Engine, opener: Callable[[], Engine], run: str, *, owner: bool, timeout: float
    ) -> None:
        self.engine = engine
        self.name = engine.name
        self.dialect = engine.dialect
        self.run = run
        self.schemas = scratch_names(run)
        self._opener = opener
        self._owner = owner  # the main session creates and drops the schemas; others only close
        self._timeout = timeout
        if engine.name == "postgres":
            # every statement of this session, a model's build included, stops at the per-model limit
            engine.execute(f"SET statement_timeout = {max(1, int(timeout * 1000))}")

    @classmethod
    def open(cls, engine: Engine, opener: Callable[[], Engine], *, timeout: float) -> Warehouse:
        """Clean up what killed runs left, then create this run's scratch schemas (and, on PostgreSQL,
        hold the run's advisory lock for as long as the connection lives)."""
        clean(engine)
        run = new_run_id()
        box = cls(engine, opener, run, owner=True, timeout=timeout)
        try:
            if engine.name == "postgres":
                engine.query(f"SELECT pg_advisory_lock({_lock_key(run)}) AS locked")
            for schema in box.schemas.values():
                engine.execute(_create_schema(engine.dialect, schema))
        except BaseException:
            box.close()
            raise
        return box

    def session(self) -> Warehouse:
        """Another connection on the same scratch schemas, for another thread."""
        return Warehouse(self._opener(), self._opener, self.run, owner=False, timeout=self._timeout)

    def close(self) -> None:
        """Drop this run's scratch schemas (the main session) and close the connection. A drop that fails
        is left to the next run's clean-up, never raised over the canary's own outcome."""
        try:
            if self._owner:
                for schema in self.schemas.values():
                    try:
                        self.engine.execute(_drop_schema(self.dialect, schema))
                    except Exception:  # noqa: BLE001 - a lost connection: the next run cleans up
                        pass
                if self.name == "postgres":
                    try:
                        self.engine.query(f"SELECT pg_advisory_unlock({_lock_key(self.run)}) AS unlocked")
                    except Exception:  # noqa: BLE001
                        pass
        finally:
            self.engine.close()

    # -- names -----------------------------------------------------------------------------------------
    def relation(self, label: str, table: str) -> str:
        """`label.table` as the engine names it (the label's scratch schema), in the engine's dialect."""
        return exp.table_(table, db=self.schemas.get(label, label), quoted=True).sql(self.dialect)

    def to_engine(self, sql: str, read: str = "duckdb", rename: bool = True) -> str:
        """`sql` (DuckDB's dialect by default, the labels as schemas unless not `rename`) as the engine
        runs it."""
        import sqlglot
        from sqlglot.errors import SqlglotError

        try:
            trees = [t for t in sqlglot.parse(sql, read=read) if t is not None]
        except SqlglotError as err:
            raise QueryFailed("error", f"cannot be read as {read} SQL: {str(err).splitlines()[0]}") from None
        out = []
        for tree in trees:
            if rename:
                for table in tree.find_all(exp.Table):
                    db = table.args.get("db")
                    if db is not None and not table.args.get("catalog") and db.name in self.schemas:
                        table.set("db", exp.to_identifier(self.schemas[db.name], quoted=True))
            portable(tree, self.dialect)
            out.append(tree.sql(dialect=self.dialect))
        return ";\n".join(out)

    def scratch_relation(self, relation: str) -> str:
        """`"head"."x"` (DuckDB text, a label schema) as `"datacanary_<run>_head"."x"`, still DuckDB text."""
        table = exp.to_table(relation, dialect="duckdb")
        label = table.db
        return exp.table_(table.name, db=self.schemas.get(label, label), quoted=True).sql("duckdb")

    def _name(self, relation: str) -> str:
        """A relation named in DuckDB text (`"head"."x"`) as the engine names it."""
        text = self.to_engine(f"SELECT * FROM {relation}")
        return text.removeprefix("SELECT * FROM ")

    # -- the Sandbox's methods -----------------------------------------------------------------------
    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        return self._run(lambda: self.engine.query(self.to_engine(sql)), timeout)

    def execute(self, sql: str, timeout: float | None = None) -> None:
        self._run(lambda: self.engine.execute(self.to_engine(sql)), timeout)

    def columns(self, relation: str) -> list[tuple[str, str]]:
        return self._run(lambda: self.engine.columns(self._name(relation)), None)

    def create_schema(self, name: str) -> None:
        """The scratch schemas exist from `open` on."""

    def query_as(self, sql: str) -> list[dict[str, Any]]:
        """Rows of DuckDB text that names the engine's own relations (no label to rename)."""
        return self._run(lambda: self.engine.query(self.to_engine(sql, rename=False)), None)

    def create_select(
        self,
        target: str,
        select: str,
        timeout: float | None = None,
        dialect: str = "duckdb",
        raw_target: bool = False,
    ) -> int:
        """CREATE TABLE `target` (DuckDB text with a label schema; the engine's name with `raw_target`) AS
        the single SELECT `select` (`dialect`: the engine's when compiled for it). Returns its rows."""
        body = _one_query(select, dialect)
        if dialect == "duckdb":
            body = self.to_engine(body)
        name = target if raw_target else self._name(target)

        def build() -> int:
            counted = getattr(self.engine, "create_table_as", None)  # an engine that is told the rows
            if counted is not None:
                return int(counted(name, body))
            self.engine.execute(f"CREATE TABLE {name} AS {body}")
            return int(self.engine.query(f"SELECT count(*) AS n FROM {name}")[0]["n"])

        return self._run(build, timeout)

    def select(self, sql: str, timeout: float | None = None, dialect: str = "duckdb") -> list[dict[str, Any]]:
        body = _one_query(sql, dialect)
        if dialect == "duckdb":
            return self.query(body, timeout)
        return self._run(lambda: self.engine.query(body), timeout)

    # -- execution ------------------------------------------------------------------------------------
    def _run(self, work: Callable[[], T], timeout: float | None) -> T:
        from app.engines import EngineError

        fired = threading.Event()
        timer = None
        if timeout is not None and self.name == "spark":
            # Spark has no statement timeout: the job group of this thread is cancelled instead
            spark = self.engine.spark  # type: ignore[attr-defined]
            group = f"datacanary-{secrets.token_hex(4)}"
            spark.sparkContext.setJobGroup(group, "datacanary canary", True)

            def stop() -> None:
                fired.set()
                spark.sparkContext.cancelJobGroup(group)

            timer = threading.Timer(timeout, stop)
            timer.daemon = True
            timer.start()
        limit = timeout if timeout is not None else self._timeout
        try:
            return work()
        except EngineError as err:
            text = err.message.split(": ", 1)[-1]
            if fired.is_set() or "statement timeout" in text:
                raise QueryFailed("timeout", f"stopped after the {limit:g} s time limit") from None
            if "permission denied" in text or "InsufficientPrivilege" in text:
                raise QueryFailed("refused", f"{text} (the canary's role may not do this)") from None
            raise QueryFailed("error", text) from None
        finally:
            if timer is not None:
                timer.cancel()


def _one_query(sql: str, dialect: str) -> str:
    """`sql` if it is exactly one query (the engine-side twin of guard.py: no DDL, no second statement,
    whatever sqlglot made of the model), else QueryFailed `refused`."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        trees = [t for t in sqlglot.parse(sql, read=dialect) if t is not None]
    except SqlglotError as err:
        raise QueryFailed("error", str(err).splitlines()[0]) from None
    if len(trees) != 1:
        raise QueryFailed("refused", f"holds {len(trees)} statements; only one SELECT may run")
    if not isinstance(trees[0], exp.Query):
        raise QueryFailed("refused", f"is a {trees[0].key.upper()} statement; only a SELECT may run")
    return sql


def portable(tree: exp.Expr, dialect: str) -> exp.Expr:
    """Rewrite, in place, what sqlglot leaves as written but `dialect` cannot run: GROUP BY ALL (DuckDB,
    Spark, Snowflake) on PostgreSQL becomes the list of the projections that aggregate nothing; Spark
    has no `AS MATERIALIZED` on a CTE (a planner hint: dropped)."""
    if dialect == "spark":
        for cte in tree.find_all(exp.CTE):
            cte.set("materialized", None)
    if dialect != "postgres":
        return tree
    for select in list(tree.find_all(exp.Select)):
        group = select.args.get("group")
        if group is None or not group.args.get("all"):
            continue
        keys = [
            p.unalias().copy()
            for p in select.expressions
            if not p.find(exp.AggFunc) and not p.find(exp.Window) and not isinstance(p.unalias(), exp.Literal)
        ]
        select.set("group", exp.Group(expressions=keys) if keys else None)
    return tree


def _create_schema(dialect: str, schema: str) -> str:
    kind = "DATABASE" if dialect == "spark" else "SCHEMA"
    return f"CREATE {kind} {exp.to_identifier(schema, quoted=True).sql(dialect)}"


def _drop_schema(dialect: str, schema: str) -> str:
    kind = "DATABASE" if dialect == "spark" else "SCHEMA"
    return f"DROP {kind} IF EXISTS {exp.to_identifier(schema, quoted=True).sql(dialect)} CASCADE"


def leftovers(engine: Engine) -> dict[str, list[str]]:
    """Scratch schemas on the engine, by run id."""
    if engine.dialect == "spark":
        rows = engine.query("SHOW DATABASES")
        names: Iterable[str] = (str(next(iter(r.values()))) for r in rows)
    else:
        rows = engine.query(r"SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 'datacanary\_%'")
        names = (str(r["name"]) for r in rows)
    out: dict[str, list[str]] = {}
    for name in names:
        m = _NAME.match(name)
        if m:
            out.setdefault(m["run"], []).append(name)
    return out


def clean(engine: Engine, *, older_than: float = STALE_SECONDS, now: float | None = None) -> list[str]:
    """Drop the scratch schemas of runs that are over: PostgreSQL, whose advisory lock is free (the run's
    connection is gone); Spark, older than `older_than` seconds. Returns the schemas dropped."""
    dropped: list[str] = []
    clock = time.time() if now is None else now
    for run, schemas in sorted(leftovers(engine).items()):
        if engine.dialect == "spark":
            if clock - int(run[:8], 16) < older_than:
                continue
        else:
            free = engine.query(f"SELECT pg_try_advisory_lock({_lock_key(run)}) AS free")[0]["free"]
            if not free:
                continue
        try:
            for schema in schemas:
                engine.execute(_drop_schema(engine.dialect, schema))
                dropped.append(schema)
        finally:
            if engine.dialect != "spark":
                engine.query(f"SELECT pg_advisory_unlock({_lock_key(run)}) AS unlocked")
    return dropped
