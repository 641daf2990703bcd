"""The one place effects are performed. Each effect type has a performer registered with `@applies`;
`apply` runs a batch in order, retries what is transient (5xx, rate limits honouring `Retry-After` and
`x-ratelimit-reset`), works around a 422 on individual annotations, and returns an `ApplyResult` saying
what failed. Posting never raises: a gate's verdict must not depend on whether GitHub took the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from app.effects import (
    Annotation,
    CreateCheckRun,
    Effect,
    SetOutput,
    UpdateCheckRun,
    UpsertComment,
    WorkflowCommand,
    WriteSummary,
)
from app.errors import GitHubError
from app.github.port import Comment, GitHubHttpError, GitHubPort, find_comment
from app.report.limits import batches

E = TypeVar("E", bound=Effect)
R = TypeVar("R")


class Runner(Protocol):
    """Where runner-side effects go (app.github.workflow.RunnerIO or MemoryRunner)."""

    def set_output(self, name: str, value: str) -> None: ...
    def write_summary(self, markdown: str) -> None: ...
    def command(self, cmd: WorkflowCommand) -> None: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try. Production defaults; tests pass a tiny `backoff` and an injected sleeper."""

    attempts: int = 5
    backoff: float = 1.0  # first wait after a 5xx; doubles per attempt
    secondary_wait: float = 60.0  # GitHub asks for >= 1 minute on a secondary limit without Retry-After
    max_wait: float = 900.0  # a longer requested wait is reported instead of slept through


@dataclass(frozen=True, slots=True)
class Failure:
    effect: Effect
    error: str
    status: int | None = None
    not_permitted: bool = False
    retry_after: float | None = None  # seconds GitHub asked to wait before trying again


@dataclass(frozen=True, slots=True)
class ApplyResult:
    applied: tuple[Effect, ...]
    failed: tuple[Failure, ...]
    notes: tuple[str, ...]
    check_runs: dict[str, int] = field(default_factory=dict)
    api_calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def read_only(self) -> bool:
        """The token could not write (a fork PR under `pull_request`, or missing `checks: write`)."""
        return any(f.not_permitted for f in self.failed)


@dataclass
class ApplyContext:
    """What performers get: the port, the runner, the retry machinery, and check-run ids by ref."""

    port: GitHubPort | None
    runner: Runner | None
    retry: RetryPolicy
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    check_runs: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    api_calls: int = 0

    def github(self) -> GitHubPort:
        if self.port is None:
            raise GitHubError("no GitHub connection for a GitHub effect", hint="pass a port to apply()")
        return self.port

    def need_runner(self) -> Runner:
        if self.runner is None:
            raise GitHubError("no runner for an Action effect", hint="pass a runner to apply()")
        return self.runner

    def wait_for(self, err: GitHubHttpError, attempt: int) -> float:
        if err.retry_after is not None:
            return max(0.0, err.retry_after)
        if err.ratelimit_remaining == 0 and err.ratelimit_reset is not None:
            return max(0.0, err.ratelimit_reset - self.clock()) + 1.0
        if err.rate_limited:
            return self.retry.secondary_wait
        return float(self.retry.backoff * 2**attempt)

    def call(
        self, fn: Callable[..., R], *args: Any, recover: Callable[[], R | None] | None = None, **kwargs: Any
    ) -> R:
        """Call a port method, retrying transient failures per the policy; before each retry, `recover`
        may find what a failed attempt did anyway (a write GitHub carried out, its answer lost)."""
        for attempt in range(self.retry.attempts):
            self.api_calls += 1
            try:
                if attempt and recover is not None:
                    found = recover()
                    if found is not None:
                        return found
                return fn(*args, **kwargs)
            except GitHubHttpError as err:
                if not err.transient or attempt == self.retry.attempts - 1:
                    raise
                wait = self.wait_for(err, attempt)
                if wait > self.retry.max_wait:
                    raise GitHubHttpError(
                        err.status,
                        f"{err.message}; GitHub asks to wait {wait:.0f}s (limit {self.retry.max_wait:.0f}s)",
                        retry_after=wait,  # for a caller that can come back later (the service's queue)
                        hint="the rate limit resets later; re-run the job then",
                    ) from err
                self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


