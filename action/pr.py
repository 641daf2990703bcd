"""The Action's `pr` mode: gate a pull request (or a merge group, or an explicit base..head).

Order matters: outputs and the report file are written before anything is posted, and the exit code
comes from the report and `fail-on` alone; whether GitHub took the check runs and the comment never
changes it. When the token cannot write (a fork's `pull_request`), annotations go out as workflow commands
and the report into the job summary.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from action.environment import ActionEnv, NothingToDo, Target, target_for
from app.effects import Effect, SetOutput
from app.errors import DatacanaryError
from app.gate.result import RunReport
from app.github.apply import ApplyResult, RetryPolicy, apply
from app.github.port import AppPort, GitHubPort
from app.github.workflow import RunnerIO

if TYPE_CHECKING:
    from app.report.effects import FailOn

Write = Callable[[str], object]
_BUG_HINT = "this is a datacanary bug; please report it with the job log"


def make_port(action: ActionEnv) -> AppPort | None:
    """The GitHub client for this run (None without a token)."""
    if not action.token:
        return None
    from app.github.client import GitHubClient

    if action.fast:  # a loopback GitHub in tests: no client-side throttle, retries left to the applier
        return GitHubClient(
            action.repository,
            base_url=action.api_url,
            token=action.token,
            seconds_between_requests=None,
            seconds_between_writes=None,
            retry=None,
        )
    return GitHubClient(action.repository, base_url=action.api_url, token=action.token)


def main(
    env: Mapping[str, str],
    *,
    write: Write | None = None,
    log: Write | None = None,
    sleep: Callable[[float], None] = time.sleep,
    port: AppPort | None = None,
) -> int:
    """Run the gates for the triggering event and report them; 0 pass, 1 blocking per `fail-on`, 2 error."""
    from app.report.effects import FailOn
    from app.report.runner_effects import outputs

    # resolved per call, not at import: the streams may be replaced (tests, embedding)
    write = write or sys.stdout.write
    log = log or sys.stderr.write
    action = ActionEnv.from_env(env)
    try:
        target = target_for(action, action.payload())
    except NothingToDo as why:
        log(f"datacanary: nothing to do: {why}\n")
        return 0
    runner = RunnerIO(action.output_path, action.summary_path, write)
    port = port if port is not None else (None if action.dry_run else make_port(action))
    retry = RetryPolicy(attempts=3, backoff=0.01, secondary_wait=0.1) if action.fast else RetryPolicy()
    post = _Poster(
        port,
        runner,
        retry,
        sleep,
        log,
        can_write=(port is not None or action.dry_run) and not target.fork,
        dry_run=action.dry_run,
    )
    head_sha = _resolve(action.workspace, target.head)
    log(f"datacanary: comparing {target.base} .. {target.head} ({target.reason})\n")
    if target.fork:
        post.read_only("this pull request comes from a fork, and its token is read-only under `pull_request`")
    elif port is None and not action.dry_run:
        post.read_only("no `github-token` was given")

    if target.ack_by is not None:
        _check_may_acknowledge(port, target.ack_by)
    started = post.start(head_sha, action.details_url)
    try:
        report = _run(action, target, log, head_sha)
    except DatacanaryError as exc:
        post.error(exc, started)
        raise
    except Exception as exc:  # a bug: still never leave the started checks pending, then show the traceback
        post.error(DatacanaryError(f"internal error: {type(exc).__name__}: {exc}", hint=_BUG_HINT), started)
        raise
    fail_on = FailOn(action.fail_on)
    plan = _plan(report, head_sha, target.pr_number if action.comment else None, action.details_url, fail_on)
    report_path, handoff_path = _write_files(action, report, plan)
    post.now([*outputs(report, report_path=report_path), SetOutput("handoff-json", handoff_path)])
    post.publish(plan.effects(started), markdown=plan.markdown, report_path=report_path, report=report)
    from app.report.effects import blocking

    verdict = "blocks the merge" if blocking(report, fail_on) else "does not block"
    log(f"datacanary: {report.verdict.value} ({verdict} with fail-on {fail_on.value})\n")
    return 1 if blocking(report, fail_on) else 0


def _resolve(workspace: Path, rev: str) -> str:
    from app.project.git import repo_root, resolve

    return resolve(repo_root(workspace), rev)


def _run(action: ActionEnv, target: Target, log: Write, head_sha: str) -> RunReport:
    from app.pipeline import Acknowledgment, run_check

    def progress(msg: str) -> None:  # one line: model names come from the pull request
        from app.report.env import inert_commands

        log(inert_commands(f"datacanary: {' '.join(msg.splitlines())}\n"))

    acks = []
    if target.ack_by is not None:
        at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        acks.append(Acknowledgment(sha=head_sha, by=target.ack_by, at=at))
    project = action.project.strip("/") if action.project not in (".", "./") else ""
    if action.engine:  # the input picks the engine over datacanary.yml's (app.canary.run)
        import os

        from app.canary.run import ENGINE_OVERRIDE

        os.environ[ENGINE_OVERRIDE] = action.engine
    return run_check(
        action.workspace,
        target.base,
        target.head,
        project,
        progress=progress,
        acknowledgments=acks,
        head_manifest=action.manifest,
        base_manifest=action.base_manifest,
    )


def _check_may_acknowledge(port: AppPort | None, user: str) -> None:
    """Only people who could merge anyway may accept breaking changes."""
    from app.errors import UsageError
    from app.github.port import WRITE_PERMISSIONS

    if port is None:
        raise UsageError("acknowledging needs a `github-token` to check the user's permission")
    level = port.collaborator_permission(user)
    if level not in WRITE_PERMISSIONS:
        raise UsageError(
            f"@{user} has {level} permission and may not acknowledge breaking changes",
            hint="a person with write access must press the button",
        )


@dataclass(frozen=True)
class _Plan:
    """The rendered report and what to post for it (with check runs already started, or not)."""

    report: RunReport
    head_sha: str
    pr_number: int | None
    details_url: str | None
    fail_on: FailOn
    markdown: str
    compact: str

    def effects(self, started: dict[str, int] | None = None) -> list[Effect]:
        from app.report.effects import effects_for

        return effects_for(
            self.report,
            head_sha=self.head_sha,
            pr_number=self.pr_number,
            details_url=self.details_url,
            can_write=True,
            markdown=self.markdown,
            compact_markdown=self.compact,
            fail_on=self.fail_on,
            started=started,
        )


def _plan(
    report: RunReport, head_sha: str, pr_number: int | None, details_url: str | None, fail_on: FailOn
) -> _Plan:
    from app.report import render_report

    markdown = render_report(report, "markdown")
    compact = render_report(report, "markdown", compact=True)
    return _Plan(report, head_sha, pr_number, details_url, fail_on, markdown, compact)


def _write_files(action: ActionEnv, report: RunReport, plan: _Plan) -> tuple[str, str]:
    """The JSON report and the fork split's hand-off (what would be posted), in one directory to upload."""
    from app.github.handoff import to_handoff
    from app.report import render_report

    folder = action.temp_dir / "datacanary"
    folder.mkdir(parents=True, exist_ok=True)
    report_path, handoff_path = folder / "report.json", folder / "handoff.json"
    report_path.write_text(render_report(report, "json"), encoding="utf-8")
    handoff = to_handoff(plan.effects(), head_sha=plan.head_sha, pr_number=plan.pr_number)
    handoff_path.write_text(json.dumps(handoff, indent=1) + "\n", encoding="utf-8")
    return str(report_path), str(handoff_path)


