"""The Action's `mode: promote`: promote a built artifact to an environment (or roll it back) inside a
release workflow, and record the outcome as a GitHub deployment with a status (digest in the payload).

Inputs: `artifact` (path in the workspace), `environment`, `rollback` (true: roll `environment` back to
its last-known-good digest instead), `dry-run` (decide and print only: no canary, no ledger row, no
deployment), `state` (the state database; keep it between runs, e.g. with
actions/cache or on a persistent runner, so the ledger survives), and the common `project`.
Outputs: `digest`, `decision` (promote|noop|refuse), `environment`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from action.environment import ActionEnv, input_value
from app.errors import UsageError

Write = Callable[[str], object]


def main(
    env: Mapping[str, str],
    *,
    write: Write | None = None,
    log: Write | None = None,
    port: Any = None,
) -> int:
    """Promote (or roll back); 0 promoted or already live, 1 refused, 2 bad input."""
    write = write or sys.stdout.write  # looked up per call: the process's streams may have been replaced
    log = log or sys.stderr.write
    import app.github.apply_deployments  # noqa: F401  (registers the deployment performers)
    from action.pr import make_port
    from app.effects import Effect, SetOutput, WriteSummary
    from app.github.apply import RetryPolicy, apply
    from app.github.workflow import RunnerIO
    from app.promotion.cli import context_for, render_outcome
    from app.promotion.on_github import deployment_effect, github_view
    from app.promotion.release import promote, rollback

    action = ActionEnv.from_env(env)
    target = input_value(env, "environment")
    if not target:
        raise UsageError("input `environment` is required in mode: promote", hint="e.g. environment: staging")
    rolling_back = input_value(env, "rollback", "false").lower() in ("true", "yes", "1")
    project_dir = (action.workspace / action.project).resolve()
    state = (
        input_value(env, "state")
        or env.get("DATACANARY_STATE")
        or str(action.workspace / ".datacanary" / "state.sqlite")
    )

    def progress(message: str) -> None:
        log(f"datacanary: {message}\n")

    ctx, db = context_for(str(project_dir), state, None, None, progress, env=env)
    port = port if port is not None else make_port(action)
    if env.get("GITHUB_ACTIONS") == "true" and port is not None:
        ctx = replace(ctx, known=github_view(port, log))
    # dry-run: decide and print; no canary, no ledger row, no stored artifact, no deployment
    ctx = replace(ctx, dry_run=action.dry_run)
    try:
        if rolling_back:
            from app.project.load import load_project
            from app.project.tree import DirTree

            outcome = rollback(target, ctx, load_project(DirTree(project_dir)))
        else:
            path = input_value(env, "artifact")
            if not path:
                raise UsageError(
                    "input `artifact` is required in mode: promote",
                    hint="the file `datacanary artifact build` wrote, e.g. dist/shop-<digest>.tar",
                )
            artifact = Path(path) if Path(path).is_absolute() else action.workspace / path
            try:
                data = artifact.read_bytes()
            except OSError as exc:
                raise UsageError(f"cannot read artifact {artifact}: {exc.strerror}") from None
            outcome = promote(data, target, ctx)
    finally:
        db.close()

    decision = outcome.decision
    effects: list[Effect] = [
        SetOutput("digest", decision.digest),
        SetOutput("decision", decision.action.value),
        SetOutput("environment", decision.environment),
        WriteSummary(render_outcome(outcome, "markdown")),
    ]
    sha = env.get("GITHUB_SHA")
    recordable = outcome.entry is not None and not outcome.dry_run
    if env.get("GITHUB_ACTIONS") == "true" and recordable and sha and port is not None:
        effects.append(deployment_effect(outcome, sha, action.details_url))
    runner = RunnerIO(action.output_path, action.summary_path, write)
    retry = RetryPolicy(backoff=0.05, secondary_wait=1.0) if action.fast else RetryPolicy()
    result = apply(effects, port=port, runner=runner, retry=retry)
    for failure in result.failed:  # recording on GitHub never changes the promotion's outcome
        log(f"datacanary: could not record on GitHub: {failure.error}\n")
    write(render_outcome(outcome, "text"))
    return outcome.exit_code