Performer = Callable[[Any, ApplyContext], None]
_PERFORMERS: dict[type[Effect], Performer] = {}


def applies(
    effect_type: type[E],
) -> Callable[[Callable[[E, ApplyContext], None]], Callable[[E, ApplyContext], None]]:
    """Register the performer of an effect type (one per type). Other modules register theirs too."""

    def register(fn: Callable[[E, ApplyContext], None]) -> Callable[[E, ApplyContext], None]:
        if effect_type in _PERFORMERS and _PERFORMERS[effect_type] is not fn:
            raise ValueError(f"{effect_type.__name__} already has a performer")
        _PERFORMERS[effect_type] = fn
        return fn

    return register


def performer_for(effect: Effect) -> Performer:
    for cls in type(effect).__mro__:
        if cls in _PERFORMERS:
            return _PERFORMERS[cls]
    raise GitHubError(f"no performer for {type(effect).__name__}", hint="register one with @applies")


def apply(
    effects: Iterable[Effect],
    *,
    port: GitHubPort | None = None,
    runner: Runner | None = None,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> ApplyResult:
    """Perform `effects` in order. After a not-permitted (read-only token) failure, further GitHub
    effects are skipped rather than tried; runner effects still run."""
    ctx = ApplyContext(port, runner, retry or RetryPolicy(), sleep, clock)
    applied: list[Effect] = []
    failed: list[Failure] = []
    for effect in effects:
        if any(f.not_permitted for f in failed) and not _runner_effect(effect):
            failed.append(Failure(effect, "skipped: the token cannot write to this repository", None, True))
            continue
        try:
            performer_for(effect)(effect, ctx)
            applied.append(effect)
        except GitHubHttpError as err:
            failed.append(Failure(effect, err.render(), err.status, err.not_permitted, err.retry_after))
        except Exception as err:  # noqa: BLE001 - posting must never take the verdict down with it
            failed.append(Failure(effect, f"{type(err).__name__}: {err}"))
    return ApplyResult(tuple(applied), tuple(failed), tuple(ctx.notes), dict(ctx.check_runs), ctx.api_calls)


def _runner_effect(effect: Effect) -> bool:
    return isinstance(effect, (SetOutput, WriteSummary, WorkflowCommand))


def _send_annotations(
    ctx: ApplyContext, annotations: Sequence[Annotation], send: Callable[[Sequence[Annotation], bool], None]
) -> None:
    """Send annotations 50 per request (`send(batch, final)`), the last request being `final`. On a 422,
    bisect the batch to drop only the annotations GitHub rejects, and note each dropped one."""
    groups = batches(annotations)
    for i, group in enumerate(groups):
        final = i == len(groups) - 1
        try:
            ctx.call(send, group, final)
        except GitHubHttpError as err:
            if err.status != 422 or not group:
                raise
            # is it the annotations at all? without them the same request must go through
            ctx.call(send, (), False)
            _bisect(ctx, group, send)
            if final:
                ctx.call(send, (), True)


def _bisect(
    ctx: ApplyContext, group: Sequence[Annotation], send: Callable[[Sequence[Annotation], bool], None]
) -> None:
    if len(group) > 1:
        mid = len(group) // 2
        for half in (group[:mid], group[mid:]):
            try:
                ctx.call(send, half, False)
            except GitHubHttpError as err:
                if err.status != 422:
                    raise
                _bisect(ctx, half, send)
        return
    try:
        ctx.call(send, group, False)
    except GitHubHttpError as err:
        if err.status != 422:
            raise
        a = group[0]
        ctx.notes.append(
            f"GitHub rejected the annotation at {a.path}:{a.start_line} ({err.message}); dropped it"
        )


@applies(CreateCheckRun)
def _create_check_run(effect: CreateCheckRun, ctx: ApplyContext) -> None:
    port = ctx.github()
    out = effect.output
    # annotations go in follow-up updates, 50 at a time, so a 422 on one never loses the check run
    ctx.check_runs[effect.ref] = ctx.call(
        port.create_check_run,
        effect.name,
        effect.head_sha,
        status=effect.status,
        external_id=effect.external_id,
        details_url=effect.details_url,
        title=out.title if out else None,
        summary=out.summary if out else None,
        text=out.text if out else None,
        annotations=(),
        recover=_made_anyway(port, effect),
    )
    if out and out.annotations:
        _send_annotations(
            ctx, out.annotations, _annotation_sender(ctx, ctx.check_runs[effect.ref], effect, None)
        )


def _made_anyway(port: GitHubPort, effect: CreateCheckRun) -> Callable[[], int | None] | None:
    """How to find, by its external id, the run a failed create made anyway: a 5xx or a timeout can
    come after GitHub made it, and a blind retry makes a second one, leaving the first in progress."""
    find = getattr(port, "find_check_run", None)
    external_id = effect.external_id
    if external_id is None or find is None:
        return None
    return lambda: find(effect.head_sha, effect.name, external_id)


def _annotation_sender(
    ctx: ApplyContext, check_id: int, created: CreateCheckRun | None, update: UpdateCheckRun | None
) -> Callable[[Sequence[Annotation], bool], None]:
    port = ctx.github()
    out = (update.output if update else None) or (created.output if created else None)

    def send(group: Sequence[Annotation], final: bool) -> None:
        finishing = update is not None and final
        port.update_check_run(
            check_id,
            status=update.status if finishing and update else None,
            conclusion=update.conclusion if finishing and update else None,
            title=out.title if out else None,
            summary=out.summary if out else None,
            text=out.text if out else None,
            annotations=group,
            actions=update.actions if finishing and update else (),
        )

    return send


@applies(UpdateCheckRun)
def _update_check_run(effect: UpdateCheckRun, ctx: ApplyContext) -> None:
    if effect.check_run_id is not None:
        check_id = effect.check_run_id
    elif effect.ref in ctx.check_runs:
        check_id = ctx.check_runs[effect.ref]
    else:
        raise GitHubError(f"check run {effect.ref!r} was not created, so it cannot be completed")
    annotations = effect.output.annotations if effect.output else ()
    _send_annotations(ctx, annotations, _annotation_sender(ctx, check_id, None, effect))


@applies(UpsertComment)
def _upsert_comment(effect: UpsertComment, ctx: ApplyContext) -> None:
    port = ctx.github()
    existing = _our_comment(port, ctx.call(port.list_issue_comments, effect.number), effect.marker)
    if existing is None:

        def made_anyway() -> int | None:
            # a 5xx or a timeout can come after GitHub posted it: a blind retry posts a second one,
            # which the next push's upsert never edits
            found = _our_comment(port, port.list_issue_comments(effect.number), effect.marker)
            return None if found is None else found.id

        ctx.call(port.create_issue_comment, effect.number, effect.body, recover=made_anyway)
    elif existing.body != effect.body:
        ctx.call(port.edit_issue_comment, existing.id, effect.body)


def _our_comment(port: GitHubPort, comments: Sequence[Comment], marker: str) -> Comment | None:
    existing = find_comment(comments, marker)
    if existing is None and any(marker in c.body for c in comments):
        # a person's comment carries the marker: ours only if we post as that person (a personal token)
        viewer = getattr(port, "viewer_login", None)
        existing = find_comment(comments, marker, own=viewer() if viewer else None)
    return existing


@applies(SetOutput)
def _set_output(effect: SetOutput, ctx: ApplyContext) -> None:
    ctx.need_runner().set_output(effect.name, effect.value)


@applies(WriteSummary)
def _write_summary(effect: WriteSummary, ctx: ApplyContext) -> None:
    ctx.need_runner().write_summary(effect.markdown)


@applies(WorkflowCommand)
def _workflow_command(effect: WorkflowCommand, ctx: ApplyContext) -> None:
    ctx.need_runner().command(effect)


def explain(effects: Sequence[Effect]) -> str:
    """A human-readable list of what `apply` would do (for `--dry-run`)."""
    from app.report.env import render

    return render("summary/effects.txt.j2", effects=effects)
