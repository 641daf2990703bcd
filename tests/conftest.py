"""Shared test set-up: git identities so tests can commit on any machine, and the demo repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests build real git repositories; a fresh CI machine has no git identity configured.
for _key, _value in {
    "GIT_AUTHOR_NAME": "datacanary tests",
    "GIT_AUTHOR_EMAIL": "tests@datacanary.invalid",
    "GIT_COMMITTER_NAME": "datacanary tests",
    "GIT_COMMITTER_EMAIL": "tests@datacanary.invalid",
}.items():
    os.environ.setdefault(_key, _value)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def demo_repo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The bundled shop demo as a real git repository with a base and a head commit (read-only use)."""
    from app.demo import build_demo_repo

    return build_demo_repo(tmp_path_factory.mktemp("demo") / "shop")
