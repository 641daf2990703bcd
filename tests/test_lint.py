"""The code base stays lint-clean, formatted and strictly typed: ruff and mypy run as part of the suite,
so a regression fails like any other bug (configuration: [tool.ruff] and [tool.mypy] in pyproject.toml)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINTED = ("app", "action", "tests", "benchmarks")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m <args>` from the repository root, with the venv the tests run in."""
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_ruff_check_and_format_are_clean() -> None:
    # --no-cache: engineers share the work tree, so the suite writes no cache into it
    lint = _run("ruff", "check", "--no-cache", *LINTED)
    assert lint.returncode == 0, f"ruff check failed:\n{lint.stdout}{lint.stderr}"
    fmt = _run("ruff", "format", "--check", "--no-cache", *LINTED)
    assert fmt.returncode == 0, (
        f"ruff format --check failed (run `ruff format {' '.join(LINTED)}`):\n{fmt.stdout}{fmt.stderr}"
    )


def _mypy_cache() -> Path:
    """mypy's incremental cache for this checkout, outside the work tree (engineers share it, and the
    suite writes no cache into it): a cold run takes 12 CPU s, a warm one 0.5 s (2026-12-07)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    tag = hashlib.sha256(f"{ROOT}|{sys.version}".encode()).hexdigest()[:12]
    return base / "datacanary" / f"mypy-{tag}"


@pytest.mark.slow  # about 12 s on a fresh machine; under 1 s once the cache is warm
def test_mypy_strict_passes_on_app(tmp_path: Path) -> None:
    cache = _mypy_cache()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        lock = (cache / "lock").open("w")
    except OSError:  # no writable cache: a private cold one
        cache, lock = tmp_path / "mypy", None
    try:
        if lock is not None:  # concurrent runs in the shared tree take turns on the cache
            fcntl.flock(lock, fcntl.LOCK_EX)
        result = _run("mypy", "--strict", "--cache-dir", str(cache), "app")
    finally:
        if lock is not None:
            lock.close()
    assert result.returncode == 0, f"mypy --strict app failed:\n{result.stdout}{result.stderr}"
