"""The applier over the real adapter and the loopback GitHub: retries (5xx, Retry-After,
x-ratelimit-reset) with an injected sleeper and clock, annotation batching, 422 bisection, the one
comment found by its marker, and the read-only (fork) token. Posting never raises."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.effects import (
    Annotation,
    AnnotationLevel,
    CheckConclusion,
    CheckOutput,
    CreateCheckRun,
    Effect,
    SetOutput,
    UpdateCheckRun,
    UpsertComment,
    WriteSummary,
)
from app.github.apply import ApplyContext, RetryPolicy, applies, apply, explain
from app.github.client import GitHubClient
from app.github.port import GitHubHttpError
from app.github.workflow import MemoryRunner
from tests.github.conftest import REPO
from tests.support.fake_port import FakePort
from tests.support.github_stub import GitHubStub

MARK = "<!-- datacanary:comment -->"
UPDATE = "/repos/{owner}/{repo}/check-runs/{check_run_id}"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def notes(n: int, path: str = "models/orders.sql") -> tuple[Annotation, ...]:
    return tuple(Annotation(path, i + 1, i + 1, AnnotationLevel.WARNING, f"finding {i}") for i in range(n))


def check(n: int = 0, conclusion: CheckConclusion = CheckConclusion.FAILURE) -> list[Effect]:
    return [
        CreateCheckRun("contracts", "datacanary / contracts", "a" * 40),
        UpdateCheckRun(ref="contracts", conclusion=conclusion, output=CheckOutput("t", "s", None, notes(n))),
    ]


def run(effects: list[Effect], client: GitHubClient, clock: Clock | None = None, **kw):  # type: ignore[no-untyped-def]
    clock = clock or Clock()
    return apply(
        effects,
        port=client,
        runner=kw.pop("runner", None),
        retry=kw.pop("retry", RetryPolicy(backoff=0.5)),
        sleep=clock.sleep,
        clock=clock,
    )


def test_120_annotations_are_sent_in_three_updates(client: GitHubClient, github_stub: GitHubStub) -> None:
    result = run(check(120), client)
    assert result.ok
    updates = github_stub.calls_to("PATCH", UPDATE)
    assert [len(c.json["output"]["annotations"]) for c in updates] == [50, 50, 20]
    assert [c.json.get("conclusion") for c in updates] == [None, None, "failure"]  # completes last
    cid = result.check_runs["contracts"]
    assert len(github_stub.annotations[cid]) == 120 and github_stub.check_runs[cid]["conclusion"] == "failure"


def test_a_server_error_is_retried_after_a_backoff(client: GitHubClient, github_stub: GitHubStub) -> None:
    github_stub.fail("POST", r"/check-runs$", 502)
    clock = Clock()
    result = run(check(), client, clock)
    assert result.ok and clock.slept == [0.5]
    assert len(github_stub.calls_to("POST", "/repos/{owner}/{repo}/check-runs")) == 2


def test_a_check_run_created_but_answered_with_a_502_is_not_created_twice(
    client: GitHubClient, github_stub: GitHubStub
) -> None:
    # GitHub made the run, its answer was lost: a blind retry left a second run and the first one
    # "in progress" for good beside it
    github_stub.fail("POST", r"/check-runs$", 502, after=True)
    create = CreateCheckRun("contracts", "datacanary / contracts", "a" * 40, external_id="dc:d-1:contracts")
    result = run([create, check()[1]], client)
    assert result.ok, result.failed
    (only,) = github_stub.check_runs.values()
    assert only["status"] == "completed" and only["conclusion"] == "failure"
    assert result.check_runs["contracts"] == only["id"]


def test_secondary_rate_limit_waits_retry_after(client: GitHubClient, github_stub: GitHubStub) -> None:
    github_stub.secondary_rate_limit("PATCH", r"/check-runs/\d+$", retry_after=7, status=429)
    clock = Clock()
    assert run(check(3), client, clock).ok
    assert clock.slept == [7.0]


def test_secondary_rate_limit_without_retry_after_waits_a_minute(
    client: GitHubClient, github_stub: GitHubStub
) -> None:
    github_stub.fail("POST", r"/check-runs$", 403)  # "You have exceeded a secondary rate limit"
    clock = Clock()
    assert run(check(), client, clock).ok
    assert clock.slept == [60.0]


def test_primary_rate_limit_waits_until_the_reset(client: GitHubClient, github_stub: GitHubStub) -> None:
    clock = Clock(now=5_000.0)
    github_stub.primary_rate_limit("POST", r"/check-runs$", reset_epoch=5_030)
    assert run(check(), client, clock).ok
    assert clock.slept == [31.0]  # until the reset, plus a second of slack


def test_a_wait_beyond_the_limit_is_reported_not_slept(client: GitHubClient, github_stub: GitHubStub) -> None:
    github_stub.secondary_rate_limit("POST", r"/check-runs$", retry_after=3600)
    clock = Clock()
    result = run(check(), client, clock, retry=RetryPolicy(max_wait=60))
    assert not result.ok and clock.slept == []
    assert "3600" in result.failed[0].error
    assert "was not created" in result.failed[1].error  # the update that depended on it


def test_persistent_server_errors_give_up_without_raising(
    client: GitHubClient, github_stub: GitHubStub
) -> None:
    github_stub.fail("POST", r"/check-runs$", 500, times=10)
    clock = Clock()
    result = run(check(), client, clock, retry=RetryPolicy(attempts=3, backoff=1))
    assert not result.ok and result.failed[0].status == 500
    assert clock.slept == [1, 2]


def test_a_rejected_annotation_is_dropped_and_the_rest_posted(
    client: GitHubClient, github_stub: GitHubStub
) -> None:
    bad = Annotation("deleted/file.sql", 3, 3, AnnotationLevel.FAILURE, "points at a file not in the commit")
    effects = [
        CreateCheckRun("contracts", "datacanary / contracts", "a" * 40),
        UpdateCheckRun(
            ref="contracts",
            conclusion=CheckConclusion.FAILURE,
            output=CheckOutput("t", "s", None, (*notes(30), bad, *notes(30, "models/b.sql"))),
        ),
    ]
    github_stub.reject_annotations(lambda a: a["path"] == "deleted/file.sql")
    result = run(effects, client)
    assert result.ok
    cid = result.check_runs["contracts"]
    posted = github_stub.annotations[cid]
    assert len(posted) == 60 and all(a["path"] != "deleted/file.sql" for a in posted)
    assert github_stub.check_runs[cid]["conclusion"] == "failure"
    assert any("deleted/file.sql:3" in n for n in result.notes)


def test_comment_is_created_once_then_edited_in_place(client: GitHubClient, github_stub: GitHubStub) -> None:
    github_stub.add_pull(5, repo=REPO)
    for i in range(40):
        github_stub.add_comment(5, f"someone else {i}", repo=REPO)
    assert run([UpsertComment(5, MARK, f"{MARK}\nfirst")], client).ok
    assert run([UpsertComment(5, MARK, f"{MARK}\nsecond")], client).ok
    assert run([UpsertComment(5, MARK, f"{MARK}\nsecond")], client).ok  # unchanged: no edit at all
    ours = [c for c in github_stub.comments_on(5) if MARK in c["body"]]
    assert len(ours) == 1 and ours[0]["body"].endswith("second")
    assert len(github_stub.calls_to("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")) == 1
    assert len(github_stub.calls_to("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")) == 1


def test_a_comment_created_but_answered_with_a_502_is_not_posted_twice(
    client: GitHubClient, github_stub: GitHubStub
) -> None:
    github_stub.add_pull(5, repo=REPO)
    github_stub.fail("POST", r"/issues/5/comments$", 502, after=True)
    assert run([UpsertComment(5, MARK, f"{MARK}\nfirst")], client).ok
    assert run([UpsertComment(5, MARK, f"{MARK}\nsecond")], client).ok
    ours = [c for c in github_stub.comments_on(5) if MARK in c["body"]]
    assert len(ours) == 1 and ours[0]["body"].endswith("second")


def test_read_only_token_stops_github_effects_but_not_runner_effects(
    client: GitHubClient, github_stub: GitHubStub
) -> None:
    github_stub.read_only = True
    runner = MemoryRunner.empty()
    result = run(
        [*check(), UpsertComment(1, MARK, MARK), SetOutput("verdict", "fail"), WriteSummary("# r")],
        client,
        runner=runner,
    )
    assert result.read_only and len(result.failed) == 3
    assert len(github_stub.calls) == 1  # nothing further was tried after the 403
    assert runner.outputs == {"verdict": "fail"} and runner.summary == ["# r"]


def test_unexpected_exceptions_become_failures() -> None:
    @dataclass(frozen=True, slots=True)
    class Unknown(Effect):
        x: int = 0

    result = apply([Unknown()], port=FakePort())
    assert not result.ok and "no performer" in result.failed[0].error


def test_other_modules_register_their_own_effects() -> None:
    @dataclass(frozen=True, slots=True)
    class CreateDeploymentLike(Effect):
        env: str

    seen: list[str] = []

    @applies(CreateDeploymentLike)
    def _perform(effect: CreateDeploymentLike, ctx: ApplyContext) -> None:
        seen.append(ctx.call(lambda: effect.env))

    assert apply([CreateDeploymentLike("prod")], port=FakePort()).ok and seen == ["prod"]
    with pytest.raises(ValueError):
        applies(CreateDeploymentLike)(lambda e, c: None)


def test_fake_port_retry_sequence() -> None:
    port = FakePort()
    port.errors = [GitHubHttpError(503, "unavailable"), None]
    clock = Clock()
    result = apply(check(), port=port, retry=RetryPolicy(backoff=0.25), sleep=clock.sleep, clock=clock)
    assert result.ok and clock.slept == [0.25]
    assert [name for name, _ in port.calls] == ["create_check_run", "create_check_run", "update_check_run"]


def test_explain_lists_the_effects_in_order() -> None:
    text = explain([*check(2), UpsertComment(3, MARK, MARK)])
    assert "1. create check run 'datacanary / contracts'" in text
    assert "2. update check run contracts: conclusion=failure, 2 annotation(s)" in text
    assert "3. upsert comment on #3" in text


def test_a_human_quoting_the_marker_does_not_capture_the_comment() -> None:
    from app.github.port import Comment, find_comment

    quoted = Comment(1, f"> as the bot said\n> {MARK}\nI disagree", "human")
    ours = Comment(2, f"{MARK}\n## report", "datacanary[bot]")
    assert find_comment([quoted, ours], MARK) == ours
    assert find_comment([quoted], MARK) is None  # a person's comment is never ours
    assert find_comment([quoted], MARK, own="human") == quoted  # unless we post with their token
    assert find_comment([], MARK) is None


def test_a_strangers_comment_with_the_marker_is_left_alone(
    client: GitHubClient, github_stub: GitHubStub
) -> None:
    github_stub.add_pull(6, repo=REPO)
    planted = github_stub.add_comment(6, f"{MARK}\n## ✅ datacanary: PASS", user="mallory", repo=REPO)
    assert run([UpsertComment(6, MARK, f"{MARK}\n## ❌ FAIL")], client).ok
    assert github_stub.comments[planted["id"]]["body"].endswith("PASS")  # not edited
    ours = [c for c in github_stub.comments_on(6) if c["user"]["login"] == "datacanary[bot]"]
    assert len(ours) == 1 and ours[0]["body"].endswith("FAIL")
    # the installation token has no user: GET /user is asked once, answered 403/404, and nothing breaks
    assert len(github_stub.calls_to("GET", "/user")) <= 1


def test_a_422_not_caused_by_annotations_is_reported_without_blaming_them() -> None:
    port = FakePort()
    bad_output = GitHubHttpError(422, "Invalid request: summary too long")
    port.errors = [None, bad_output, bad_output]  # create ok; update with annotations 422; probe 422
    result = apply(check(3), port=port, retry=RetryPolicy(backoff=0))
    assert not result.ok and result.failed[0].status == 422
    assert result.notes == ()  # no annotation was blamed
    assert [name for name, _ in port.calls] == ["create_check_run", "update_check_run", "update_check_run"]
