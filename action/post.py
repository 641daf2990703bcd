"""The Action's `post` mode: the trusted half of the fork split. Runs on `workflow_run` with a write
token, reads the hand-off artifact of the `pull_request` run (untrusted data: validated, never executed),
and posts its check runs and comment on the commit the trusted event names.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from action.environment import ActionEnv, input_value
from app.errors import UsageError
from app.github.port import GitHubPort

MAX_HANDOFF_BYTES = 8 * 1024 * 1024


def main(
    env: Mapping[str, str],
    *,
    log: Callable[[str], object] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    port: GitHubPort | None = None,
) -> int:
    """Post a hand-off; 0 when everything was posted, 1 when GitHub refused part of it, 2 on bad input."""
    from action.pr import make_port
    from app.github.apply import RetryPolicy, apply
    from app.github.events import parse_workflow_run
    from app.github.handoff import HandoffError, from_handoff

    log = log or sys.stderr.write
    action = ActionEnv.from_env(env)
    if action.event_name != "workflow_run":
        raise UsageError(
            f"mode `post` runs on `workflow_run` events, not `{action.event_name}`",
            hint="see docs/action.md: Forks",
        )
    run = parse_workflow_run(action.payload())
    if run.event != "pull_request":
        log(f"datacanary: the triggering run was a `{run.event}` event; nothing to post\n")
        return 0
    data = _read(action.workspace / input_value(env, "handoff", "datacanary-report/handoff.json"))
    effects, pr_number = from_handoff(data, head_sha=run.head_sha)
    port = port or make_port(action)
    if port is None:
        raise UsageError("mode `post` needs a `github-token` that can write checks and pull requests")
    if pr_number is not None:
        # the number comes from the artifact: only comment if that PR's head is the run's commit
        pull = port.get_pull(pr_number)
        if pull.head_sha != run.head_sha:
            raise HandoffError(
                f"pull request #{pr_number} is at {pull.head_sha[:12]}, not {run.head_sha[:12]}",
                hint="a newer push superseded this run; its own run will post",
            )
    retry = RetryPolicy(attempts=3, backoff=0.01, secondary_wait=0.1) if action.fast else RetryPolicy()
    result = apply(effects, port=port, retry=retry, sleep=sleep)
    for failure in result.failed:
        log(f"datacanary: could not post: {failure.effect.describe()}: {failure.error}\n")
    for note in result.notes:
        log(f"datacanary: {note}\n")
    return 0 if result.ok else 1


def _read(path: Path) -> object:
    from app.github.handoff import HandoffError

    if not path.is_file():
        raise UsageError(f"no hand-off at {path}", hint="download the `datacanary-report` artifact first")
    if path.stat().st_size > MAX_HANDOFF_BYTES:
        raise HandoffError(f"the hand-off {path} is larger than {MAX_HANDOFF_BYTES} bytes")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise HandoffError(f"the hand-off {path} is not JSON: {exc}") from None
