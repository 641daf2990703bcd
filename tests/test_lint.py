"""The code base stays lint-clean, formatted and strictly typed: ruff and mypy run as part of the suite,
so a regression fails like any other bug (configuration: [tool.ruff] and [tool.mypy] in pyproject.toml)."""

from __future__ import annotations

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


@pytest.mark.slow  # about 5 s: a cold cache every run
def test_mypy_strict_passes_on_app(tmp_path: Path) -> None:
    # a private cache: concurrent runs in the shared tree must not contend for .mypy_cache's SQLite files
    result = _run("mypy", "--strict", "--cache-dir", str(tmp_path / "mypy"), "app")
    assert result.returncode == 0, f"mypy --strict app failed:\n{result.stdout}{result.stderr}"
