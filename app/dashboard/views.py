"""Template contexts of the dashboard's pages, from the stores and a stored report. [pure over the values
given] The routes (app/service/routes/dashboard.py) check access first and hand only readable data here."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from app.dashboard.charts import burn_chart, lineage_graph, sparkline, volume_chart
from app.dashboard.reads import SliHistory
from app.dashboard.results import GateRun
from app.slo.budget import DEFAULT_RULES


def repo_base(full_name: str) -> str:
    return f"/dashboard/{full_name}"


def result_href(run: GateRun) -> str:
    return f"{repo_base(run.repo)}/pull/{run.pr_number or 0}/{run.head_sha}"


def check_run_links(run: GateRun, web_url: str) -> list[dict[str, str]]:
    """The check runs the gate posted, linked on GitHub."""
    return [{"name": name, "url": f"{web_url}/{run.repo}/runs/{run_id}"} for name, run_id in run.check_runs]


def model_href(run: GateRun, model: str) -> str:
    return f"{result_href(run)}/models/{quote(model, safe='')}"


def result_page(run: GateRun, report: dict[str, Any], web_url: str) -> dict[str, Any]:
    """A gate result: verdicts and findings per gate, the models the canary compared, the lineage."""
    canary = report.get("canary") or {}
    canary_models = {m.get("name"): m for m in canary.get("models") or []}
    verdicts = {m.get("model"): m for m in report.get("models") or []}
    names = list(dict.fromkeys([*verdicts, *canary_models]))
    models = [
        {
            "name": name,
            "href": model_href(run, str(name)),
            "verdict": verdicts.get(name),
            "canary": canary_models.get(name),
        }
        for name in names
        if name
    ]
    hrefs = {str(m["name"]): str(m["href"]) for m in models}
    blast = report.get("blast_radius") or {}
    return {
        "run": run,
        "report": report,
        "gates": report.get("gates") or [],
        "models": models,
        "impacts": blast.get("impacts") or [],
        "graph": lineage_graph(blast.get("graph"), hrefs),
        "check_runs": check_run_links(run, web_url),
        "canary": canary,
        "pull_url": f"{web_url}/{run.repo}/pull/{run.pr_number}" if run.pr_number else None,
    }


def model_page(run: GateRun, report: dict[str, Any], model: str) -> dict[str, Any] | None:
    """One model of a result: its verdict and its canary data diff (per column, example rows)."""
    canary = next(
        (m for m in (report.get("canary") or {}).get("models") or [] if m.get("name") == model), None
    )
    verdict = next((m for m in report.get("models") or [] if m.get("model") == model), None)
    if canary is None and verdict is None:
        return None
    recon = (canary or {}).get("reconciliation") or {}
    examples = recon.get("examples") or []
    columns = _example_columns(examples)
    findings = [
        f for g in report.get("gates") or [] for f in g.get("findings") or [] if f.get("dataset") == model
    ]
    return {
        "run": run,
        "model": model,
        "canary": canary,
        "verdict": verdict,
        "recon": recon,
        "examples": examples,
        "example_columns": columns,
        "findings": findings,
        "back": result_href(run),
    }


def _example_columns(examples: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for example in examples:
        for side in ("left", "right"):
            for column in example.get(side) or {}:
                seen.setdefault(str(column), None)
    return list(seen)


def slo_cards(histories: list[SliHistory]) -> list[dict[str, Any]]:
    """Per dataset, its SLIs with the latest status and a burn-rate chart."""
    page = DEFAULT_RULES[0]
    datasets: dict[str, list[dict[str, Any]]] = {}
    for h in histories:
        datasets.setdefault(h.dataset, []).append(
            {"h": h, "chart": burn_chart(h.points, page.factor), "rule": page.label}
        )
    return [{"dataset": d, "slis": slis} for d, slis in sorted(datasets.items())]


def health_card(dataset: str, history: list[dict[str, Any]], slis: list[SliHistory]) -> dict[str, Any]:
    """A dataset's data health: its row count over the stored profiles against the band the last volume
    check expected, the last schema change, and per column (of the newest profile that kept its
    columns) sparklines of null rate, distinct count and mean with the last distribution check's
    verdict and PSI/KS."""
    latest = {h.sli: h.latest for h in slis if h.dataset == dataset and h.sli.startswith("health.")}
    volume = (latest.get("health.volume") or {}).get("detail") or {}
    schema = (latest.get("health.schema") or {}).get("detail") or {}
    shifts = {
        str(s.get("column")): s
        for s in ((latest.get("health.distribution") or {}).get("detail") or {}).get("shifted") or []
    }
    kept = [h for h in history if h.get("columns") is not None]
    names = [c["name"] for c in kept[-1]["columns"]] if kept else []

    def series(name: str, stat: str) -> list[float | None]:
        out: list[float | None] = []
        for h in kept:
            c = next((c for c in h["columns"] if c["name"] == name), None)
            rows = int(h["rows"])
            if c is None:
                out.append(None)
            elif stat == "null_rate":
                out.append(c["nulls"] / rows if rows else None)
            else:
                out.append(c.get(stat))
        return out

    columns = []
    for name in names:
        last = next(c for c in kept[-1]["columns"] if c["name"] == name)
        columns.append(
            {
                "name": name,
                "type": last.get("type"),
                "kind": last.get("kind"),
                "null_rate": sparkline(series(name, "null_rate")),
                "distinct": sparkline(series(name, "distinct")),
                "mean": sparkline(series(name, "mean")) if last.get("kind") == "numeric" else None,
                "shift": shifts.get(name),
                "added": name in (schema.get("added") or ()),
                "retyped": next((r for r in schema.get("retyped") or () if r.get("column") == name), None),
            }
        )
    return {
        "dataset": dataset,
        "profiles": len(history),
        "volume": volume_chart(history, None if volume.get("learning") else volume.get("expected")),
        "volume_check": latest.get("health.volume"),
        "schema_check": latest.get("health.schema"),
        "distribution_check": latest.get("health.distribution"),
        "removed": list(schema.get("removed") or ()),
        "columns": columns,
    }


def health_cards(histories: dict[str, list[dict[str, Any]]], slis: list[SliHistory]) -> list[dict[str, Any]]:
    return [health_card(d, h, slis) for d, h in sorted(histories.items())]
