"""What each dataset promises, as measurable objectives: from the contract's ODCS `slaProperties` and
quality rules, plus datacanary.yml `slos:` and `invariants:` (which win where both say the same)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.contracts.model import Contract, SlaProperty
from app.project.config import DatasetSlo, InvariantConfig
from app.project.model import Project
from app.slo.durations import seconds
from app.types import Location

DEFAULT_TARGET = 0.99
DEFAULT_BUDGET_WINDOW = 30 * 86400.0


@dataclass(frozen=True, slots=True)
class Objective:
    """One SLI with its objective: `value <comparator> threshold` is good.

    `sli` is one of freshness, frequency, retention, completeness.rows, completeness.partitions,
    completeness.late_arrival, correctness, consistency, cost.duration, cost.rows, and cost.bytes (the
    old `max_bytes` key, always unknown: DuckDB has no per-table byte size).
    """

    dataset: str
    sli: str
    comparator: str  # "<=" or ">="
    threshold: float
    unit: str  # seconds | rows | partitions | ratio | groups | bytes | z | columns
    source: str  # the file that declared it
    location: Location | None = None
    params: tuple[tuple[str, Any], ...] = ()
    target: float = DEFAULT_TARGET  # share of good evaluations, for error budgets
    budget_window: float = DEFAULT_BUDGET_WINDOW  # seconds
    datasets: tuple[str, ...] = ()  # every dataset the SLI reads (the invariant's two sides)
    owners: tuple[str, ...] = ()
    name: str | None = None  # invariants are named

    @property
    def key(self) -> str:
        """Stable identity across evaluations: `dataset:sli` (`invariant:<name>` for consistency)."""
        return f"invariant:{self.name}" if self.sli == "consistency" else f"{self.dataset}:{self.sli}"

    def param(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)

    def good(self, value: float) -> bool:
        return value <= self.threshold if self.comparator == "<=" else value >= self.threshold


def collect(project: Project) -> tuple[Objective, ...]:
    """Every objective of the project, ordered by dataset then SLI."""
    found: dict[str, Objective] = {}
    for contract in project.contracts:
        for obj in _from_contract(contract, project):
            found[obj.key] = obj
    for dataset, slo in project.config.slos.items():
        for obj in _from_config(dataset, slo, project):
            found[obj.key] = obj  # datacanary.yml wins over the contract for the same SLI
    for inv in project.config.invariants:
        obj = _from_invariant(inv, project)
        found[obj.key] = obj
    return tuple(sorted(found.values(), key=lambda o: (o.dataset, o.sli, o.name or "")))


def owners_of(project: Project, dataset: str) -> tuple[str, ...]:
    """GitHub handles that own `dataset`: the contract's owners, then datacanary.yml `slos.<d>.owners`."""
    out: list[str] = []
    hit = project.contract_of(dataset)
    if hit is not None:
        out.extend(hit[0].owners)
    slo = project.config.slos.get(dataset)
    if slo is not None:
        out.extend(o for o in slo.owners if o not in out)
    return tuple(out)


def _target(project: Project, dataset: str) -> tuple[float, float]:
    slo = project.config.slos.get(dataset)
    target = slo.target if slo and slo.target else None
    window = seconds(slo.budget_window) if slo else DEFAULT_BUDGET_WINDOW
    if target is None:
        hit = project.contract_of(dataset)
        for sla in hit[0].sla if hit else ():
            if sla.property.lower() == "availability" and isinstance(sla.value, (int, float)):
                target = float(sla.value) / 100 if sla.value > 1 else float(sla.value)
    return (target or DEFAULT_TARGET), window


def _base(project: Project, dataset: str, source: str, location: Location | None) -> dict[str, Any]:
    target, window = _target(project, dataset)
    return {
        "dataset": dataset,
        "source": source,
        "location": location,
        "target": target,
        "budget_window": window,
        "datasets": (dataset,),
        "owners": owners_of(project, dataset),
    }


def _sla_dataset(contract: Contract, sla: SlaProperty) -> tuple[str | None, str | None]:
    """(dataset, column) an SLA property applies to: `element: table.column`, else the only dataset."""
    if sla.element:
        head, _, col = sla.element.partition(".")
        ds = contract.dataset(head)
        if ds is not None:
            return ds.name, col or None
    if len(contract.datasets) == 1:
        return contract.datasets[0].name, None
    return None, None


def _from_contract(contract: Contract, project: Project) -> list[Objective]:
    out: list[Objective] = []
    for sla in contract.sla:
        kind = sla.property.lower()
        dataset, column = _sla_dataset(contract, sla)
        if dataset is None or kind not in ("latency", "frequency", "retention"):
            continue
        base = _base(project, dataset, contract.path, sla.location)
        secs = seconds(sla.value, sla.unit, sla.location)
        if kind == "latency":
            out.append(
                Objective(
                    sli="freshness",
                    comparator="<=",
                    threshold=secs,
                    unit="seconds",
                    params=(("column", column),),
                    **base,
                )
            )
        elif kind == "frequency":  # refreshed at least this often: the age of the last publish
            out.append(Objective(sli="frequency", comparator="<=", threshold=secs, unit="seconds", **base))
        elif column is not None:  # retention: history this old is still there
            out.append(
                Objective(
                    sli="retention",
                    comparator=">=",
                    threshold=secs,
                    unit="seconds",
                    params=(("column", column),),
                    **base,
                )
            )
    for ds in contract.datasets:
        rules = ds.quality + tuple(q for c in ds.table_columns for q in c.quality)
        if rules:
            base = _base(project, ds.name, contract.path, ds.location)
            out.append(Objective(sli="correctness", comparator=">=", threshold=1.0, unit="ratio", **base))
    return out


