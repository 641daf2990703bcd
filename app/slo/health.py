"""Data-health telemetry (Elementary/Soda-style monitors) as SLIs: volume anomaly against a seasonal
baseline, schema drift since the last evaluation, and distribution shift per column. [pure]

A table's *profile* (one pass, app.slo.health_sql) holds its row count and, per column, the type, the
null rate, an approximate distinct count, and for numeric columns the mean and a 21-point quantile
sketch, for categorical ones the frequencies of 64 buckets of the values (an md5 of the value's text,
the same on DuckDB, PostgreSQL and Spark: bucket scheme SCHEME). Profiles are stored per
evaluation (app.slo.health_store); the judges here compare the current profile with stored ones.

The tests and their thresholds (configurable per dataset, `slos.<d>.health`):
- volume: the modified z-score of Iglewicz and Hoaglin, 0.6745 * (rows - median) / MAD over the last
  `history` evaluations in the same seasonal bucket; anomalous above `max_z` (3.5). A deviation under
  `min_deviation` (1%) of the median is never an anomaly (a constant table has MAD 0).
- distribution: the population stability index, PSI = sum((a - e) * ln(a / e)), over category buckets
  and over the baseline's deciles of numeric columns (warn >= 0.1, breach >= 0.2, the usual credit-risk
  bands), and the two-sample Kolmogorov-Smirnov statistic D = max |F_base - F_now| over the quantile
  sketches (breach when D >= 0.2 and significant at alpha 0.01, D > 1.628 * sqrt((n + m) / (n m)): with
  millions of rows every wobble is significant, so the effect size decides), and the null rate
  (breach when it moves by >= 0.1).
With too little history a check is `learning`: status unknown (never counted good or bad, never pages)
with `detail.learning` set and the reason saying how much history it has.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.slo.objectives import Objective
from app.slo.status import SliResult, judge

SLIS = ("health.volume", "health.schema", "health.distribution")
QUANTILES = tuple(i / 20 for i in range(21))  # the numeric sketch: every 5%
BUCKETS = 64  # hash buckets of categorical values
# How a categorical value is bucketed: 2 = md5-48 of its text % 64, the same on every engine
# (app.slo.health_sql); 1 = DuckDB's HASH() % 64, what profiles stored before engines were supported hold.
# Buckets of different schemes are never compared (a false shift): the older profile counts as absent.
SCHEME = 2
LEGACY_SCHEME = 1
EPS = 1e-4  # PSI smoothing of empty bins
KS_C_ALPHA = 1.628  # c(alpha) of the two-sample KS test at alpha = 0.01


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    name: str
    type: str
    kind: str  # numeric | categorical | other
    nulls: int
    distinct: int
    mean: float | None = None
    quantiles: tuple[float, ...] = ()  # at QUANTILES, numeric only
    buckets: Mapping[str, int] = field(default_factory=dict)  # categorical only
    scheme: int = SCHEME  # how `buckets` were computed

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "kind": self.kind,
            "nulls": self.nulls,
            "distinct": self.distinct,
            "mean": self.mean,
            "quantiles": list(self.quantiles),
            "buckets": dict(self.buckets),
            "bucket_scheme": self.scheme,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ColumnProfile:
        return cls(
            d["name"],
            d["type"],
            d["kind"],
            int(d["nulls"]),
            int(d["distinct"]),
            d.get("mean"),
            tuple(float(q) for q in d.get("quantiles") or ()),
            {str(k): int(v) for k, v in (d.get("buckets") or {}).items()},
            int(d.get("bucket_scheme", LEGACY_SCHEME)),  # stored before schemes were recorded: HASH()
        )


@dataclass(frozen=True, slots=True)
class Profile:
    """One table at one evaluation."""

    dataset: str
    at: dt.datetime
    rows: int
    columns: tuple[ColumnProfile, ...] | None  # None: pruned from the store (only the row count kept)
    statuses: Mapping[str, str] = field(default_factory=dict)  # health sli -> status, once judged

    def column(self, name: str) -> ColumnProfile | None:
        return next((c for c in self.columns or () if c.name == name), None)

    def status(self, sli: str) -> str | None:
        return self.statuses.get(sli)

    def schemes(self) -> set[int]:
        """The bucket schemes of its categorical columns."""
        return {c.scheme for c in self.columns or () if c.kind == "categorical"}


# --- the statistical tests -------------------------------------------------------------------------


def psi(expected: Mapping[str, float], actual: Mapping[str, float]) -> float:
    """Population stability index of two frequency tables (counts or shares), empty bins smoothed.

    >>> psi({"a": 50, "b": 50}, {"a": 50, "b": 50})
    0.0
    """
    keys = set(expected) | set(actual)
    te, ta = sum(expected.values()), sum(actual.values())
    if te <= 0 or ta <= 0:
        return 0.0
    total = 0.0
    for k in keys:
        e = max(expected.get(k, 0) / te, EPS)
        a = max(actual.get(k, 0) / ta, EPS)
        total += (a - e) * math.log(a / e)
    return total


def cdf(sketch: Sequence[float], x: float) -> float:
    """The share of values <= x, read off a quantile sketch at QUANTILES (right-continuous, linear
    between sketch points; ties in the data are flat runs of the sketch)."""
    if not sketch or x < sketch[0]:
        return 0.0
    if x >= sketch[-1]:
        return 1.0
    ps = (
        QUANTILES
        if len(sketch) == len(QUANTILES)
        else tuple(i / (len(sketch) - 1) for i in range(len(sketch)))
    )
    best = 0.0
    for i in range(len(sketch) - 1):
        lo, hi = sketch[i], sketch[i + 1]
        if x >= hi:
            best = ps[i + 1]
        elif lo <= x < hi:
            best = max(best, ps[i] + (ps[i + 1] - ps[i]) * (x - lo) / (hi - lo))
    return best


def ks(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sample Kolmogorov-Smirnov statistic of two quantile sketches: max |F_a - F_b| over both
    sketches' points."""
    if not a or not b:
        return 0.0
    return max(abs(cdf(a, x) - cdf(b, x)) for x in (*a, *b))


