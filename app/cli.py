"""The `datacanary` command. Each subcommand lives in `app/commands/<module>.py` and is imported only
when it runs, so `datacanary contract diff` never pays for FastAPI, PyGithub or DuckDB.

A command module provides `configure(parser)` and `run(args) -> int` (0 pass, 1 blocking findings);
it raises DatacanaryError for bad input, which is rendered here once, with exit code 2. Anything else
is a bug: exit code 3 with a one-line message (the traceback with DATACANARY_DEBUG=1).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# name -> (module, one-line help). Keep the help here so `datacanary --help` imports nothing.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("app.commands.check", "gate a change: contract changes, SQL drift, blast radius, canary"),
    "contract": ("app.commands.contract", "contract tools: `contract diff BASE HEAD`, `contract validate`"),
    "canary": ("app.commands.canary", "run changed models base vs head on sampled data and reconcile"),
    "data-diff": (
        "app.commands.data_diff",
        "reconcile any two tables (Parquet, CSV, file.duckdb:schema.table)",
    ),
    "lineage": ("app.commands.lineage", "show column-level lineage of a project"),
    "demo": ("app.commands.demo", "build the bundled demo repository and run `check` on it"),
    "serve": ("app.commands.serve", "run the GitHub App webhook service"),
    "artifact": ("app.commands.artifact", "build or verify a content-addressed release artifact"),
    "parity": ("app.commands.parity", "compare two environments' effective configuration"),
    "promote": ("app.commands.promote", "promote an artifact to an environment, behind a canary"),
    "rollback": ("app.commands.promote", "promote the previous last-known-good artifact back"),
    "slo": ("app.commands.slo", "evaluate dataset SLOs: `slo evaluate --env ENV`"),
    "run": ("app.commands.run", "build the live artifact's models with write-audit-publish"),
    "restore": ("app.commands.run", "switch a dataset back to an earlier published version"),
    "backfill": ("app.commands.backfill", "re-run a windowed model for a window, audited and reconciled"),
}


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="datacanary",
        description="A reliability gate for data pipelines.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n" + "\n".join(f"  {n:<10} {h}" for n, (_, h) in COMMANDS.items()),
    )
    parser.add_argument("--version", action="version", version=f"datacanary {_version()}")
    parser.add_argument("command", nargs="?", help="one of the commands below")
    return parser


def _version() -> str:
    from app import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    from app.terminal import printable_streams

    with printable_streams():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    from app.errors import DatacanaryError

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("-"):
        top = _top_parser()
        top.parse_args(args)  # handles --help/--version and exits
        top.print_help(sys.stderr)
        return 2
    name = args[0]
    if name not in COMMANDS:
        sys.stderr.write(f"datacanary: unknown command {name!r}; run `datacanary --help` for the list\n")
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    parser = argparse.ArgumentParser(prog=f"datacanary {name}", description=COMMANDS[name][1])
    module.configure(parser, name)
    ns = parser.parse_args(args[1:])
    try:
        return int(module.run(ns))
    except DatacanaryError as exc:
        sys.stderr.write(f"datacanary: error: {exc.render()}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("datacanary: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except MemoryError:
        sys.stderr.write(
            "datacanary: error: the run went past the process memory limit "
            "(DATACANARY_PROCESS_MAX_MEMORY, set by the operator) and stopped; nothing was written\n"
            "  hint: lower canary.limits.memory_limit or sample less data (sources.<name>.sample)\n"
        )
        return 2
    except Exception as exc:  # a bug: say so plainly; the traceback only on request
        import os
        import traceback

        if os.environ.get("DATACANARY_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(
            f"datacanary: internal error: {type(exc).__name__}: {exc}\n"
            "  this is a bug in datacanary, not in your project; rerun with DATACANARY_DEBUG=1 for the "
            "traceback and report it\n"
        )
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
