"""Data-health profiles on the real PostgreSQL server and Spark local[2]: the same rows give the same
profile (rows, nulls, bucket frequencies exactly; distinct, means, quantiles within what each engine's
estimator promises) and the same verdicts over a scripted history as on DuckDB; the bucket of a value
is the same on DuckDB and PostgreSQL whatever the text; `datacanary slo evaluate` on a PostgreSQL
environment stores profiles and breaches on a real shift."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from app.engines.postgres import PostgresEngine
from app.engines.spark import SparkEngine
from app.runs.warehouse import DuckDBWarehouse, PostgresWarehouse, SparkWarehouse, Warehouse
from app.slo.evaluate import evaluate
from app.slo.health import QUANTILES, SCHEME, Profile
from app.slo.health_measure import HealthRun
from app.slo.health_sql import bucket, profile_query, python_bucket, read_profile
from app.slo.health_store import HealthStore, history, statuses_of
from app.slo.objectives import collect
from app.state import StateDB
from tests.slo.conftest import make_project

START = dt.datetime(2026, 10, 5, 6, 0, tzinfo=dt.UTC)
STATUSES = ("placed", "paid", "shipped", "done", "zurückgestellt ✓")
# the columns of the test table as each engine names their types
TYPES = {
    "duckdb": ["BIGINT", "VARCHAR", "BOOLEAN", "DOUBLE", "DECIMAL(10,2)", "VARCHAR", "TIMESTAMP"],
    "postgres": ["bigint", "text", "boolean", "double precision", "numeric(10,2)", "text", "timestamp"],
    "spark": ["BIGINT", "STRING", "BOOLEAN", "DOUBLE", "DECIMAL(10,2)", "STRING", "TIMESTAMP"],
}
NAMES = ["id", "status", "flag", "amount", "price", "note", "ts"]
# quantiles: PostgreSQL's are exact (interpolated); DuckDB's t-digest and Spark's percentile_approx
# (which returns a value of the data at the estimated rank) are within this share of the column's range
QUANTILE_TOLERANCE = 0.02
DISTINCT_TOLERANCE = {
    "duckdb": 0.05,
    "spark": 0.15,
}  # 3 standard errors of their HyperLogLogs; PostgreSQL counts exactly


def rows_of(n: int, rename: dict[str, str] | None = None) -> list[tuple[Any, ...]]:
    out = []
    for i in range(n):
        status = None if i % 13 == 0 else STATUSES[i % 5]
        out.append(
            (
                i,
                (rename or {}).get(status, status) if status else None,
                None if i % 17 == 0 else i % 3 == 0,
                (i % 100) * 1.25,
                decimal.Decimal(i % 997) / 4,
                f"n{i % 400}",
                dt.datetime(2026, 1, 1) + dt.timedelta(minutes=i),
            )
        )
    return out


def _literal(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int | float | decimal.Decimal):
        return repr(v) if isinstance(v, float) else str(v)
    return exp.Literal.string(str(v)).sql("postgres")


class Loader:
    """Replaces table `relation` with rows on one engine."""

    def __init__(self, wh: Warehouse, schema: str, spark: Any = None) -> None:
        self.wh, self.schema, self.spark = wh, schema, spark

    @property
    def dialect(self) -> str:
        return self.wh.dialect

    def load(
        self, rows: Sequence[tuple[Any, ...]], types: Sequence[str], names: Sequence[str] = NAMES
    ) -> None:
        relation = f"{self.schema}.events"
        if self.spark is not None:
            ddl = ", ".join(f"{n} {t}" for n, t in zip(names, types, strict=True))
            frame = self.spark.createDataFrame(list(rows), schema=ddl)
            frame.write.mode("overwrite").saveAsTable(relation)
            return
        self.wh.execute(f"DROP TABLE IF EXISTS {relation}")
        cols = ", ".join(f'"{n}" {t}' for n, t in zip(names, types, strict=True))
        self.wh.execute(f"CREATE TABLE {relation} ({cols})")
        values = ", ".join("(" + ", ".join(_literal(v) for v in r) + ")" for r in rows)
        self.wh.execute(f"INSERT INTO {relation} VALUES {values}")


@pytest.fixture
def on_duckdb(tmp_path: Path) -> Any:
    wh = DuckDBWarehouse(duckdb.connect(str(tmp_path / "prod.duckdb")))
    yield Loader(wh, "main")
    wh.close()


@pytest.fixture
def on_postgres(postgres_url: str) -> Any:
    wh = PostgresWarehouse(PostgresEngine(postgres_url))
    yield Loader(wh, "public")
    wh.close()


@pytest.fixture
def on_spark(spark_session: Any, request: pytest.FixtureRequest) -> Any:
    db = "health_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:30] + f"_{os.getpid()}"
    spark_session.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
    yield Loader(SparkWarehouse(SparkEngine(session=spark_session)), db, spark_session)
    spark_session.sql(f"DROP DATABASE IF EXISTS {db} CASCADE")


def _profile(loader: Loader) -> Profile:
    wh = loader.wh
    relation = f"{loader.schema}.events"
    cols, enums = wh.column_types(relation), wh.enum_types()
    row = wh.first(profile_query(relation, cols, wh.dialect, enums))
    return read_profile("events", START, cols, row, wh.dialect, enums)


def _exact_quantile(xs: Sequence[float], p: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    s = sorted(xs)
    pos = p * (len(s) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def test_the_same_rows_give_the_same_profile_on_duckdb_postgres_and_spark(
    on_duckdb: Loader, on_postgres: Loader, on_spark: Loader
) -> None:
    rows = rows_of(3000)
    profiles = {}
    for loader in (on_duckdb, on_postgres, on_spark):
        loader.load(rows, TYPES[loader.dialect])
        profiles[loader.dialect] = _profile(loader)
    truth = {n: [r[i] for r in rows if r[i] is not None] for i, n in enumerate(NAMES)}
    for engine, p in profiles.items():
        assert p.rows == 3000, engine
        assert [c.kind for c in p.columns or ()] == [
            "numeric", "categorical", "categorical", "numeric", "numeric", "categorical", "other"
        ], engine  # fmt: skip
        for c in p.columns or ():
            assert c.nulls == 3000 - len(truth[c.name]), (engine, c.name)
            exact = len(set(truth[c.name]))
            if engine == "postgres":
                assert c.distinct == exact, c.name
            else:
                assert abs(c.distinct - exact) <= DISTINCT_TOLERANCE[engine] * exact, (
                    engine,
                    c.name,
                    c.distinct,
                )
            if c.kind == "categorical":  # exactly the counts of the portable bucket of each value
                want = Counter(str(python_bucket(v)) for v in truth[c.name])
                assert dict(c.buckets) == dict(want), (engine, c.name)
                assert c.scheme == SCHEME
            if c.kind == "numeric":
                xs = [float(v) for v in truth[c.name]]
                assert c.mean == pytest.approx(sum(xs) / len(xs), rel=1e-9), (engine, c.name)
                span = max(xs) - min(xs)
                for q, got in zip(QUANTILES, c.quantiles, strict=True):
                    tol = 1e-9 * span if engine == "postgres" else QUANTILE_TOLERANCE * span
                    assert abs(got - _exact_quantile(xs, q)) <= tol, (engine, c.name, q, got)
    # the category buckets are the same function of the value on every engine
    for name in ("status", "flag", "note"):
        assert len({tuple(sorted(p.column(name).buckets.items())) for p in profiles.values()}) == 1  # type: ignore[union-attr]


def test_an_enum_is_categorical_with_the_buckets_of_its_labels_on_duckdb_and_postgres(
    on_duckdb: Loader, on_postgres: Loader
) -> None:
    labels = ["sad", "ok", "happy", "très content"]
    moods = [None if i % 7 == 0 else labels[i % 4] for i in range(500)]
    profiles = []
    for loader in (on_duckdb, on_postgres):
        loader.wh.execute("CREATE TYPE mood AS ENUM (" + ", ".join(_literal(m) for m in labels) + ")")
        loader.load([(i, m) for i, m in enumerate(moods)], ["BIGINT", "mood"], ["id", "feeling"])
        profiles.append(_profile(loader).column("feeling"))
    duck, pg = profiles
    assert duck is not None and pg is not None
    assert duck.kind == pg.kind == "categorical" and pg.type == "mood", (duck, pg)
    want = Counter(str(python_bucket(m)) for m in moods if m is not None)
    assert dict(duck.buckets) == dict(pg.buckets) == dict(want) and duck.nulls == pg.nulls == 72


YML = """name: shop
slos:
  events:
    health:
      volume: {min_history: 3}
      schema: {}
      distribution: {}
