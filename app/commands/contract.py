"""`datacanary contract diff BASE_FILE HEAD_FILE`: classify the changes between two contract files and
apply the change policy (from datacanary.yml when given or found in the current directory)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.contracts.model import Contract

FORMATS = ("text", "json", "markdown")


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    diff = sub.add_parser(
        "diff",
        help="compare two ODCS contract files",
        description="Classify every change from BASE_FILE to HEAD_FILE for the dataset's consumers and apply "
        "the change policy. Exit 0: nothing blocks; 1: a breaking change blocks; 2: bad input.",
    )
    diff.add_argument(
        "base",
        metavar="BASE_FILE",
        help="the earlier contract: a file, or REV:PATH read from git (main:contracts/x.odcs.yaml)",
    )
    diff.add_argument("head", metavar="HEAD_FILE", help="the proposed contract: a file, or REV:PATH")
    diff.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    diff.add_argument(
        "--config",
        metavar="FILE",
        help="datacanary.yml with the change policy and waivers (default: ./datacanary.yml if present)",
    )
    diff.add_argument(
        "--today", metavar="YYYY-MM-DD", help="evaluate waiver expiry as of this date (default: today)"
    )
    diff.add_argument(
        "--no-history",
        action="store_true",
        help="for *_transitive contracts, do not read earlier versions from git history",
    )
    check = sub.add_parser(
        "validate",
        help="validate ODCS contract files (for pre-commit and CI)",
        description="Validate each file against the ODCS v3 schema and datacanary's reading of it; every "
        "problem is named with its file, line and fix. Exit 0: all valid; 2: a file is not.",
    )
    check.add_argument(
        "files",
        metavar="FILE",
        nargs="+",
        help="contract files (or REV:PATH); a directory: every *.odcs.yaml in it",
    )


def run(args: argparse.Namespace) -> int:
    if args.action == "validate":
        return _validate(args.files)
    return _diff(args)


def _validate(files: list[str]) -> int:
    from app.contracts.parse import parse_contract
    from app.errors import DatacanaryError
    from app.report.env import render

    results: list[dict[str, Any]] = []
    for spec in _expanded(files):
        try:
            src = _source(spec, _VALIDATE_HINT)
            contract = parse_contract(src.text, src.path)
        except DatacanaryError as exc:
            results.append({"path": spec, "error": exc.render(), "contract": None})
        else:
            results.append({"path": spec, "error": None, "contract": contract})
    sys.stdout.write(render("contracts/validate.txt.j2", results=results))
    return 2 if any(r["error"] for r in results) else 0


def _expanded(specs: list[str]) -> list[str]:
    """A directory among `specs` stands for the contract files in it (as a project finds them:
    `**/*.odcs.yaml`); one with none stays, to be reported."""
    from app.project.load import CONTRACT_PATTERNS

    out: list[str] = []
    for spec in specs:
        found = sorted({str(p) for pattern in CONTRACT_PATTERNS for p in Path(spec).glob(pattern)})
        out.extend(found if Path(spec).is_dir() and found else [spec])
    return out


def _diff(args: argparse.Namespace) -> int:
    import datetime as dt

    from app.contracts.diff import diff_contracts
    from app.contracts.parse import parse_contract
    from app.contracts.policy import apply_policy
    from app.errors import UsageError
    from app.gate.result import GateResult, RunReport
    from app.project.config import CONFIG_FILE, PolicyConfig, ProjectConfig, parse_config
    from app.report import render_report
    from app.types import Verdict

    base_src, head_src = _source(args.base, _DIFF_HINT), _source(args.head, _DIFF_HINT)
    base = parse_contract(base_src.text, base_src.path)
    head = parse_contract(head_src.text, head_src.path)
    config: ProjectConfig | None = None
    locate = None
    config_path = args.config or (CONFIG_FILE if Path(CONFIG_FILE).is_file() else None)
    if config_path:
        config, doc = parse_config(_source(config_path, _CONFIG_HINT).text, config_path)
        locate = doc.location
        if not args.config:
            sys.stderr.write(f"datacanary: using the policy and waivers in {config_path}\n")
    try:
        today = dt.date.fromisoformat(args.today) if args.today else dt.date.today()
    except ValueError:
        raise UsageError(f"--today {args.today!r} is not a date", hint="write it as YYYY-MM-DD") from None
    # without a datacanary.yml: the contract's own SQL servers' dialect, else the project default
    dialect = config.dialect if config else (head.server_dialect or base.server_dialect or "duckdb")
    history = () if args.no_history else _history(head_src, head.compatibility)
    findings = apply_policy(
        diff_contracts(base, head, dialect=dialect),
        base=base,
        head=head,
        policy=config.policy if config else PolicyConfig(),
        waivers=config.waivers if config else (),
        today=today,
        history=history,
        config_location=locate,
        dialect=dialect,
    )
    report = RunReport(
        project=config.name if config else (head.name or head.id),
        base=args.base,
        head=args.head,
        gates=(GateResult("contracts", tuple(findings)),),
    )
    sys.stdout.write(render_report(report, args.format))
    return 1 if report.verdict is Verdict.FAIL else 0


@dataclass(frozen=True, slots=True)
class _Source:
    """A contract's text and the path findings point at; `repo`/`rev` when it lives in git."""

    text: str
    path: str
    repo: Path | None = None
    rev: str = "HEAD"
    in_git: bool = False  # `path` is then relative to the repository root, not to the current directory


