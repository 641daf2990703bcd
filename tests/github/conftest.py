"""Clients for the loopback GitHub stub, with PyGithub's throttling and retries off."""

from __future__ import annotations

import pytest

from app.github.client import GitHubClient
from tests.support.fixtures import github_stub  # noqa: F401
from tests.support.github_stub import GitHubStub

REPO = "octo/shop"


def make_client(base_url: str, **kw: float) -> GitHubClient:
    """A client without PyGithub's throttle and retries (the applier's retries are tested on their own)."""
    return GitHubClient(
        REPO,
        base_url=base_url,
        token="t0ken",
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
        **kw,
    )


@pytest.fixture
def client(github_stub: GitHubStub) -> GitHubClient:  # noqa: F811
    return make_client(github_stub.base_url)
