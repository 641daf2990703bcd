"""Spark SQL through pyspark. The master comes from DATACANARY_SPARK_MASTER (default local[*]); on a
cluster the code is the same. One SparkSession per process, shared by every SparkEngine."""

from __future__ import annotations

import datetime as dt
import decimal
import shutil
from typing import Any

from app.engines import SPARK_MASTER, EngineError

NAME = "spark"


class SparkEngine:
    name = NAME
    dialect = "spark"
    byte_collation = "UTF8_BINARY"  # what `collated_columns` are read under to compare their bytes

    def __init__(self, master: str = "local[*]", session: Any = None) -> None:
        self.spark = session if session is not None else _session(master)

    def query(self, sql: str) -> list[dict[str, Any]]:
        from pyspark.sql import functions as sf
        from pyspark.sql.types import TimestampType

        frame = self._run(sql)
        fields = frame.schema.fields
        # pyspark reads a TIMESTAMP (an instant) in the Python process's local zone, and fails on
        # 0001-01-01 (its fold check looks at the day before, in year 0): instants come as microseconds
        instants = {i for i, f in enumerate(fields) if isinstance(f.dataType, TimestampType)}
        if instants:
            frame = frame.toDF(*(f"_{i}" for i in range(len(fields))))  # by place: names may repeat
            frame = frame.select(
                *(sf.unix_micros(f"_{i}") if i in instants else sf.col(f"_{i}") for i in range(len(fields)))
            )
        return [
            {
                f.name: _instant(v) if i in instants else _value(v, f.dataType)
                for i, (f, v) in enumerate(zip(fields, row, strict=True))
            }
            for row in _collect(frame)
        ]

    def execute(self, sql: str) -> None:
        self._run(sql)  # DDL and DML run eagerly in spark.sql

    def columns(self, relation: str) -> list[tuple[str, str]]:
        """(name, Spark SQL type) of each column of `relation` (SQL text naming a table or view)."""
        schema = self._run(f"SELECT * FROM {relation} LIMIT 0").schema
        return [(f.name, f.dataType.simpleString()) for f in schema.fields]

    def collated_columns(self, relation: str) -> list[str]:
        """The string columns of `relation` under a collation other than UTF8_BINARY (Spark 4's
        UTF8_LCASE, UNICODE_CI, ..._RTRIM), whose `=` and GROUP BY take values with different bytes for
        one (`'a' = 'A'`)."""
        from pyspark.sql.types import StringType

        schema = self._run(f"SELECT * FROM {relation} LIMIT 0").schema
        return [
            f.name
            for f in schema.fields
            if isinstance(f.dataType, StringType)
            and getattr(f.dataType, "collation", self.byte_collation) != self.byte_collation
        ]

    def close(self) -> None:
        """The session outlives an Engine (starting one takes seconds); Spark stops it at exit."""

    def _run(self, sql: str) -> Any:
        from pyspark.errors import PySparkException

        try:
            return self.spark.sql(sql)
        except PySparkException as exc:
            raise _failed(exc) from None


def _collect(frame: Any) -> list[Any]:
    """The rows of `frame`. Spark computes them only now: a value that fails here (an ANSI cast of
    malformed text, an overflow, in a view the diff reads) is the engine's error too."""
    from pyspark.errors import PySparkException

    try:
        return list(frame.collect())
    except PySparkException as exc:
        raise _failed(exc) from None


def _failed(exc: Exception) -> EngineError:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    hint = None
    if "TABLE_OR_VIEW_NOT_FOUND" in text or "PATH_NOT_FOUND" in text:
        hint = "check the table name or the path, and that the session's catalog has it"
    return EngineError(NAME, f"query failed: {text}", hint=hint)


def _session(master: str) -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(
            NAME, "pyspark is not installed", hint="pip install 'datacanary[spark]' (and Java 17)"
        ) from None
    if not shutil.which("java"):
        raise EngineError(NAME, "no Java runtime on PATH", hint="install Java 17 (or set JAVA_HOME)")
    try:
        return (
            SparkSession.builder.master(master)
            .appName("datacanary")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
    except Exception as exc:  # py4j/JVM start-up failures have no common type
        raise EngineError(
            NAME,
            f"cannot start a Spark session on {master!r}: {str(exc).splitlines()[0] if str(exc) else exc}",
            hint=f"check {SPARK_MASTER} and that Java 17 works (java -version)",
        ) from None


def _value(value: Any, spark_type: Any) -> Any:
    """A collected value as its Spark type says, as DuckDB's driver gives it. pyspark hands a DECIMAL(30, 10)
    0.0000000001 over as Decimal('1.00E-10') (reports showed 0.000000000100) and a TIMESTAMP, an instant,
    as a naive datetime in the Python process's local zone (10:00 UTC showed as 15:30 on a machine in
    Asia/Kolkata): decimals at their scale, instants in UTC. Rows (structs) become dicts."""
    from pyspark.sql import types as st

    if value is None:
        return None
    if isinstance(spark_type, st.DecimalType):
        with decimal.localcontext() as ctx:
            ctx.prec = 38  # Spark's most digits: every value fits at its scale
            return value.quantize(decimal.Decimal(1).scaleb(-spark_type.scale))
    if isinstance(spark_type, st.TimestampType):  # in a list, map or struct
        return value.astimezone(dt.UTC)  # a naive datetime is read in the local zone, its fold kept
    if isinstance(spark_type, st.ArrayType):
        return [_value(v, spark_type.elementType) for v in value]
    if isinstance(spark_type, st.MapType):
        return {k: _value(v, spark_type.valueType) for k, v in value.items()}
    if isinstance(spark_type, st.StructType):
        return {f.name: _value(v, f.dataType) for f, v in zip(spark_type.fields, value, strict=True)}
    return value


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _instant(micros: int | None) -> dt.datetime | None:
    return None if micros is None else _EPOCH + dt.timedelta(microseconds=micros)