def ks_critical(n: int, m: int) -> float:
    """The KS statistic above which two samples of n and m differ at alpha 0.01."""
    return KS_C_ALPHA * math.sqrt((n + m) / (n * m)) if n > 0 and m > 0 else math.inf


def binned_psi(base: Sequence[float], now: Sequence[float]) -> float:
    """PSI of a numeric column over the baseline's deciles, both shares read off the sketches."""
    edges = sorted(set(cdf_edges(base)))
    if not edges:
        return 0.0

    def shares(sketch: Sequence[float]) -> dict[str, float]:
        cuts = [0.0, *(cdf(sketch, e) for e in edges), 1.0]
        return {str(i): max(cuts[i + 1] - cuts[i], 0.0) for i in range(len(cuts) - 1)}

    return psi(shares(base), shares(now))


def cdf_edges(sketch: Sequence[float]) -> list[float]:
    return [sketch[i] for i in range(2, len(sketch) - 1, 2)] if len(sketch) == len(QUANTILES) else []


def robust_z(value: float, history: Sequence[float], min_deviation: float) -> tuple[float, float, float]:
    """(modified z-score, median, scale) of `value` against `history`; the scale is 1.4826 * MAD,
    floored at `min_deviation` of the median (and at one row) so a constant history still judges."""
    xs = sorted(history)
    med = _median(xs)
    mad = _median(sorted(abs(x - med) for x in xs))
    scale = max(1.4826 * mad, min_deviation * abs(med), 1.0)
    return (value - med) / scale, med, scale


def _median(xs: Sequence[float]) -> float:
    n = len(xs)
    return 0.0 if n == 0 else (xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2)


