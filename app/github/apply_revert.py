"""Performers of the revert effects (app.revert.effects) and the GitHub operations they need.

`RevertClient` extends the PyGithub-backed GitHubClient with those operations: GraphQL
`revertPullRequest` (https://docs.github.com/graphql/reference/mutations#revertpullrequest), the git data
API (https://docs.github.com/rest/git), pull requests, reviewers, labels and issues. Open these with the
App's installation token: a pull request opened with the Actions `GITHUB_TOKEN` triggers no workflows,
so the revert would never be checked.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Protocol, cast

from app.github.apply import ApplyContext, applies
from app.github.client import GitHubClient
from app.github.port import GitHubHttpError
from app.revert.effects import OpenIssue, OpenRevertPullRequest
from app.revert.plan import MARKER

REVERT_MUTATION = """
mutation($input: RevertPullRequestInput!) {
  revertPullRequest(input: $input) { revertPullRequest { number url } }
}
""".strip()


class RevertPort(Protocol):
    """What the revert performers call; each raises GitHubHttpError on failure."""

    def pull_node_id(self, number: int) -> str: ...
    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]: ...
    def commit_tree(self, sha: str) -> str: ...
    def create_blob(self, content: bytes) -> str: ...
    def create_tree(self, base_tree: str, entries: Sequence[tuple[str, str | None]]) -> str: ...
    def create_commit(self, message: str, tree: str, parents: Sequence[str]) -> str: ...
    def create_ref(self, branch: str, sha: str) -> None: ...
    def update_ref(self, branch: str, sha: str) -> None: ...
    def create_pull(self, title: str, body: str, head: str, base: str) -> int: ...
    def open_pull_from(self, branch: str) -> int | None: ...
    def open_pull_with(self, marker: str) -> int | None: ...
    def request_reviewers(self, number: int, reviewers: Sequence[str]) -> None: ...
    def add_labels(self, number: int, labels: Sequence[str]) -> None: ...
    def create_issue(self, title: str, body: str, labels: Sequence[str], assignees: Sequence[str]) -> int: ...
    def open_issue_with(self, marker: str) -> int | None: ...


class RevertClient(GitHubClient):
    """GitHubClient plus the revert operations (PyGithub; the same throttle and retry knobs)."""

    def pull_node_id(self, number: int) -> str:
        return str(self._call(lambda: self._repo.get_pull(number).node_id))

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        _, data = self._call(lambda: self._gh.requester.graphql_query(query, variables))
        return data

    def commit_tree(self, sha: str) -> str:
        url = f"{self._repo.url}/git/commits/{sha}"
        _, data = self._call(lambda: self._gh.requester.requestJsonAndCheck("GET", url))
        return str(data["tree"]["sha"])

    def create_blob(self, content: bytes) -> str:
        encoded = base64.b64encode(content).decode()
        return str(self._call(lambda: self._repo.create_git_blob(encoded, "base64").sha))

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        # PyGithub's create_git_tree/commit want full objects (a GET each); the API needs only shas
        _, data = self._call(
            lambda: self._gh.requester.requestJsonAndCheck("POST", f"{self._repo.url}{path}", input=body)
        )
        return cast(dict[str, Any], data)

    def create_tree(self, base_tree: str, entries: Sequence[tuple[str, str | None]]) -> str:
        # sha None deletes the path (a file the reverted pull request added)
        tree = [{"path": path, "mode": "100644", "type": "blob", "sha": sha} for path, sha in entries]
        return str(self._post("/git/trees", {"base_tree": base_tree, "tree": tree})["sha"])

    def create_commit(self, message: str, tree: str, parents: Sequence[str]) -> str:
        return str(
            self._post("/git/commits", {"message": message, "tree": tree, "parents": list(parents)})["sha"]
        )

    def create_ref(self, branch: str, sha: str) -> None:
        self._call(lambda: self._repo.create_git_ref(f"refs/heads/{branch}", sha))

    def update_ref(self, branch: str, sha: str) -> None:
        url = f"{self._repo.url}/git/refs/heads/{branch}"
        self._call(
            lambda: self._gh.requester.requestJsonAndCheck("PATCH", url, input={"sha": sha, "force": True})
        )

    def open_pull_from(self, branch: str) -> int | None:
        owner = self._repo_name.split("/")[0]
        pulls = self._call(lambda: self._repo.get_pulls(state="open", head=f"{owner}:{branch}").get_page(0))
        return int(pulls[0].number) if pulls else None

    def open_pull_with(self, marker: str) -> int | None:
        """The newest open pull request whose body starts with `marker` (the first page: newest first)."""
        pulls = self._call(
            lambda: self._repo.get_pulls(state="open", sort="created", direction="desc").get_page(0)
        )
        return next((int(p.number) for p in pulls if (p.body or "").startswith(marker)), None)

    def open_issue_with(self, marker: str) -> int | None:
        """The newest open issue (not pull request) whose body starts with `marker` (the first page)."""
        issues = self._call(
            lambda: self._repo.get_issues(state="open", sort="created", direction="desc").get_page(0)
        )
        found = (i for i in issues if i.pull_request is None and (i.body or "").startswith(marker))
        return next((int(i.number) for i in found), None)

    def create_pull(self, title: str, body: str, head: str, base: str) -> int:
        return int(
            self._call(lambda: self._repo.create_pull(base=base, head=head, title=title, body=body).number)
        )

    def request_reviewers(self, number: int, reviewers: Sequence[str]) -> None:
        self._call(lambda: self._repo.get_pull(number).create_review_request(reviewers=list(reviewers)))

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        # PyGithub sends a bare JSON array; GitHub's description asks for {"labels": [...]}
        self._post(f"/issues/{number}/labels", {"labels": list(labels)})

    def create_issue(self, title: str, body: str, labels: Sequence[str], assignees: Sequence[str]) -> int:
        issue = self._call(
            lambda: self._repo.create_issue(
                title=title, body=body, labels=list(labels), assignees=list(assignees)
            )
        )
        return int(issue.number)


def _port(ctx: ApplyContext) -> RevertPort:
    return cast(RevertPort, ctx.github())


@applies(OpenRevertPullRequest)
def _open_revert(effect: OpenRevertPullRequest, ctx: ApplyContext) -> None:
    port = _port(ctx)
    # Applied again (a crash after GitHub opened it but before it was recorded, a re-run): the pull
    # request that carries this breach's marker line is the one. GitHub names the branch of its own
    # revert, so for the GraphQL path the marker is the only handle.
    marker = effect.body.split("\n", 1)[0]
    number = ctx.call(port.open_pull_with, marker) if marker.startswith(MARKER) else None
    if number is None and effect.use_graphql and effect.pull_number:
        number = _graphql_revert(effect, ctx, port, marker if marker.startswith(MARKER) else None)
    if number is None:
        number = _git_data_revert(effect, ctx, port)
    ctx.check_runs[effect.ref] = number  # ApplyResult.check_runs doubles as "numbers created, by ref"
    if effect.reviewers:
        try:
            ctx.call(port.request_reviewers, number, effect.reviewers)
        except GitHubHttpError as err:  # an owner who is not a collaborator must not lose the revert
            ctx.notes.append(
                f"could not request reviewers {', '.join(effect.reviewers)} on #{number}: {err.message}"
            )
    if effect.labels:
        ctx.call(port.add_labels, number, effect.labels)


def _graphql_revert(
    effect: OpenRevertPullRequest, ctx: ApplyContext, port: RevertPort, marker: str | None
) -> int | None:
    """GitHub's own revert of the merged pull request; None (with a note) when GitHub refuses it."""
    try:
        node_id = ctx.call(port.pull_node_id, cast(int, effect.pull_number))

        def revert() -> int | None:
            data = port.graphql(
                REVERT_MUTATION,
                {"input": {"pullRequestId": node_id, "title": effect.title, "body": effect.body}},
            )
            created = ((data.get("data") or {}).get("revertPullRequest") or {}).get("revertPullRequest") or {}
            return int(created["number"]) if created.get("number") else None

        # a 5xx or a timeout can come after GitHub opened the revert: a blind retry opens a second one
        number = ctx.call(revert, recover=(lambda: port.open_pull_with(marker)) if marker else None)
        if number is not None:
            return number
        ctx.notes.append("GraphQL revertPullRequest returned no pull request; used the git data API")
    except GitHubHttpError as err:
        ctx.notes.append(f"GraphQL revertPullRequest failed ({err.message}); used the git data API")
    return None


