"""`python -m action`: the entry a runner calls (see action.yml). Dispatches on the `mode` input:
`pr` here, `promote` and `slo` to `action/promote.py` and `action/slo.py` (each `main(env) -> int`).
Errors are rendered once, as a workflow-command annotation at their file and line; exit code 2."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping


def _entry(mode: str) -> Callable[[Mapping[str, str]], int]:
    from app.errors import UsageError

    try:
        module = importlib.import_module(f"action.{mode}")
    except ModuleNotFoundError as exc:
        if exc.name != f"action.{mode}":
            raise
        raise UsageError(
            f"mode `{mode}` is not available in this version of datacanary",
            hint="use mode: pr, or upgrade the action",
        ) from None
    entry: Callable[[Mapping[str, str]], int] = module.main
    return entry


def main(env: Mapping[str, str] | None = None) -> int:
    from app.terminal import printable_streams

    with printable_streams():  # the run's log: no escape from the data or the PR reaches it raw
        return _main(env)


def _main(env: Mapping[str, str] | None) -> int:
    from action.environment import MODES, input_value
    from app.effects import WorkflowCommand
    from app.errors import DatacanaryError, UsageError
    from app.github.workflow import format_command

    env = dict(os.environ) if env is None else env
    try:
        mode = input_value(env, "mode", "pr").lower()
        if mode not in MODES:
            raise UsageError(f"input `mode` is {mode!r}", hint=f"use one of: {', '.join(MODES)}")
        return int(_entry(mode)(env))
    except DatacanaryError as exc:
        loc = exc.location
        props = (("file", loc.path), ("line", str(loc.line or 1))) if loc and loc.path else ()
        sys.stdout.write(format_command(WorkflowCommand("error", exc.render(), props)) + "\n")
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