def bucket(at: dt.datetime, season: str) -> int:
    """The seasonal bucket of an evaluation time (UTC)."""
    utc = at.astimezone(dt.UTC)
    if season == "hour_of_day":
        return utc.hour
    if season == "day_of_week":
        return utc.weekday()
    if season == "hour_of_week":
        return utc.weekday() * 24 + utc.hour
    return 0


# --- the judges --------------------------------------------------------------------------------------


def learning(obj: Objective, reason: str, detail: Mapping[str, Any] | None = None) -> SliResult:
    return judge(obj, None, {**(detail or {}), "learning": True}, reason=f"learning: {reason}")


def volume(obj: Objective, now: Profile, past: Sequence[Profile]) -> SliResult:
    """The row count against the same seasonal bucket of the last `history` evaluations."""
    season = str(obj.param("season", "none"))
    want = int(obj.param("history", 20))
    need = int(obj.param("min_history", 5))
    here = bucket(now.at, season)
    same = [p.rows for p in past if bucket(p.at, season) == here][:want]
    detail: dict[str, Any] = {"rows": now.rows, "season": season, "bucket": here, "history": len(same)}
    if len(same) < need:
        return learning(obj, f"{len(same)} of {need} evaluation(s) in this seasonal bucket", detail)
    z, med, scale = robust_z(
        float(now.rows), [float(x) for x in same], float(obj.param("min_deviation", 0.01))
    )
    direction = str(obj.param("direction", "both"))
    signed = z if direction == "spike" else -z if direction == "drop" else abs(z)
    lo, hi = med - obj.threshold * scale, med + obj.threshold * scale
    detail.update({"median": med, "z": z, "expected": [max(lo, 0.0), hi]})
    return judge(obj, max(signed, 0.0), detail)


def schema(obj: Objective, now: Profile, previous: Profile | None) -> SliResult:
    """Columns added, removed or retyped since the previous evaluation; added ones count only when
    `added: breach`."""
    if previous is None or previous.columns is None or now.columns is None:
        return learning(obj, "no earlier evaluation to compare the columns with")
    before = {c.name: c.type for c in previous.columns}
    after = {c.name: c.type for c in now.columns}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    retyped = [
        {"column": n, "from": before[n], "to": after[n]}
        for n in sorted(set(before) & set(after))
        if before[n] != after[n]
    ]
    count = len(removed) + len(retyped) + (len(added) if obj.param("added", "warn") == "breach" else 0)
    detail = {"added": added, "removed": removed, "retyped": retyped, "since": previous.at.isoformat()}
    reason = None
    if added or removed or retyped:
        parts = [f"added {', '.join(added)}"] if added else []
        parts += [f"removed {', '.join(removed)}"] if removed else []
        moved = ", ".join(f"{r['column']} {r['from']} -> {r['to']}" for r in retyped)
        parts += [f"retyped {moved}"] if retyped else []
        reason = "; ".join(parts) + f" since {previous.at.isoformat()}"
    return judge(obj, float(count), detail, reason=reason)