class _Poster:
    """Applies effects and falls back to workflow commands once GitHub refuses to be written to."""

    def __init__(
        self,
        port: GitHubPort | None,
        runner: RunnerIO,
        retry: RetryPolicy,
        sleep: Callable[[float], None],
        log: Write,
        *,
        can_write: bool,
        dry_run: bool = False,
    ) -> None:
        self.port, self.runner, self.retry, self.sleep, self.log = port, runner, retry, sleep, log
        self.can_write = can_write
        self.dry_run = dry_run
        self.fallback: str | None = None

    def read_only(self, reason: str) -> None:
        self.can_write = False
        self.fallback = self.fallback or reason

    def now(self, effects: Sequence[Effect]) -> ApplyResult:
        if self.dry_run:  # runner effects still happen; GitHub ones are only described
            from app.effects import SetOutput, WorkflowCommand, WriteSummary
            from app.github.apply import explain

            local = (SetOutput, WriteSummary, WorkflowCommand)
            remote = [e for e in effects if not isinstance(e, local)]
            if remote:
                self.runner.write_text(explain(remote))
            effects = [e for e in effects if isinstance(e, local)]
        result = apply(effects, port=self.port, runner=self.runner, retry=self.retry, sleep=self.sleep)
        if result.read_only:
            self.read_only("the token may not create check runs or comments here (GitHub answered 403)")
        for failure in result.failed:
            if not failure.not_permitted:
                self.log(f"datacanary: could not post: {failure.effect.describe()}: {failure.error}\n")
        for note in result.notes:
            self.log(f"datacanary: {note}\n")
        return result

    def start(self, head_sha: str, details_url: str | None) -> dict[str, int]:
        if not self.can_write:
            return {}
        from app.report.effects import checks_started

        result = self.now(checks_started(head_sha, ("contracts", "canary"), details_url=details_url))
        return result.check_runs

    def publish(self, effects: list[Effect], *, markdown: str, report_path: str, report: RunReport) -> None:
        from app.report.runner_effects import fallback_effects, job_summary

        if self.can_write:
            self.now(effects)
        if self.can_write:  # still: the posting above may have met a read-only token
            self.now([job_summary(markdown, report_path=report_path)])
        else:
            self.now(
                fallback_effects(
                    report, markdown=markdown, reason=self.fallback or "", report_path=report_path
                )
            )

    def error(self, exc: DatacanaryError, started: dict[str, int]) -> None:
        """datacanary could not run: complete the pending check runs as failed, saying why and where."""
        from app.report.effects import error_effects

        self.now(error_effects(exc, started=started if self.can_write else {}))
