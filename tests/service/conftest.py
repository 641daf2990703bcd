"""Fixtures of the service tests: an app private key, settings, real payload files, and the service
served by uvicorn on a loopback port (lifespan on, so its workers run)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.config import Settings, load_settings
from tests.support.fixtures import github_stub  # noqa: F401
from tests.support.signing import TEST_SECRET
from tests.support.stub_server import free_port

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = ROOT / "fixtures" / "github" / "payloads"
APP_ID = 424242


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def load_payload(name: str) -> dict[str, Any]:
    """A real GitHub example payload, e.g. `pull_request.opened`."""
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return data


@pytest.fixture
def make_settings(tmp_path: Path, private_key_pem: str) -> Callable[..., Settings]:
    """Settings for a test: throttling off, one fast-polling worker thread (so that test doubles reach
    it; tests/service/test_processes.py runs worker processes), state in tmp_path."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "app_id": APP_ID,
            "private_key": private_key_pem,
            "webhook_secret": TEST_SECRET,
            "state": tmp_path / "state.sqlite",
            "repo_cache": tmp_path / "repos",
            "workers": 1,
            "worker_mode": "thread",
            "poll_seconds": 0.05,
            "seconds_between_requests": None,
            "seconds_between_writes": None,
            "github_retry": False,
            "canary": False,
        }
        values.update(overrides)
        return load_settings(**values)

    return make


class ServiceServer:
    """The service app under uvicorn in a thread, with its lifespan (workers) running."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def service(self) -> Any:
        return self.app.state.service

    def start(self) -> ServiceServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the service did not start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def wait_idle(self, timeout: float = 20.0) -> None:
        """Wait until every stored delivery is finished."""
        deadline = time.monotonic() + timeout
        while self.service.inbox.depth():
            assert time.monotonic() < deadline, f"deliveries still pending: {self.service.inbox.depth()}"
            time.sleep(0.02)


@pytest.fixture
def serve() -> Iterator[Callable[[Any], ServiceServer]]:
    """Start apps on loopback ports; stopped at teardown."""
    started: list[ServiceServer] = []

    def start(app: Any) -> ServiceServer:
        server = ServiceServer(app).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def children() -> Iterator[list[Any]]:
    """`datacanary serve` processes (tests.service.child.Serve) a test started; stopped at teardown."""
    started: list[Any] = []
    yield started
    for child in started:
        child.stop()
