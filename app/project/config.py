"""datacanary.yml: the project's declaration, parsed once into typed values with line-aware errors."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.errors import ConfigError
from app.project.yamldoc import YamlDoc, load_yaml
from app.types import Location

CONFIG_FILE = "datacanary.yml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SampleSpec(_Strict):
    """How to sample one source: keep rows whose hashed key falls under `fraction`, then cap at `max_rows`."""

    key: str | None = None  # a join key domain, e.g. customer_id; same key + seed = same rows everywhere
    fraction: float = Field(default=1.0, gt=0, le=1)
    max_rows: int | None = Field(default=None, gt=0)


class SourceConfig(_Strict):
    """A source table and where its sample data lives (Parquet, CSV, or `file.duckdb:schema.table`).
    On a warehouse engine (`engine: postgres | spark`) the canary samples `table` in place instead: the
    table's name in the warehouse, `[catalog.]schema.table` (default: the source's own name)."""

    path: str | None = None
    table: str | None = None
    format: Literal["parquet", "csv", "duckdb"] | None = None
    columns: dict[str, str] = Field(default_factory=dict)  # declared types, used when no data is at hand
    sample: SampleSpec = Field(default_factory=SampleSpec)
    description: str | None = None


class Waiver(_Strict):
    """Accept one rule for one dataset (or column) until a date, with a reason."""

    rule: str
    dataset: str
    column: str | None = None
    reason: str
    expires: dt.date

    @field_validator("reason")
    @classmethod
    def _reason_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a waiver needs a reason")
        return v


class PolicyConfig(_Strict):
    """The change policy on top of the default rules table (CONTRACT_CHANGES.md)."""

    widening: Literal["compatible", "breaking"] = "compatible"
    enum_value_added: Literal["breaking", "compatible"] = "breaking"
    versioned_breaks: bool = True  # a breaking change passes with a major version bump
    unknown: Literal["error", "warning", "notice"] = "warning"  # changes that could not be classified
    uncontracted_changes: Literal["error", "warning", "notice"] = "warning"
    # per rule override of the severity of its *breaking* outcome: error | warning | notice | off
    rules: dict[str, Literal["error", "warning", "notice", "off"]] = Field(default_factory=dict)

    @field_validator("rules", mode="before")
    @classmethod
    def _yaml_off(cls, v: Any) -> Any:
        # YAML 1.1 reads a bare `off` as false: `column-removed: off` must still mean "off"
        if isinstance(v, dict):
            return {k: "off" if val is False else val for k, val in v.items()}
        return v


class Tolerance(_Strict):
    absolute: float | None = Field(default=None, ge=0)
    relative: float | None = Field(default=None, ge=0)
    decimals: int | None = Field(default=None, ge=0)


class CanaryThresholds(_Strict):
    changed_rows_pct: float = Field(default=5.0, ge=0)  # over this share of a contracted dataset's rows: fail
    uncontracted_changed_rows_pct: float | None = Field(default=None, ge=0)  # None: warn only
    row_count_change_pct: float = Field(default=10.0, ge=0)
    quality_error_fails: bool = True
    unexpected_column_change: Literal["error", "warning", "notice"] = "warning"


class SandboxLimits(_Strict):
    """The project's wish for the canary's sandbox; the base revision's applies, capped by the operator
    (app.canary.limits)."""

    memory_limit: str = "1GB"
    threads: int = Field(default=2, ge=1)
    timeout_seconds: float = Field(default=60.0, gt=0)

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str) -> str:
        from app.canary.limits import parse_size

        if not parse_size(value):
            raise ValueError(f"{value!r} is not a memory size; write it like 1GB or 512MiB")
        return value


class CanaryConfig(_Strict):
    enabled: bool = True
    seed: int = 42
    example_rows: int = Field(default=5, ge=0)
    low_cardinality: int = Field(default=20, ge=1)  # distinct values at or below this get a distribution
    thresholds: CanaryThresholds = Field(default_factory=CanaryThresholds)
    tolerance: dict[str, Tolerance] = Field(default_factory=dict)  # "dataset.column" or "column"
    keys: dict[str, list[str]] = Field(default_factory=dict)  # primary keys for uncontracted models
    intent: list[str] = Field(default_factory=list)  # "dataset.column" the change means to touch
    limits: SandboxLimits = Field(default_factory=SandboxLimits)


class FreshnessSlo(_Strict):
    """Maximum lag of the newest row (`column`) or, without a column, of the last publish."""

    column: str | None = None  # a commit or event timestamp column; None: the last publish time
    max_lag: str  # a duration: 90s, 30m, 2h, 1d


class LateArrivalSlo(_Strict):
    """Share of rows that arrived later than `max_delay` after their event time."""

    event_column: str
    arrival_column: str
    max_delay: str
    max_rate: float = Field(default=0.01, ge=0, le=1)
    lookback: str = "1d"  # only rows that arrived within this duration count


class CompletenessSlo(_Strict):
    """Rows or partitions present, and late arrivals."""

    min_rows: int | None = Field(default=None, ge=0)
    partition_column: str | None = None
    partition_grain: Literal["hour", "day", "week", "month"] = "day"
    expected_partitions: int | None = Field(
        default=None, ge=1
    )  # the last N partitions before `now` must all be present
    late_arrival: LateArrivalSlo | None = None


class CorrectnessSlo(_Strict):
    """Pass rate of the contract's quality rules, each weighted by its severity."""

    min_pass_rate: float = Field(default=1.0, ge=0, le=1)
    weights: dict[str, float] = Field(default_factory=lambda: {"error": 3.0, "warning": 1.0, "info": 0.0})


