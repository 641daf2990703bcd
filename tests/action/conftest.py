"""A tiny datacanary project as a real git repository (base commit, head commit), the runner environment
the Action reads, and event files made from GitHub's real example payloads."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.fixtures import github_stub  # noqa: F401
from tests.support.github_stub import GitHubStub

PROJECT = Path(__file__).resolve().parent / "project"
PAYLOADS = Path(__file__).resolve().parents[2] / "fixtures" / "github" / "payloads"
REPO = "Codertocat/Hello-World"  # the repository of the example payloads


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class TinyRepo:
    path: Path
    base: str
    head: str

    def commit(self, files: dict[str, str], message: str) -> str:
        """A new head commit (a push to the PR branch)."""
        for name, text in files.items():
            (self.path / name).write_text(text)
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "-m", message)
        self.head = git(self.path, "rev-parse", "HEAD")
        return self.head


@pytest.fixture
def tiny_repo(tmp_path: Path) -> TinyRepo:
    """base: customers with email; head: email dropped and country made optional (2 breaking changes)."""
    repo = tmp_path / "repo"
    shutil.copytree(PROJECT / "base", repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    base = git(repo, "rev-parse", "HEAD")
    shutil.copytree(PROJECT / "head", repo, dirs_exist_ok=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "head")
    return TinyRepo(repo, base, git(repo, "rev-parse", "HEAD"))


def event_file(
    tmp_path: Path, name: str, *, base: str, head: str, fork: bool = False, action: str = "opened"
) -> Path:
    """A real example payload with the base/head shas of `tiny_repo` written in."""
    if name == "merge_group":
        payload = json.loads((PAYLOADS / "merge_group.checks_requested.json").read_text())
        payload["merge_group"].update(base_sha=base, head_sha=head)
    elif name in ("pull_request", "pull_request_target"):
        payload = json.loads((PAYLOADS / f"pull_request.{action}.json").read_text())
        payload["pull_request"]["base"]["sha"], payload["pull_request"]["head"]["sha"] = base, head
        if fork:
            payload["pull_request"]["head"]["repo"]["full_name"] = "stranger/Hello-World"
    elif name == "check_run":  # someone pressed "Acknowledge breaking" on the PR's contracts check
        payload = json.loads((PAYLOADS / "check_run.requested_action.json").read_text())
        payload["repository"]["full_name"] = REPO
        payload["requested_action"] = {"identifier": action}
        payload["check_run"]["head_sha"] = head
        pull = payload["check_run"]["pull_requests"][0]
        pull["number"], pull["head"]["sha"], pull["base"]["sha"] = 2, head, base
    else:
        payload = json.loads((PAYLOADS / "workflow_dispatch.event.json").read_text())
    path = tmp_path / f"event-{name}-{head[:7]}.json"
    path.write_text(json.dumps(payload))
    return path


def runner_env(
    tmp_path: Path, repo: TinyRepo, stub: GitHubStub, event: str, event_path: Path, **inputs: str
) -> dict[str, str]:
    """The variables a GitHub runner sets for a step, pointing the API at the stub."""
    out, summary = tmp_path / "github_output", tmp_path / "step_summary"
    out.touch()
    summary.touch()
    env = {
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": stub.base_url,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_WORKSPACE": str(repo.path),
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(tmp_path / "runner_temp"),
        "INPUT_GITHUB_TOKEN": "ghs_test",
        "DATACANARY_GITHUB_THROTTLE": "off",
    }
    env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
    return env


def read_outputs(path: Path) -> dict[str, str]:
    """Parse $GITHUB_OUTPUT (heredoc form)."""
    lines, out, i = path.read_text().splitlines(), {}, 0
    while i < len(lines):
        name, delim = lines[i].split("<<", 1)
        end = lines.index(delim, i + 1)
        out[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return out
