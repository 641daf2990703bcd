"""The `github_stub` pytest fixture. Use it with

    from tests.support.fixtures import github_stub  # noqa: F401

One server serves the whole session (started on first use); each test gets it reset, and fails at
teardown if any request it sent did not conform to GitHub's OpenAPI description.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import openapi
from tests.support.github_stub import GitHubStub
from tests.support.stub_server import StubServer

_RUNNING: list[tuple[GitHubStub, StubServer]] = []


def _shared_stub() -> GitHubStub:
    if not _RUNNING:
        stub = GitHubStub(openapi.load())
        server = StubServer(stub.app()).start()
        stub.server_url = server.url
        _RUNNING.append((stub, server))
    return _RUNNING[0][0]


@pytest.fixture
def github_stub() -> Iterator[GitHubStub]:
    """A fresh loopback GitHub: `.base_url`, `.calls`, stores, and failure knobs (see GitHubStub)."""
    stub = _shared_stub()
    stub.reset()
    yield stub
    violations = stub.take_violations()
    assert not violations, "requests that do not conform to GitHub's OpenAPI description:\n" + "\n".join(
        violations
    )