class CostSlo(_Strict):
    """Upper bounds for one run of the dataset (from the run ledger)."""

    max_duration: str | None = None
    max_bytes: int | None = Field(default=None, gt=0)  # kept for old files: DuckDB cannot measure it
    max_rows: int | None = Field(default=None, gt=0)


class VolumeHealth(_Strict):
    """Row count against a seasonal baseline (app.slo.health): the modified z-score over the last
    `history` evaluations in the same bucket; `learning` with fewer than `min_history`."""

    season: Literal["none", "hour_of_day", "day_of_week", "hour_of_week"] = "none"
    history: int = Field(default=20, ge=3)
    min_history: int = Field(default=5, ge=3)
    max_z: float = Field(default=3.5, gt=0)
    min_deviation: float = Field(default=0.01, ge=0)  # share of the median that never counts
    direction: Literal["both", "drop", "spike"] = "both"


class SchemaHealth(_Strict):
    """Columns added, removed or retyped since the last evaluation; removed and retyped ones breach."""

    added: Literal["warn", "breach"] = "warn"


class DistributionHealth(_Strict):
    """Per-column shift from the last evaluation that did not breach: PSI, KS, null rate."""

    columns: list[str] = Field(default_factory=list)  # empty: every column
    exclude: list[str] = Field(default_factory=list)
    psi_warn: float = Field(default=0.1, gt=0)
    psi_breach: float = Field(default=0.2, gt=0)
    ks_warn: float = Field(default=0.1, gt=0, le=1)
    ks_breach: float = Field(default=0.2, gt=0, le=1)
    null_rate_breach: float = Field(default=0.1, gt=0, le=1)
    accept_after: int = Field(default=12, ge=1)  # breaches in a row after which the shift is the new normal


class HealthSlo(_Strict):
    """`slos.<dataset>.health`: data-health monitors; `true` or `{}` turns a monitor on with defaults."""

    volume: VolumeHealth | None = None
    schema_: SchemaHealth | None = Field(default=None, alias="schema")
    distribution: DistributionHealth | None = None

    @field_validator("volume", "schema_", "distribution", mode="before")
    @classmethod
    def _on(cls, v: Any) -> Any:
        return {} if v is True else None if v is False else v


class DatasetSlo(_Strict):
    """`slos.<dataset>`: datacanary's SLO keys where ODCS `slaProperties` has none."""

    freshness: FreshnessSlo | None = None
    completeness: CompletenessSlo | None = None
    correctness: CorrectnessSlo | None = None
    cost: CostSlo | None = None
    health: HealthSlo | None = None
    target: float | None = Field(
        default=None, gt=0, lt=1
    )  # share of good evaluations (default: ODCS availability or 0.99)
    budget_window: str = "30d"
    owners: list[str] = Field(default_factory=list)  # GitHub handles; added to the contract's owners


class InvariantSide(_Strict):
    """One aggregate of an invariant: `measure` over `dataset`, optionally grouped `by` an expression."""

    dataset: str
    measure: str  # an SQL aggregate, e.g. sum(amount)
    by: str | None = None  # e.g. cast(paid_at as date)
    where: str | None = None


class InvariantConfig(_Strict):
    """A cross-table invariant: two aggregates that must agree within a tolerance (per group when `by`)."""

    name: str
    left: InvariantSide
    right: InvariantSide
    tolerance: Tolerance = Field(default_factory=Tolerance)
    description: str | None = None