# what to do about a missing file depends on which argument named it
_DIFF_HINT = "pass two contract files, or REV:PATH to read one from git (PATH from the repository root)"
_VALIDATE_HINT = (
    "check the path; `contract validate` takes contract files, directories of *.odcs.yaml files,"
    " or REV:PATH to read one from git"
)
_GIT_PATH_HINT = (
    "check the revision and the path: REV:PATH is from the repository root, REV:./PATH from this directory"
)
_CONFIG_HINT = (
    "--config names the datacanary.yml with the policy and waivers; check the path, or leave it out"
)


def _source(spec: str, hint: str) -> _Source:
    """A file on disk, or `REV:PATH` read from git: PATH from the repository root, `REV:./PATH` from the
    current directory (git's own reading of `REV:path`)."""
    from app.errors import UsageError
    from app.types import Location

    path = Path(spec)
    if not path.exists() and ":" in spec:
        return _git_source(*spec.split(":", 1))
    if path.is_dir():
        raise UsageError(f"{spec} is a directory, not a contract file", hint=hint)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no such file: {spec}", hint=hint) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {spec}: {exc}", Location(spec)) from None
    return _Source(text, spec, _repo_of(path.resolve().parent))


def _git_source(rev: str, rel: str) -> _Source:
    from app.errors import GitError
    from app.project.git import GitTree, repo_root

    root = repo_root(Path.cwd())
    relative_to_cwd = rel == "." or rel.startswith(("./", "../"))
    target = ((Path.cwd() if relative_to_cwd else root) / rel).resolve()
    try:
        inside = target.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise GitError(f"{rel} is outside the git repository at {root}") from None
    tree = GitTree(root, rev)
    if not tree.exists(inside):
        raise GitError(f"{inside} does not exist at {tree.label}", hint=_GIT_PATH_HINT)
    return _Source(tree.read_text(inside), inside, root, rev, in_git=True)


def _repo_of(directory: Path) -> Path | None:
    from app.errors import GitError
    from app.project.git import repo_root

    try:
        return repo_root(directory)
    except GitError:
        return None


def _history(src: _Source, mode: str) -> list[Contract]:
    """Earlier versions of the head contract from git, for `*_transitive` modes (skips said on stderr)."""
    if not mode.endswith("_transitive") or src.repo is None:
        return []
    from app.project.history import read_contract_history

    rel = src.path
    if not src.in_git:
        try:
            rel = Path(rel).resolve().relative_to(src.repo.resolve()).as_posix()
        except ValueError:
            return []
    found = read_contract_history(src.repo, rel, src.rev)
    for warning in found.warnings:
        sys.stderr.write(f"datacanary: {warning}\n")
    return list(found.versions)