def _from_config(dataset: str, slo: DatasetSlo, project: Project) -> list[Objective]:
    doc = project.config_doc
    here = doc.location(("slos", dataset))
    base = _base(project, dataset, doc.path, here)

    def at(*path: str) -> dict[str, Any]:
        return {**base, "location": doc.location(("slos", dataset, *path))}

    out: list[Objective] = []
    if slo.freshness is not None:
        loc = doc.location(("slos", dataset, "freshness", "max_lag"))
        out.append(
            Objective(
                sli="freshness",
                comparator="<=",
                threshold=seconds(slo.freshness.max_lag, None, loc),
                unit="seconds",
                params=(("column", slo.freshness.column),),
                **at("freshness"),
            )
        )
    comp = slo.completeness
    if comp is not None and comp.min_rows is not None:
        out.append(
            Objective(
                sli="completeness.rows",
                comparator=">=",
                threshold=float(comp.min_rows),
                unit="rows",
                **at("completeness", "min_rows"),
            )
        )
    if comp is not None and comp.partition_column and comp.expected_partitions:
        out.append(
            Objective(
                sli="completeness.partitions",
                comparator=">=",
                threshold=float(comp.expected_partitions),
                unit="partitions",
                params=(("column", comp.partition_column), ("grain", comp.partition_grain)),
                **at("completeness", "expected_partitions"),
            )
        )
    if comp is not None and comp.late_arrival is not None:
        late = comp.late_arrival
        loc = doc.location(("slos", dataset, "completeness", "late_arrival"))
        out.append(
            Objective(
                sli="completeness.late_arrival",
                comparator="<=",
                threshold=late.max_rate,
                unit="ratio",
                params=(
                    ("event_column", late.event_column),
                    ("arrival_column", late.arrival_column),
                    ("max_delay", seconds(late.max_delay, None, loc)),
                    ("lookback", seconds(late.lookback, None, loc)),
                ),
                **at("completeness", "late_arrival"),
            )
        )
    if slo.correctness is not None:
        out.append(
            Objective(
                sli="correctness",
                comparator=">=",
                threshold=slo.correctness.min_pass_rate,
                unit="ratio",
                params=(("weights", tuple(sorted(slo.correctness.weights.items()))),),
                **at("correctness"),
            )
        )
    if slo.cost is not None and slo.cost.max_duration:
        loc = doc.location(("slos", dataset, "cost", "max_duration"))
        out.append(
            Objective(
                sli="cost.duration",
                comparator="<=",
                unit="seconds",
                threshold=seconds(slo.cost.max_duration, None, loc),
                **at("cost", "max_duration"),
            )
        )
    if slo.cost is not None and slo.cost.max_rows:
        out.append(
            Objective(
                sli="cost.rows",
                comparator="<=",
                threshold=float(slo.cost.max_rows),
                unit="rows",
                **at("cost", "max_rows"),
            )
        )
    out.extend(_health(dataset, slo, at))
    if slo.cost is not None and slo.cost.max_bytes:
        out.append(
            Objective(
                sli="cost.bytes",
                comparator="<=",
                threshold=float(slo.cost.max_bytes),
                unit="bytes",
                **at("cost", "max_bytes"),
            )
        )
    return out


def _health(dataset: str, slo: DatasetSlo, at: Callable[..., dict[str, Any]]) -> list[Objective]:
    """`slos.<d>.health`: volume (modified z-score <= max_z), schema (breaking column changes <= 0) and
    distribution (columns shifted to a breach <= 0); their parameters ride on the objective."""
    h = slo.health
    if h is None:
        return []
    monitors: list[tuple[str, Any, float, str]] = []
    if h.volume is not None:
        monitors.append(("volume", h.volume, h.volume.max_z, "z"))
    if h.schema_ is not None:
        monitors.append(("schema", h.schema_, 0.0, "columns"))
    if h.distribution is not None:
        monitors.append(("distribution", h.distribution, 0.0, "columns"))
    return [
        Objective(
            sli=f"health.{name}",
            comparator="<=",
            threshold=threshold,
            unit=unit,
            params=tuple(
                sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in conf.model_dump().items())
            ),
            **at("health", name),
        )
        for name, conf, threshold, unit in monitors
    ]


def _from_invariant(inv: InvariantConfig, project: Project) -> Objective:
    index = project.config.invariants.index(inv)
    base = _base(
        project, inv.left.dataset, project.config_doc.path, project.config_doc.location(("invariants", index))
    )
    base["datasets"] = tuple(dict.fromkeys((inv.left.dataset, inv.right.dataset)))
    base["owners"] = tuple(
        dict.fromkeys(owners_of(project, inv.left.dataset) + owners_of(project, inv.right.dataset))
    )
    return Objective(
        sli="consistency",
        comparator="<=",
        threshold=0.0,
        unit="groups",
        name=inv.name,
        params=(("invariant", inv),),
        **base,
    )
