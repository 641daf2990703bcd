"""Clients for the loopback GitHub stub, with PyGithub's throttling and retries off."""

from __future__ import annotations

import pytest

from app.github.client import GitHubClient
from tests.support.fixtures import github_stub  # noqa: F401
from tests.support.github_stub import GitHubStub

REPO = "octo/shop"


@pytest.fixture
def client(github_stub: GitHubStub) -> GitHubClient:  # noqa: F811
    return GitHubClient(REPO, base_url=github_stub.base_url, token="t0ken", seconds_between_requests=None,
                        seconds_between_writes=None, retry=None)
