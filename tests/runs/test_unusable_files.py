"""An environment database another process holds, or that is not a DuckDB file, and a state file SQLite
cannot use, are errors naming the file (exit 2 with a hint), never an internal error; nothing is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.runs.test_run_command import _cli


def test_an_environment_database_held_by_another_process_is_named(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = str(project / "prod.duckdb")
    code = f"import duckdb, time; c = duckdb.connect({database!r}); print('held', flush=True); time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        for command in (["run"], ["restore", "orders", "--to", "1"]):
            exit_code, out = _cli(capsys, project, *command)
            assert exit_code == 2, out  # was exit 3: IOException: Could not set lock on file
            assert "prod.duckdb is in use by another process" in out and "internal error" not in out
    finally:
        holder.kill()
        holder.wait()
    exit_code, out = _cli(capsys, project, "run")  # once it is free, the run goes ahead
    assert exit_code == 0, out


@pytest.mark.parametrize("content", [b"not a database" * 100, b""], ids=["garbage", "empty"])
def test_a_damaged_environment_database_is_named(
    project: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    original = (project / "prod.duckdb").read_bytes()
    (project / "prod.duckdb").write_bytes(content or original[:4096])  # empty: truncated to one block
    exit_code, out = _cli(capsys, project, "run")
    assert exit_code == 2 and "prod.duckdb" in out and "internal error" not in out, out


def test_a_state_file_sqlite_cannot_use_is_named(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "state.sqlite").write_bytes(b"garbage" * 1000)
    exit_code, out = _cli(capsys, project, "run")
    assert exit_code == 2 and "state file" in out and "state.sqlite" in out and "internal error" not in out, (
        out
    )
