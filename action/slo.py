"""The Action's `mode: slo`, for scheduled workflows: evaluate the environment's SLOs, and on a paging
breach find the culprit and open one auto-revert pull request (or an issue when a revert would be a
guess); repeated breaches update it instead.

Inputs: `environment` (required), `project`, `state` (the state database: keep it between runs, it
holds the evaluations, ledgers and incidents), `trigger` (page: act on multi-window burn-rate pages,
the default; breach: act on any breach), `suppression` (e.g. 1h: no update to an incident more often),
`default-branch` (default: the workflow's ref), and `revert-token`: a GitHub App installation token
(e.g. from actions/create-github-app-token). A pull request opened with the workflow's `GITHUB_TOKEN`
triggers no workflows, so the revert would never be checked; without `revert-token` the Action falls
back to `github-token` and says so.
Outputs: `status` (ok|breach|unknown), `breaches` (count), `incidents` (JSON list of plans).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Mapping
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
    now: dt.datetime | None = None,
) -> int:
    """Evaluate and respond; 0 no breach, 1 breached, 2 bad input."""
    write = write or sys.stdout.write
    log = log or sys.stderr.write
    from app.effects import SetOutput, WriteSummary
    from app.github.apply import RetryPolicy, apply, explain
    from app.github.workflow import RunnerIO
    from app.report.env import render
    from app.revert.respond import Repository, handle, triggering
    from app.runs.session import open_session
    from app.slo.durations import seconds
    from app.slo.service import evaluate_env

    action = ActionEnv.from_env(env)
    name = input_value(env, "environment")
    if not name:
        raise UsageError("input `environment` is required in mode: slo", hint="e.g. environment: prod")
    trigger = input_value(env, "trigger", "page").lower()
    if trigger not in ("page", "breach"):
        raise UsageError(f"input `trigger` is {trigger!r}", hint="use page or breach")
    suppression = dt.timedelta(seconds=seconds(input_value(env, "suppression", "1h")))
    branch = input_value(env, "default-branch") or env.get("GITHUB_REF_NAME") or "main"
    project_dir = (action.workspace / action.project).resolve()
    state = (
        input_value(env, "state")
        or env.get("DATACANARY_STATE")
        or str(action.workspace / ".datacanary" / "state.sqlite")
    )
    at = now or dt.datetime.now(dt.UTC)

    report = evaluate_env(str(project_dir), name, state, at)
    write(render("slo/evaluate.txt.j2", report=report))  # first: the log shows the SLOs even if GitHub fails
    acting = triggering(report, trigger)
    plans: list[Any] = []
    if acting:
        token = input_value(env, "revert-token")
        if not token:
            log(
                "datacanary: no `revert-token`: opening with `github-token`; a pull request opened with the "
                "workflow's GITHUB_TOKEN triggers no workflows, so use a GitHub App token\n"
            )
        offline = action.dry_run or (port is None and not (token or action.token))
        if offline and not action.dry_run:
            log("datacanary: no GitHub token at all: the response is planned and printed, not opened\n")
        session = open_session(str(project_dir), name, state)
        try:
            root = "" if action.project.strip("/") in ("", ".") else action.project.strip("/")
            client = None if offline else (port or _revert_port(action, token or action.token))
            retry = RetryPolicy(backoff=0.05, secondary_wait=1.0) if action.fast else RetryPolicy()
            handled = handle(
                acting,
                env=name,
                at=at,
                repo=Repository(action.workspace, action.repository, branch),
                project_root=root,
                db=session.db,
                port=client,
                retry=retry,
                suppression=suppression,
                dry_run=offline,
            )
        finally:
            session.db.close()
        plans = list(handled.plans)
        if handled.applied is None:
            write(explain([e for p in plans for e in p.effects]))
        else:
            for failure in handled.applied.failed:
                log(f"datacanary: could not open or update the incident on GitHub: {failure.error}\n")
            for note in handled.applied.notes:
                log(f"datacanary: {note}\n")
    summary = render("slo/evaluate.md.j2", report=report) + render("slo/incidents.md.j2", plans=plans)
    runner = RunnerIO(action.output_path, action.summary_path, write)
    apply(
        [
            SetOutput("status", report.evaluation.status.value),
            SetOutput("breaches", str(len(report.breaches))),
            SetOutput("incidents", json.dumps([p.to_json() for p in plans])),
            WriteSummary(summary),
        ],
        runner=runner,
    )
    return 1 if report.breaches else 0


def _revert_port(action: ActionEnv, token: str) -> Any:
    from app.github.apply_revert import RevertClient

    if not token:
        raise UsageError("no GitHub token to open the revert with", hint="set the `revert-token` input")
    if action.fast:
        return RevertClient(
            action.repository,
            base_url=action.api_url,
            token=token,
            seconds_between_requests=None,
            seconds_between_writes=None,
            retry=None,
        )
    return RevertClient(action.repository, base_url=action.api_url, token=token)
