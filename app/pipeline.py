"""Run the gates on a change: the one composition of the engine that the CLI, the Action and the App
share. Reads git (the edge), then hands plain values to the pure engine.

    load base & head projects -> contract changes (+ policy) -> SQL drift and output changes
    -> blast radius (column lineage) -> canary on changed models and their downstream -> RunReport
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from app.errors import DatacanaryError
from app.findings import Acceptance, Finding
from app.gate.result import GateResult, RunReport
from app.project.model import Project
from app.types import Severity

if TYPE_CHECKING:  # only for annotations: the engine modules load lazily, inside the functions
    from app.canary.run import Renamed
    from app.contracts.model import Contract
    from app.contracts.rules import Change
    from app.dbt.project import DbtProject
    from app.project.tree import Tree
    from app.sql.analysis import Analysis
    from app.sql.blast import BlastRadius
    from app.sql.verdicts import ModelVerdict

    DbtPair: TypeAlias = tuple[DbtProject, DbtProject]  # (base, head)

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Acknowledgment:
    """A person with write access accepted the breaking changes of one head commit (GitHub App button)."""

    sha: str
    by: str
    at: str  # ISO timestamp


def run_check(
    repo: Path,
    base: str,
    head: str,
    project_dir: str = "",
    *,
    canary: bool = True,
    today: dt.date | None = None,
    progress: Progress | None = None,
    base_manifest: Path | None = None,
    head_manifest: Path | None = None,
    acknowledgments: Sequence[Acknowledgment] = (),
) -> RunReport:
    """Compare `base` and `head` of the git repository at `repo` and return the report."""
    from app.project.git import GitTree, repo_root

    say = progress or (lambda _msg: None)
    repo = repo_root(repo)
    base_tree, head_tree = GitTree(repo, base), GitTree(repo, head)
    say(f"reading {base_tree.label} and {head_tree.label}")
    dbt = _load_dbt(base_tree, head_tree, project_dir, base_manifest, head_manifest)
    base_project: Project | None  # the base revision may predate the project
    if dbt is not None:
        base_dbt, head_dbt = dbt
        head_project, base_project = head_dbt.project, base_dbt.project
        loader_notes = list(dict.fromkeys([*base_dbt.notes, *head_dbt.notes]))  # said once when both say it
    else:
        head_project = _load(head_tree, project_dir)
        base_project = _load_base(base_tree, project_dir)
        loader_notes = []
    history, history_warnings = _history(repo, head, head_project)
    report = evaluate(
        base_project,
        head_project,
        head_tree=head_tree,
        base_tree=base_tree,
        canary=canary,
        today=today or dt.date.today(),
        progress=say,
        history=history,
        acknowledgment=next((a for a in acknowledgments if a.sha == head_tree.sha), None),
        dbt=dbt,
    )
    if history_warnings or loader_notes:
        from dataclasses import replace

        report = replace(report, notes=(*loader_notes, *report.notes, *history_warnings))
    return report


def canary_plan(
    base: Project, head: Project, base_an: Analysis, head_an: Analysis, dbt: DbtPair | None
) -> tuple[list[str], tuple[str, ...]]:
    """The models the canary runs and the sources it loads per side (`run_canary`'s `per_side`): for a
    dbt project dbt's state:modified+ (seeds, configs and contracts count too; an edited seed is read
    per side), else the models whose output can change and their downstream."""
    if dbt is not None:
        from app.dbt.select import state_modified
        from app.sql.changes import classify_models

        kinds = {n: c.kind for n, c in classify_models(base_an, head_an).items()}
        state = state_modified(dbt[0], dbt[1], kinds)
        return list(state.selected), state.seeds
    from app.gate.broken import canary_selection

    return canary_selection(base, head, base_an, head_an), ()


def _load_dbt(
    base_tree: Tree,
    head_tree: Tree,
    project_dir: str,
    base_manifest: Path | None,
    head_manifest: Path | None,
) -> DbtPair | None:
    """Base and head of a dbt project (manifests on disk, or committed), or None for a plain project."""
    from app.project.tree import join

    if head_manifest is None and base_manifest is None:
        if not head_tree.exists(join(project_dir, "dbt_project.yml")):
            return None
        from app.project.dbt import load_dbt

        return load_dbt(base_tree, project_dir), load_dbt(head_tree, project_dir)
    if head_manifest is None or base_manifest is None:
        from app.errors import UsageError

        # comparing against nothing would let every breaking change pass unseen
        raise UsageError(
            "--manifest and --base-manifest go together",
            hint="compile both revisions: `dbt compile --target-path target-base` on the base commit, "
            "`dbt compile` on the head commit, then pass both manifests",
        )
    from app.project.dbt import load_manifest

    return load_manifest(base_manifest, base_tree, project_dir), load_manifest(
        head_manifest, head_tree, project_dir
    )


def _load(tree: Tree, project_dir: str) -> Project:
    from app.project.load import load_project

    return load_project(tree, project_dir)


def _load_base(tree: Tree, project_dir: str) -> Project | None:
    """The base revision may predate the project: then everything in head is new."""
    from app.project.config import CONFIG_FILE
    from app.project.tree import join

    if not tree.exists(join(project_dir, CONFIG_FILE)) and not tree.exists(
        join(project_dir, "dbt_project.yml")
    ):
        return None
    return _load(tree, project_dir)


def _history(repo: Path, head: str, project: Project) -> tuple[dict[str, list[Contract]], list[str]]:
    """Earlier versions of contracts whose compatibility mode is transitive (read from git), and
    warnings about versions that could not be read (said in the report, never skipped silently)."""
    wanted = [c.path for c in project.contracts if c.compatibility.endswith("_transitive")]
    if not wanted:
        return {}, []
    from app.project.history import read_contract_history

    versions: dict[str, list[Contract]] = {}
    warnings: list[str] = []
    for path in wanted:
        found = read_contract_history(repo, path, head)
        versions[path] = list(found.versions)
        warnings.extend(found.warnings)
    return versions, warnings


def evaluate(
    base: Project | None,
    head: Project,
    *,
    head_tree: Tree,
    base_tree: Tree | None = None,
    canary: bool = True,
    today: dt.date,
    progress: Progress | None = None,
    history: Mapping[str, Sequence[Contract]] | None = None,
    acknowledgment: Acknowledgment | None = None,
    dbt: DbtPair | None = None,  # for dbt projects
) -> RunReport:
    """The engine part of `run_check`, over loaded projects (dbt and artifact loaders call it too)."""
    from app.sql.analyze import analyze, edited_models

    if dbt is not None:  # dbt's own contract rules on top of datacanary's (versions, enforcement)
        from app.dbt.rules import dbt_contract_findings as contract_findings
    else:
        from app.contracts.gate import contract_findings

    say = progress or (lambda _msg: None)
    say(f"analyzing {len(head.models)} models and {len(head.contracts)} contracts")
    # lenient: a model reading a column its upstream dropped is a finding of this change, not bad input
    # the models whose SQL changed: their qualified trees are kept for telling equivalent changes
    edited = edited_models(base, head) if base is not None else frozenset()
    head_an = analyze(head, strict=False, keep=edited)
    if dbt is not None:  # a model whose Jinja could not be rendered is broken by that, not by empty SQL
        head_an = dbt[1].mark_unrendered(head_an)
    notes: list[str] = [
        f"{table}: no declared columns (no yml columns, catalog.json or datacanary.yml); the models' "
        f"references to {', '.join(cols)} were taken as they are, untyped"
        for table, cols in head_an.inferred_columns().items()
        if table in head_an.sources  # a broken model read so has its own finding
    ]
    base_an = None
    if base is not None:
        try:
            base_an = analyze(base, strict=False, keep=edited)
            base_an = dbt[0].mark_unrendered(base_an) if dbt is not None else base_an
        except DatacanaryError as exc:  # a broken base must not hide what head does
            notes.append(
                f"the base revision could not be analyzed ({exc.message}); SQL changes are not compared"
            )

    from app.gate.broken import broken_findings

    refused, invalid = broken_findings(head, head_an, base, base_an)  # one bad model, one finding
    findings = list(contract_findings(base, head, today=today, history=history or {}))
    findings += invalid
    findings += _sql_findings(base, head, base_an, head_an, today)
    findings += [_unresolved(problem) for problem in head_an.problems]
    if acknowledgment is not None:
        findings = [_acknowledge(f, acknowledgment) for f in findings]

    blast = _blast(head, head_an, base_an, findings)
    gates = [GateResult("contracts", tuple(findings))]
    canary_section = None
    if not canary or not head.config.canary.enabled:
        skipped = "disabled" if canary else "--no-canary"
        gates.append(GateResult("canary", tuple(refused), skipped_reason=skipped))
    elif base is None or base_an is None:
        missing = (*refused, *_missing_samples(head, head_tree))
        gates.append(GateResult("canary", missing, skipped_reason="no comparable base revision"))
    else:
        from app.canary.run import run_canary

        selected, per_side = canary_plan(base, head, base_an, head_an, dbt)
        if not selected:
            # nothing to run, but a broken sample path would silently blind the next canary
            skipped = "no model's output can change"
            missing = (*refused, *_missing_samples(head, head_tree))
            gates.append(GateResult("canary", missing, skipped_reason=skipped))
        else:
            say(f"canary: {len(selected)} model(s): {', '.join(selected)}")
            result = run_canary(
                base,
                head,
                base_an,
                head_an,
                head_tree=head_tree,
                selected=selected,
                progress=say,
                renames=_canary_renames(base_an, head_an),
                base_tree=base_tree,
                per_side=per_side,
            )
            canary_section = result
            notes += result.notes
            gates.append(GateResult("canary", (*refused, *result.findings)))
    return RunReport(
        project=head.config.name,
        base=base.label if base else "(none)",
        head=head.label,
        gates=tuple(gates),
        blast_radius=blast,
        canary=canary_section,
        notes=tuple(notes),
        models=_verdicts(base, head, base_an, head_an, dbt),
    )


def _verdicts(
    base: Project | None, head: Project, base_an: Analysis | None, head_an: Analysis, dbt: DbtPair | None
) -> tuple[ModelVerdict, ...]:
    """One verdict per directly changed model (SQL or properties), from the SQL, never from data."""
    from app.gate.broken import changed_broken
    from app.project import properties as p
    from app.sql.verdicts import CodeFacts, model_verdicts

    facts = CodeFacts(
        properties_changed=frozenset(p.properties_changed(base, head, dbt)),
        hidden_branches=p.incremental_branch_changed(dbt),
        same_code=frozenset(p.same_code_incremental(dbt)),
        broken_changed=frozenset(changed_broken(base, head, head_an)),
    )
    return model_verdicts(base_an, head_an, facts)


def _canary_renames(base_an: Analysis, head_an: Analysis) -> Renamed:
    """The change's renames as the canary pairs relations: head model -> base name, columns old -> new."""
    from app.canary.run import Renamed
    from app.sql.changes import change_renames

    found = change_renames(base_an, head_an)
    return Renamed({new: old for old, new in found.models.items()}, dict(found.columns))


