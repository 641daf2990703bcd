"""`datacanary contract diff BASE_FILE HEAD_FILE`: classify the changes between two contract files and
apply the change policy (from datacanary.yml when given or found in the current directory)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ("text", "json", "markdown")


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    diff = sub.add_parser(
        "diff",
        help="compare two ODCS contract files",
        description="Classify every change from BASE_FILE to HEAD_FILE for the dataset's consumers and apply "
        "the change policy. Exit 0: nothing blocks; 1: a breaking change blocks; 2: bad input.",
    )
    diff.add_argument("base", metavar="BASE_FILE", help="the earlier contract (ODCS v3 YAML)")
    diff.add_argument("head", metavar="HEAD_FILE", help="the proposed contract (ODCS v3 YAML)")
    diff.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    diff.add_argument(
        "--config",
        metavar="FILE",
        help="datacanary.yml with the change policy and waivers (default: ./datacanary.yml if present)",
    )
    diff.add_argument(
        "--today", metavar="YYYY-MM-DD", help="evaluate waiver expiry as of this date (default: today)"
    )


def run(args: argparse.Namespace) -> int:
    import datetime as dt

    from app.contracts.diff import diff_contracts
    from app.contracts.parse import parse_contract
    from app.contracts.policy import apply_policy
    from app.errors import UsageError
    from app.gate.result import GateResult, RunReport
    from app.project.config import CONFIG_FILE, PolicyConfig, ProjectConfig, parse_config
    from app.report import render_report
    from app.types import Verdict

    base = parse_contract(_read(args.base), args.base)
    head = parse_contract(_read(args.head), args.head)
    config: ProjectConfig | None = None
    locate = None
    config_path = args.config or (CONFIG_FILE if Path(CONFIG_FILE).is_file() else None)
    if config_path:
        config, doc = parse_config(_read(config_path), config_path)
        locate = doc.location
        if not args.config:
            sys.stderr.write(f"datacanary: using the policy and waivers in {config_path}\n")
    try:
        today = dt.date.fromisoformat(args.today) if args.today else dt.date.today()
    except ValueError:
        raise UsageError(f"--today {args.today!r} is not a date", hint="write it as YYYY-MM-DD") from None
    dialect = config.dialect if config else None
    findings = apply_policy(
        diff_contracts(base, head, dialect=dialect),
        base=base,
        head=head,
        policy=config.policy if config else PolicyConfig(),
        waivers=config.waivers if config else (),
        today=today,
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


def _read(path: str) -> str:
    from app.errors import UsageError
    from app.types import Location

    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}", hint="pass the paths of two contract files") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}", Location(path)) from None