def _git_data_revert(effect: OpenRevertPullRequest, ctx: ApplyContext, port: RevertPort) -> int:
    """A branch from `base_sha` whose one commit restores the pre-merge files, and its pull request."""
    base_tree = ctx.call(port.commit_tree, effect.base_sha)
    entries: list[tuple[str, str | None]] = []
    for path, content in effect.files:
        entries.append((path, None if content is None else ctx.call(port.create_blob, content)))
    tree = ctx.call(port.create_tree, base_tree, entries)
    commit = ctx.call(port.create_commit, effect.message, tree, [effect.base_sha])
    try:
        ctx.call(port.create_ref, effect.branch, commit)
    except GitHubHttpError as err:
        if err.status != 422:
            raise
        # the branch is left from an attempt that stopped half-way (a crash, a failed pull request):
        # it is datacanary's own branch for this incident, so point it at this commit
        ctx.call(port.update_ref, effect.branch, commit)
    try:
        return ctx.call(port.create_pull, effect.title, effect.body, effect.branch, effect.base)
    except GitHubHttpError as err:
        existing = ctx.call(port.open_pull_from, effect.branch) if err.status == 422 else None
        if existing is None:
            raise
        return existing  # opened before a crash kept us from recording it: one breach, one pull request


@applies(OpenIssue)
def _open_issue(effect: OpenIssue, ctx: ApplyContext) -> None:
    port = _port(ctx)
    marker = effect.body.split("\n", 1)[0]
    # a 5xx or a timeout can come after GitHub opened the issue: a blind retry opens a second one
    recover = (lambda: port.open_issue_with(marker)) if marker.startswith(MARKER) else None
    try:
        number = ctx.call(
            port.create_issue, effect.title, effect.body, effect.labels, effect.assignees, recover=recover
        )
    except GitHubHttpError as err:
        if err.status != 422 or not effect.assignees:
            raise
        # 422: an assignee cannot be assigned here; the issue matters more than the assignment
        ctx.notes.append(f"could not assign {', '.join(effect.assignees)}: {err.message}")
        number = ctx.call(port.create_issue, effect.title, effect.body, effect.labels, (), recover=recover)
    ctx.check_runs[effect.ref] = number