def _sql_findings(
    base: Project | None, head: Project, base_an: Analysis | None, head_an: Analysis, today: dt.date
) -> list[Finding]:
    """Implementation drift (SQL vs its own contract) and output changes of uncontracted models."""
    from app.contracts.policy import apply_policy
    from app.sql.drift import drift

    out: list[Finding] = []
    by_dataset: dict[str, list[Change]] = {}
    for change in drift(head_an, head):
        by_dataset.setdefault(change.dataset, []).append(change)
    for dataset, changes in sorted(by_dataset.items()):
        hit = head.contract_of(dataset)
        contract = hit[0] if hit else None
        out += apply_policy(
            changes,
            base=contract,
            head=contract,
            policy=head.config.policy,
            waivers=head.config.waivers,
            today=today,
            config_location=head.config_doc.location,
            dialect=head.config.dialect,
            report_expired=False,  # the contracts pass already reported expired waivers once
        )
    if base_an is not None:
        from app.sql.changes import output_changes

        level = Severity(head.config.policy.uncontracted_changes)
        for ch in output_changes(base_an, head_an, base, head):
            breaking = ch.impact.value in ("breaking", "unknown")
            out.append(
                Finding(
                    gate="contracts",
                    rule=ch.kind.value,
                    severity=level if breaking else Severity.NOTICE,
                    message=ch.message,
                    dataset=ch.dataset,
                    column=ch.column,
                    location=ch.location,
                    impact=ch.impact,
                    old=ch.old,
                    new=ch.new,
                    hint="add a contract for this model to make this change a reviewed promise"
                    if breaking
                    else None,
                )
            )
    return out


