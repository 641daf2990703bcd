"""Score datacanary's per-model verdicts on the labeled dbt corpus (README.md): per verdict, how many
labeled models got exactly their label, and how many blocking findings no scenario expects.

    python benchmarks/dbt_corpus/score.py [--canary] [scenario ...]

Each scenario is a PR over `project/` (jaffle_shop_duckdb plus a few models written for the corpus):
the base manifest is `project/target/manifest.json`, the head one `scenarios/<name>/manifest.json`,
both compiled by dbt (regenerate.py). Exit status 1 when any labeled model is wrong or a blocking
finding is unexpected.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from app.project.tree import MemoryTree  # noqa: E402

TODAY = dt.date(2026, 1, 1)


@dataclass
class Outcome:
    """One scenario: per labeled model (label, what the report says), and the blocking findings."""

    scenario: str
    models: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = field(default_factory=list)
    unlabeled: list[dict[str, Any]] = field(default_factory=list)  # verdicts no label asks for
    unexpected_blocking: list[str] = field(default_factory=list)
    missing_blocking: list[str] = field(default_factory=list)
    seconds: float = 0.0


def scenarios() -> list[Path]:
    return sorted(p for p in (HERE / "scenarios").iterdir() if (p / "labels.yaml").is_file())


def _files(scenario: Path | None) -> dict[str, str | bytes]:
    project = HERE / "project"
    files: dict[str, str | bytes] = {
        p.relative_to(project).as_posix(): p.read_bytes()
        for p in project.rglob("*")
        if p.is_file() and "target" not in p.relative_to(project).parts
    }
    if scenario is not None:
        changes = scenario / "changes"
        files.update(
            {p.relative_to(changes).as_posix(): p.read_bytes() for p in changes.rglob("*") if p.is_file()}
        )
        for path in yaml.safe_load((scenario / "labels.yaml").read_text()).get("removed_files") or ():
            files.pop(path)
    return files


def _label(value: str | dict[str, Any]) -> dict[str, Any]:
    label = {"verdict": value} if isinstance(value, str) else dict(value)
    label.setdefault("detail", None)
    label.setdefault("renamed_from", None)
    label["columns"] = dict(label.get("columns") or {})
    return label


def _seen(verdict: dict[str, Any]) -> dict[str, Any]:
    return {
        "verdict": verdict["verdict"],
        "detail": verdict["detail"],
        "renamed_from": verdict["renamed_from"],
        "columns": {c["old"]: c["new"] for c in verdict["columns_renamed"]},
    }


def _right(label: dict[str, Any], seen: dict[str, Any] | None) -> bool:
    if seen is None or seen["verdict"] != label["verdict"] or seen["detail"] != label["detail"]:
        return False
    if label["verdict"] == "rename":
        return seen["renamed_from"] == label["renamed_from"] and seen["columns"] == label["columns"]
    return True


def run_scenario(scenario: Path, *, canary: bool = False) -> Outcome:
    from app.pipeline import evaluate
    from app.project.dbt import load_manifest

    labels = yaml.safe_load((scenario / "labels.yaml").read_text())
    start = time.perf_counter()
    base_tree = MemoryTree(_files(None), label="base")
    head_tree = MemoryTree(_files(scenario), label=scenario.name)
    base = load_manifest(HERE / "project" / "target" / "manifest.json", base_tree)
    head = load_manifest(scenario / "manifest.json", head_tree)
    report = evaluate(
        base.project, head.project, head_tree=head_tree, canary=canary, today=TODAY, dbt=(base, head)
    ).to_json()
    out = Outcome(scenario.name, seconds=time.perf_counter() - start)
    verdicts = {v["model"]: v for v in report["models"]}
    for model, value in labels["models"].items():
        seen = verdicts.get(model)
        out.models.append((model, _label(value), _seen(seen) if seen else None))
    out.unlabeled = [v for m, v in verdicts.items() if m not in labels["models"]]
    expected = {
        (b["rule"], b["dataset"]) for b in labels.get("blocking") or () if canary or not b.get("canary")
    }
    blocking = [f for g in report["gates"] for f in g["findings"] if f["blocking"]]
    found = {(f["rule"], f["dataset"]) for f in blocking}
    out.unexpected_blocking = [
        f"{f['rule']} {f['dataset']}: {f['message']} ({f['file']}:{f['line']})"
        for f in blocking
        if (f["rule"], f["dataset"]) not in expected
    ]
    out.missing_blocking = [f"{r} {d}" for r, d in sorted(expected - found)]
    return out


def score(outcomes: Iterable[Outcome]) -> dict[str, tuple[int, int]]:
    """verdict -> (right, labeled)."""
    out: dict[str, tuple[int, int]] = {}
    for o in outcomes:
        for _, label, seen in o.models:
            right, total = out.get(label["verdict"], (0, 0))
            out[label["verdict"]] = (right + _right(label, seen), total + 1)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--canary", action="store_true", help="run the canary too (slower)")
    parser.add_argument("names", nargs="*", help="only these scenarios")
    args = parser.parse_args(argv)
    outcomes = [
        run_scenario(s, canary=args.canary) for s in scenarios() if not args.names or s.name in args.names
    ]
    w = sys.stdout.write
    for o in outcomes:
        w(f"{o.scenario} ({o.seconds:.1f} s)\n")
        for model, label, seen in o.models:
            mark = "ok   " if _right(label, seen) else "WRONG"
            w(f"  {mark} {model}: labeled {_show(label)}, got {_show(seen) if seen else 'no verdict'}\n")
        for v in o.unlabeled:
            w(f"  extra {v['model']}: {_show(_seen(v))} (no label)\n")
        for f in o.unexpected_blocking:
            w(f"  FALSE BLOCKER {f}\n")
        for f in o.missing_blocking:
            w(f"  MISSED BLOCKER {f}\n")
    table = score(outcomes)
    w("\nverdict            right / labeled\n")
    for verdict, (right, total) in sorted(table.items()):
        w(f"  {verdict:<16} {right:>5} / {total}\n")
    right = sum(r for r, _ in table.values())
    total = sum(t for _, t in table.values())
    false_blockers = sum(len(o.unexpected_blocking) for o in outcomes)
    missed = sum(len(o.missing_blocking) for o in outcomes)
    extra = sum(len(o.unlabeled) for o in outcomes)
    w(f"  {'all':<16} {right:>5} / {total}\n")
    w(
        f"false blocking findings: {false_blockers}; expected blockers missed: {missed}; unlabeled verdicts: {extra}\n"
    )
    return 0 if right == total and not false_blockers and not missed and not extra else 1


def _show(v: dict[str, Any]) -> str:
    text = v["verdict"] + (f" ({v['detail']})" if v.get("detail") else "")
    if v.get("renamed_from"):
        text += f" from {v['renamed_from']}"
    if v.get("columns"):
        text += " " + ", ".join(f"{a}->{b}" for a, b in v["columns"].items())
    return text


if __name__ == "__main__":
    raise SystemExit(main())