class WindowConfig(_Strict):
    """A windowed model: its time column, which `datacanary backfill` replaces by window (app.runs.window)."""

    column: str


class EnvironmentConfig(_Strict):
    """One environment of the promotion path: its values of the declared `parameters`, plus config
    `overrides` (deep-merged over the project config). Parity allows only declared parameters to differ."""

    parameters: dict[str, Any] = Field(
        default_factory=dict
    )  # e.g. schema, data (a DuckDB file), sample_fraction
    overrides: dict[str, Any] = Field(default_factory=dict)  # any other datacanary.yml key; parity flags it
    description: str | None = None


class ProjectConfig(_Strict):
    """The whole of datacanary.yml."""

    name: str
    dialect: str = "duckdb"
    # where canary, data-diff, SLIs and write-audit-publish run (app.engines); the connection comes from
    # the environment, never from this file
    engine: Literal["duckdb", "postgres", "spark"] = "duckdb"
    models: str = "models"
    contracts: str = "contracts"
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    waivers: list[Waiver] = Field(default_factory=list)
    canary: CanaryConfig = Field(default_factory=CanaryConfig)
    # dataset -> declared consumers (dashboards, services, teams) beyond those in contracts
    consumers: dict[str, list[str]] = Field(default_factory=dict)
    dbt: dict[str, Any] | None = None
    # keys environments may set differently (name -> default); a list of names means no defaults
    parameters: dict[str, Any] = Field(default_factory=dict)
    # in promotion order (dev, staging, prod); a list of `{name: ...}` items is accepted too (app.promotion)
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)
    slos: dict[str, DatasetSlo] = Field(default_factory=dict)  # dataset -> SLO keys (app.slo)
    invariants: list[InvariantConfig] = Field(default_factory=list)  # cross-table checks (app.slo)
    windows: dict[str, WindowConfig] = Field(default_factory=dict)  # model -> its window column (backfill)

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameter_names(cls, v: Any) -> Any:
        return {str(k): None for k in v} if isinstance(v, list) else v

    @field_validator("environments", mode="before")
    @classmethod
    def _environment_list(cls, v: Any) -> Any:
        if not isinstance(v, list):
            return v
        out: dict[str, Any] = {}
        for item in v:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise ValueError("each environment in a list needs a `name:`")
            if item["name"] in out:
                raise ValueError(f"environment {item['name']!r} is declared twice")
            out[item["name"]] = {k: val for k, val in item.items() if k != "name"}
        return out

    @field_validator("dialect")
    @classmethod
    def _known_dialect(cls, v: str) -> str:
        from sqlglot.dialects.dialect import Dialect

        try:
            Dialect.get_or_raise(v)
        except ValueError:
            raise ValueError(
                f"unknown SQL dialect {v!r} (any sqlglot dialect: duckdb, snowflake, bigquery, ...)"
            ) from None
        return v


def parse_config(text: str, path: str) -> tuple[ProjectConfig, YamlDoc]:
    """Parse datacanary.yml; each error names the file, the line and the field."""
    doc = load_yaml(text, path, ConfigError)
    if not isinstance(doc.data, dict):
        raise ConfigError("datacanary.yml must be a mapping with at least `name:`", doc.location(()))
    try:
        return ProjectConfig.model_validate(doc.data), doc
    except ValidationError as exc:
        raise validation_error(exc, doc) from None


def validation_error(
    exc: ValidationError,
    doc: YamlDoc | None,
    under: tuple[str | int, ...] = (),
    path: str = CONFIG_FILE,
    hint: str = "see the datacanary.yml reference in README.md",
    prefix: str = "",
) -> ConfigError:
    """The first problem of `exc` in datacanary.yml words (`unknown key`), at its line; `under` is the key
    path of the validated part inside the file (e.g. an environment's `overrides`)."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    field = prefix + (".".join(str(p) for p in loc) or "(top level)")
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = f"unknown key `{loc[-1]}`"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    if len(loc) >= 2 and loc[-2] == "columns" and err["type"] == "string_type":
        # `{id: number(38,0)}` unquoted: YAML splits the flow mapping at the comma into `id: number(38`, `0)`
        msg = f"the type of column `{loc[-1]}` must be a string, got {err['input']!r}"
        hint = 'quote a type that contains a comma, e.g. columns: {order_id: "number(38,0)"}'
    where = doc.location((*under, *loc)) if doc is not None else Location(path)
    return ConfigError(f"{field}: {msg}{more}", where, hint)