def _acknowledge(f: Finding, ack: Acknowledgment) -> Finding:
    if not f.blocking:
        return f
    from dataclasses import replace

    return replace(
        f, accepted=Acceptance(by="acknowledgment", reason=f"acknowledged by @{ack.by} at {ack.at}")
    )


def _missing_samples(head: Project, head_tree: Tree) -> tuple[Finding, ...]:
    from app.canary.config_check import missing_sample_files

    return tuple(missing_sample_files(head, head_tree.exists))


def _unresolved(problem: DatacanaryError) -> Finding:
    """A model that reads a column its upstream no longer produces: it would fail in production."""
    from app.types import Impact

    return Finding(
        gate="contracts",
        rule="sql-unresolved-column",
        severity=Severity.ERROR,
        message=problem.message,
        location=problem.location,
        impact=Impact.BREAKING,
        hint=problem.hint or "update the model, or keep the upstream column until its readers move",
        dataset=problem.location.path.rsplit("/", 1)[-1].removesuffix(".sql") if problem.location else None,
    )


def _blast(
    head: Project, head_an: Analysis, base_an: Analysis | None, findings: list[Finding]
) -> BlastRadius | None:
    """Blast radius of every non-informational change; a renamed column is traced by its old name,
    and columns gone from head are found through the base analysis."""
    changed: set[tuple[str, str | None]] = set()
    for f in findings:
        if not f.dataset or f.impact is None or f.impact.value == "info" or f.gate != "contracts":
            continue
        column = f.old if f.rule.endswith("column-renamed") and isinstance(f.old, str) else f.column
        changed.add((f.dataset, column))
    if not changed:
        return None
    from app.sql.blast import blast_radius

    return blast_radius(head_an, head, sorted(changed, key=lambda t: (t[0], t[1] or "")), base=base_an)