"""


def _scripted(loader: Loader, state: Path) -> list[dict[str, tuple[str, Any]]]:
    """Five hourly evaluations: three alike, a renamed category, a retyped column; each step's
    {sli: (status, what changed)}."""
    objectives = collect(make_project(YML))
    store = HealthStore(StateDB(state))
    types = TYPES[loader.dialect]
    retyped = [*types[:3], types[1], *types[4:]]  # amount DOUBLE -> text
    steps: list[Callable[[], None]] = [
        *(lambda n=n: loader.load(rows_of(2000 + n), types) for n in range(3)),  # type: ignore[misc]
        lambda: loader.load(rows_of(2003, {"shipped": "SHIPPED"}), types),
        lambda: loader.load(
            [(*r[:3], str(r[3]), *r[4:]) for r in rows_of(2004, {"shipped": "SHIPPED"})], retyped
        ),
    ]
    out = []
    for hour, step in enumerate(steps):
        step()
        at = START + dt.timedelta(hours=hour)
        run = HealthRun(lambda d, at=at: store.recent("prod", d, at))  # type: ignore[misc]
        ev = evaluate(loader.wh, "prod", objectives, at, schema=loader.schema, source_schema=loader.schema,
                      health=run)  # fmt: skip
        for profile in run.profiles:
            store.save("prod", profile, statuses_of(ev.results, profile.dataset))
        found: dict[str, tuple[str, Any]] = {}
        for r in ev.results:
            d = r.detail or {}
            what = (
                [(s["column"], s["level"]) for s in d.get("shifted", ())]
                if r.objective.sli == "health.distribution"
                else ([x["column"] for x in d.get("retyped", ())], d.get("removed"))
                if r.objective.sli == "health.schema"
                else None
            )
            found[r.objective.sli] = (r.status.value, what)
        out.append(found)
    return out


def _same_verdicts(engine: Loader, on_duckdb: Loader, tmp_path: Path) -> list[dict[str, tuple[str, Any]]]:
    expected = _scripted(on_duckdb, tmp_path / "duckdb.sqlite")
    got = _scripted(engine, tmp_path / f"{engine.dialect}.sqlite")
    assert got == expected
    renamed, retyped = got[3], got[4]
    assert renamed["health.distribution"] == ("breach", [("status", "breach")])
    assert renamed["health.schema"][0] == "ok" and renamed["health.volume"][0] == "ok"
    assert retyped["health.schema"] == ("breach", (["amount"], []))
    return got


def test_postgres_gives_duckdbs_verdicts_a_renamed_category_and_a_retyped_column_breach(
    on_postgres: Loader, on_duckdb: Loader, tmp_path: Path
) -> None:
    _same_verdicts(on_postgres, on_duckdb, tmp_path)


def test_spark_gives_duckdbs_verdicts_a_renamed_category_and_a_retyped_column_breach(
    on_spark: Loader, on_duckdb: Loader, tmp_path: Path
) -> None:
    _same_verdicts(on_spark, on_duckdb, tmp_path)


def _buckets(wh: Warehouse, values: Sequence[Any], type_: str) -> list[int | None]:
    literals = [f"({i}, CAST({_literal(v)} AS {type_}))" for i, v in enumerate(values)]
    b = bucket(exp.column("v"), wh.dialect).sql(wh.dialect)
    rows = wh.query(f"SELECT i, {b} AS b FROM (VALUES {', '.join(literals)}) AS t(i, v) ORDER BY i")
    return [None if r["b"] is None else int(r["b"]) for r in rows]


texts = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.none() | texts, min_size=1, max_size=30),
    st.lists(st.none() | st.booleans(), min_size=1, max_size=5),
)
def test_a_values_bucket_is_the_same_on_duckdb_and_postgres(
    on_postgres: Loader, values: list[str | None], flags: list[bool | None]
) -> None:
    local = DuckDBWarehouse(duckdb.connect())
    try:
        for batch, type_ in ((values, "TEXT"), (flags, "BOOLEAN")):
            expected = [python_bucket(v) for v in batch]
            assert _buckets(local, batch, type_) == expected
            assert _buckets(on_postgres.wh, batch, type_) == expected
    finally:
        local.close()


def test_datacanary_slo_on_a_postgres_environment_stores_profiles_and_breaches_on_a_shift(
    on_postgres: Loader, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from app.cli import main

    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "datacanary.yml").write_text(
        "name: shop\nsources:\n  events: {columns: {id: bigint}}\n"
        "environments:\n  prod:\n    parameters: {engine: postgres, schema: analytics, source_schema: public}\n"
        + YML.split("\n", 1)[1]
    )
    monkeypatch.setenv("DATACANARY_POSTGRES_URL_PROD", postgres_url)
    state = str(root / "state.sqlite")
    types = TYPES["postgres"]
    outputs = []
    for hour, rows in enumerate(
        [rows_of(1500), rows_of(1501), rows_of(1502), rows_of(1503, {"paid": "PAID"})]
    ):
        on_postgres.load(rows, types)
        at = (START + dt.timedelta(hours=hour)).isoformat()
        code = main(
            ["slo", "evaluate", "--env", "prod", "--project", str(root), "--state", state, "--at", at]
        )
        outputs.append((code, capsys.readouterr().out))
    assert [c for c, _ in outputs] == [0, 0, 0, 1], outputs
    assert re.search(r"ok\s+events:health.distribution", outputs[2][1]), outputs[2][1]
    assert re.search(r"breach\s+events:health.distribution", outputs[3][1]), outputs[3][1]
    points = history(StateDB(Path(state)), "prod", "events")
    assert [p["rows"] for p in points] == [1500, 1501, 1502, 1503]
    assert points[-1]["statuses"]["health.distribution"] == "breach"
    status = next(c for c in points[-1]["columns"] if c["name"] == "status")
    assert status["kind"] == "categorical" and status["bucket_scheme"] == SCHEME
    assert status["distinct"] == 5 and status["type"] == "text"


def test_postgres_types_without_equality_are_profiled_and_a_missing_table_is_unknown_until_published(
    on_postgres: Loader,
) -> None:
    wh = on_postgres.wh
    objectives = collect(make_project(YML))
    store: list[Profile] = []
    missing = evaluate(wh, "prod", objectives, START, schema="public", source_schema="public",
                       built={"events"}, health=HealthRun(lambda d: store))  # fmt: skip
    assert {r.status.value for r in missing.results} == {"unknown"}
    assert all("never published" in str(r.reason) for r in missing.results)
    wh.execute(
        "CREATE TABLE public.events AS SELECT i AS id, json_build_object('k', i % 3) AS doc,"
        " ARRAY[i % 2, 1] AS pair, point(i, 0) AS p FROM generate_series(1, 50) AS i"
    )
    run = HealthRun(lambda d: store)
    found = evaluate(wh, "prod", objectives, START, schema="public", source_schema="public", health=run)
    assert {r.status.value for r in found.results} == {"unknown"}  # learning: profiled, no history
    (profile,) = run.profiles
    assert {c.name: (c.kind, c.distinct) for c in profile.columns or ()} == {
        "id": ("numeric", 50), "doc": ("other", 3), "pair": ("other", 2), "p": ("other", 50)
    }  # fmt: skip
    store.append(profile)
    wh.execute("DROP TABLE public.events")
    gone = evaluate(wh, "prod", objectives, START + dt.timedelta(hours=1), schema="public",
                    source_schema="public", built={"events"}, health=HealthRun(lambda d: store))  # fmt: skip
    assert {r.status.value for r in gone.results} == {"breach"}
    assert all("cannot profile: " in str(r.reason) and "events" in str(r.reason) for r in gone.results)


def test_postgres_distinct_counts_are_those_of_the_types_equality(on_postgres: Loader) -> None:
    """Text and numeric distinct counts are taken over 64-bit hashes on PostgreSQL (a bigint sort): they
    still count what `=` tells apart: 1.5 and 1.50 are one numeric, 'a ' and 'a' one char(3), 'a' and
    'A' two texts, é precomposed and decomposed two texts."""
    rows = [
        (1, "1.5", "a ", "a"),
        (2, "1.50", "a", "A"),
        (3, "-0.0", "b", "a"),
        (4, "0", "b  ", "é"),
        (5, "1e3", "", "e\u0301"),
        (6, "1000.000", " ", "é"),
    ]
    on_postgres.load(rows, ["bigint", "numeric", "char(3)", "text"], ["id", "num", "ch", "tx"])
    want = on_postgres.wh.first(
        "SELECT count(DISTINCT num) AS num, count(DISTINCT ch) AS ch, count(DISTINCT tx) AS tx FROM public.events"
    )
    assert dict(want) == {"num": 3, "ch": 3, "tx": 4}
    profile = _profile(on_postgres)
    assert {c.name: c.distinct for c in profile.columns or () if c.name != "id"} == dict(want)


def test_postgres_counts_text_under_a_case_insensitive_collation_by_its_bytes(on_postgres: Loader) -> None:
    """A column under a nondeterministic collation takes 'a' = 'A' on PostgreSQL; its health profile
    counts what DuckDB counts for the same text (three values, not two), so a change of case between
    runs shows in the distinct count whichever engine profiled it."""
    on_postgres.wh.execute(
        "CREATE COLLATION IF NOT EXISTS dc_case_insensitive"
        " (provider = icu, locale = 'und-u-ks-level2', deterministic = false)"
    )
    rows = [(1, "a"), (2, "A"), (3, "b"), (4, "a")]
    on_postgres.load(rows, ["bigint", "text COLLATE dc_case_insensitive"], ["id", "tx"])
    assert on_postgres.wh.first("SELECT count(DISTINCT tx) AS n FROM public.events") == {"n": 2}
    profile = _profile(on_postgres)
    assert profile.column("tx").distinct == 3  # type: ignore[union-attr]
