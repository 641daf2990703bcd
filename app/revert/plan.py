"""Plan the response to a breach: one revert pull request per breach (or an issue when a revert would
be a guess), a comment on it for repeated alerts, silence inside the suppression window. [pure]"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.effects import Effect, UpsertComment
from app.report.env import render
from app.revert.culprit import Culprit, MergedChange
from app.revert.effects import OpenIssue, OpenRevertPullRequest
from app.slo.status import SliResult

MARKER = "<!-- datacanary:revert"  # in every body we write: finds ours, and marks a revert as a revert
LABELS = ("datacanary", "slo-breach", "revert")
REVERT_BRANCH_PREFIXES = ("datacanary/revert-", "revert-")


@dataclass(frozen=True, slots=True)
class FileState:
    """One file the culprit changed: before it merged, as it merged, and on the default branch now."""

    path: str
    before: bytes | None
    merged: bytes | None
    head: bytes | None

    @property
    def changed_since(self) -> bool:
        return self.head != self.merged


@dataclass(frozen=True, slots=True)
class RestoreStep:
    """A dataset version to switch back to: the last audited one published before the culprit."""

    dataset: str
    version: int
    published_at: str
    current: int | None


@dataclass(frozen=True, slots=True)
class Incident:
    """What was already done for a breach fingerprint (the state DB's revert_incidents)."""

    fingerprint: str
    kind: str  # pull | issue
    number: int | None
    last_alert_at: dt.datetime
    alerts: int = 1


@dataclass(frozen=True, slots=True)
class Breach:
    env: str
    at: dt.datetime
    results: tuple[SliResult, ...]  # the breached SLIs

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d for r in self.results for d in r.objective.datasets))

    @property
    def owners(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(o for r in self.results for o in r.objective.owners))


@dataclass(frozen=True, slots=True)
class RevertPlan:
    kind: str  # revert | conflict | no-culprit | declined | update | suppressed
    fingerprint: str
    reason: str
    effects: tuple[Effect, ...] = ()
    culprit: Culprit | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "fingerprint": self.fingerprint,
            "reason": self.reason,
            "culprit": self.culprit.to_json() if self.culprit else None,
            "effects": [e.describe() for e in self.effects],
        }


def fingerprint(breach: Breach, culprit: Culprit | None) -> str:
    """One breach, one incident: the culprit's commit when known (every SLI it broke shares it), else
    the breached SLIs themselves."""
    basis = culprit.change.commit if culprit else ",".join(sorted(r.objective.key for r in breach.results))
    return hashlib.sha256(f"{breach.env}\0{basis}".encode()).hexdigest()[:16]


def is_revert(change: MergedChange) -> bool:
    """A revert (ours or GitHub's): reverting it would flap, so never."""
    return (
        change.title.startswith(("Revert ", 'Revert"'))
        or MARKER in change.body
        or (change.branch or "").startswith(REVERT_BRANCH_PREFIXES)
    )


def plan(
    breach: Breach,
    culprit: Culprit | None,
    files: Sequence[FileState],
    *,
    repo: str,
    default_branch: str,
    head_sha: str,
    restore: Sequence[RestoreStep],
    existing: Incident | None,
    now: dt.datetime,
    suppression: dt.timedelta,
    owners: Sequence[str] = (),
) -> RevertPlan:
    """The response to `breach`. `files` are the culprit's files (empty without a culprit)."""
    fp = fingerprint(breach, culprit)
    everyone = tuple(dict.fromkeys([*breach.owners, *owners]))
    reviewers = tuple(
        o for o in everyone if "/" not in o and "@" not in o
    )  # teams and emails are mentioned only
    ctx: dict[str, Any] = dict(
        breach=breach,
        culprit=culprit,
        files=files,
        restore=restore,
        repo=repo,
        fingerprint=fp,
        marker=MARKER,
        default_branch=default_branch,
        conflicts=[f for f in files if f.changed_since],
        owners=everyone,
        now=now,
    )
    if existing is not None and existing.number is not None:
        if now - existing.last_alert_at < suppression:
            return RevertPlan(
                "suppressed",
                fp,
                f"alerted {existing.alerts} time(s); the last one is within the suppression window",
                culprit=culprit,
            )
        marker = f"{MARKER}-update {fp} -->"
        body = render(
            "revert/update_comment.md.j2", **{**ctx, "marker": marker, "alerts": existing.alerts + 1}
        )
        return RevertPlan(
            "update",
            fp,
            f"repeated alert: updated #{existing.number}",
            (UpsertComment(existing.number, marker, body),),
            culprit,
        )
    if culprit is None:
        return _issue(
            "no-culprit",
            fp,
            "no promoted change touched the breached datasets or their upstreams "
            "since the last good evaluation",
            ctx,
            reviewers,
            culprit,
        )
    if is_revert(culprit.change):
        return _issue(
            "declined",
            fp,
            f"the culprit {culprit.change.label} is itself a revert; datacanary never reverts a revert",
            ctx,
            reviewers,
            culprit,
        )
    if ctx["conflicts"]:
        paths = ", ".join(f.path for f in ctx["conflicts"])
        return _issue(
            "conflict",
            fp,
            f"files changed since {culprit.change.label} merged: {paths}",
            ctx,
            reviewers,
            culprit,
        )
    title = render("revert/title.txt.j2", **ctx).strip()
    effect = OpenRevertPullRequest(
        ref=f"revert:{fp}",
        pull_number=culprit.change.number,
        title=title,
        body=render("revert/pr_body.md.j2", **ctx),
        base=default_branch,
        base_sha=head_sha,
        branch=f"{REVERT_BRANCH_PREFIXES[0]}{fp}",
        message=render("revert/commit_message.txt.j2", **ctx).strip(),
        files=tuple((f.path, f.before) for f in files),
        reviewers=reviewers,
        labels=LABELS,
    )
    return RevertPlan("revert", fp, f"revert {culprit.change.label}", (effect,), culprit)


def _issue(
    kind: str, fp: str, reason: str, ctx: dict[str, Any], owners: tuple[str, ...], culprit: Culprit | None
) -> RevertPlan:
    title = render("revert/issue_title.txt.j2", kind=kind, **ctx).strip()
    body = render("revert/issue_body.md.j2", kind=kind, reason=reason, **ctx)
    effect = OpenIssue(ref=f"revert:{fp}", title=title, body=body, labels=LABELS[:2], assignees=owners)
    return RevertPlan(kind, fp, reason, (effect,), culprit)
