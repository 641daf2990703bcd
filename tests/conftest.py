"""Shared test set-up: git identities so tests can commit on any machine, and the demo repository."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Tests build real git repositories; a fresh CI machine has no git identity configured.
for _key, _value in {
    "GIT_AUTHOR_NAME": "datacanary tests",
    "GIT_AUTHOR_EMAIL": "tests@datacanary.invalid",
    "GIT_COMMITTER_NAME": "datacanary tests",
    "GIT_COMMITTER_EMAIL": "tests@datacanary.invalid",
}.items():
    os.environ.setdefault(_key, _value)

ROOT = Path(__file__).resolve().parent.parent

# The suite starts hundreds of Python processes (CLI runs, the service and its worker processes, xdist's
# workers); under PYTHONDONTWRITEBYTECODE (set on some CI images) each one compiled app/ and the test
# modules from source again: 172 s instead of 180-187 s for the whole suite here. The caches it writes
# are gitignored.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

# Property tests check behaviour, not speed: a loaded 2-core CI machine must not turn a slow example into
# a failure. CI also runs them derandomized, so a red build is reproducible from its log.
settings.register_profile("datacanary", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("datacanary"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "datacanary")


@pytest.fixture(scope="session")
def demo_repo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The bundled shop demo as a real git repository with a base and a head commit (read-only use)."""
    from app.demo import build_demo_repo

    return build_demo_repo(tmp_path_factory.mktemp("demo") / "shop")


@pytest.fixture(scope="session")
def postgres_server():  # type: ignore[no-untyped-def]
    """A real PostgreSQL server for this test process (tests/support/services.py)."""
    from tests.support.services import start_postgres

    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server, request: pytest.FixtureRequest) -> str:  # type: ignore[no-untyped-def]
    """The URL of a new, empty database on the real server, one per test."""
    import re

    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40] + f"_{os.getpid()}"
    return str(postgres_server.database(name))


@pytest.fixture(scope="session")
def spark_session():  # type: ignore[no-untyped-def]
    """One local Spark session (local[1]) for this test process: starting one takes seconds."""
    import shutil

    from tests.support.services import unavailable

    try:
        from pyspark.sql import SparkSession
    except ImportError:
        unavailable("Spark", "pyspark is not installed (pip install -e '.[test]')")
    if not shutil.which("java"):
        unavailable("Spark", "no Java runtime on PATH")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("datacanary-tests")
        .config("spark.ui.enabled", "false")
        # test tables are tiny: one shuffle partition and no adaptive re-planning cut the canary demo's
        # ~110 Spark queries from 24 s to 21 s cold, 15 s to 11 s warm (2026-12-07, load 0.8)
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.adaptive.enabled", "false")
        # ... and no Java code generated and compiled per query, no broadcast (a job of its own) for a
        # join of two tiny tables, one executor thread: the Spark tests in one process 75.5 s -> 65.3 s
        # (2026-12-08, idle machine); production sessions keep Spark's defaults (app.engines.spark)
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .config("spark.sql.autoBroadcastJoinThreshold", "-1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        # short-lived JVM, small queries: C1 only and one GC thread cut the canary demo plus the health
        # profiles on Spark from 45-47 s to 38-40 s (interleaved runs, 2026-12-07)
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        # managed tables (the canary's scratch databases) in a temp dir, not in the checkout
        .config("spark.sql.warehouse.dir", __import__("tempfile").mkdtemp(prefix="datacanary-spark-"))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