def column_shift(obj: Objective, base: ColumnProfile, cur: ColumnProfile, n: int, m: int) -> dict[str, Any]:
    """Every test of one column, each with its level (ok | warn | breach), and the column's worst."""
    psi_warn, psi_breach = float(obj.param("psi_warn", 0.1)), float(obj.param("psi_breach", 0.2))
    ks_warn, ks_breach = float(obj.param("ks_warn", 0.1)), float(obj.param("ks_breach", 0.2))
    null_breach = float(obj.param("null_rate_breach", 0.1))
    out: dict[str, Any] = {"column": cur.name, "kind": cur.kind}
    levels = []
    nr_b = base.nulls / n if n else 0.0
    nr_c = cur.nulls / m if m else 0.0
    out["null_rate"] = [nr_b, nr_c]
    out["distinct"] = [base.distinct, cur.distinct]
    levels.append(
        "breach"
        if abs(nr_c - nr_b) >= null_breach
        else "warn"
        if abs(nr_c - nr_b) >= null_breach / 2
        else "ok"
    )
    value: float | None = None
    if cur.kind == "categorical" and base.kind == "categorical":
        value = psi(base.buckets, cur.buckets)
    elif cur.kind == "numeric" and base.kind == "numeric" and base.quantiles and cur.quantiles:
        value = binned_psi(base.quantiles, cur.quantiles)
        d = ks(base.quantiles, cur.quantiles)
        significant = d > ks_critical(n - base.nulls, m - cur.nulls)
        out["ks"] = d
        out["mean"] = [base.mean, cur.mean]
        out["median"] = [base.quantiles[10], cur.quantiles[10]]
        levels.append(
            "breach" if significant and d >= ks_breach else "warn" if significant and d >= ks_warn else "ok"
        )
    if value is not None:
        out["psi"] = value
        levels.append("breach" if value >= psi_breach else "warn" if value >= psi_warn else "ok")
    out["level"] = "breach" if "breach" in levels else "warn" if "warn" in levels else "ok"
    return out


def distribution(obj: Objective, now: Profile, baseline: Profile | None) -> SliResult:
    """Columns whose distribution shifted from the baseline (the last evaluation this check did not
    breach): the SLI is the number of columns at `breach`, warnings are listed."""
    if baseline is None or baseline.columns is None or now.columns is None:
        return learning(obj, "no earlier profile of this dataset to compare with")
    if baseline.schemes() - now.schemes():
        old = ", ".join(str(s) for s in sorted(baseline.schemes() - now.schemes()))
        return learning(
            obj,
            f"the baseline of {baseline.at.isoformat()} bucketed categories by scheme {old} (DuckDB's HASH),"
            f" this profile by scheme {SCHEME} (md5, the same on every engine): not comparable, so this"
            " profile starts the baseline",
            {"baseline": baseline.at.isoformat(), "bucket_scheme": [sorted(baseline.schemes()), SCHEME]},
        )
    wanted = set(obj.param("columns", ()) or ())
    shifts = []
    for cur in now.columns:
        base = baseline.column(cur.name)
        if (
            base is None
            or (wanted and cur.name not in wanted)
            or cur.name in set(obj.param("exclude", ()) or ())
        ):
            continue
        shifts.append(column_shift(obj, base, cur, baseline.rows, now.rows))
    shifted = [s for s in shifts if s["level"] != "ok"]
    breached = [s["column"] for s in shifted if s["level"] == "breach"]
    detail = {"baseline": baseline.at.isoformat(), "columns": len(shifts), "shifted": shifted}
    reason = f"shifted since {baseline.at.isoformat()}: {', '.join(breached)}" if breached else None
    return judge(obj, float(len(breached)), detail, reason=reason)


def previous(history: Sequence[Profile]) -> Profile | None:
    """The newest stored profile that still has its columns."""
    return next((p for p in history if p.columns is not None), None)


def baseline(history: Sequence[Profile], sli: str, accept_after: int) -> Profile | None:
    """The newest profile this check did not breach; after `accept_after` breaches in a row the newest
    profile is the baseline (the shift is accepted as the new normal, and said so in its detail)."""
    streak = 0
    for p in history:
        if p.status(sli) != "breach":
            return p if p.columns is not None else None
        streak += 1
        if streak >= accept_after:
            return previous(history)
    return previous(history) if streak else None


def judge_all(objectives: Sequence[Objective], now: Profile, history: Sequence[Profile]) -> list[SliResult]:
    """Every health objective of one dataset; `history` is newest first and excludes `now`."""
    out = []
    for obj in objectives:
        if obj.sli == "health.volume":
            out.append(volume(obj, now, history))
        elif obj.sli == "health.schema":
            out.append(schema(obj, now, previous(history)))
        else:
            out.append(distribution(obj, now, baseline(history, obj.sli, int(obj.param("accept_after", 12)))))
    return out
