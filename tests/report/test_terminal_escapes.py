"""Control characters from data or a pull request never reach a terminal or a CI log raw: an ANSI escape
in a value or a file name shows as `\\x1b`, so it cannot clear the screen, recolour or hide log lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import action.__main__ as action_main
from app.cli import main
from app.errors import ProjectError
from app.terminal import printable

HOSTILE = "paid\x1b[2J\x1b[1;1H\x1b]8;;https://evil.example\x07ok\r\x9b31m"


def test_printable_escapes_control_characters_but_keeps_lines_and_tabs() -> None:
    assert printable("a\tb\nc") == "a\tb\nc"
    assert printable(HOSTILE) == "paid\\x1b[2J\\x1b[1;1H\\x1b]8;;https://evil.example\\x07ok\\x0d\\x9b31m"
    assert printable("café ✓ 名前") == "café ✓ 名前"  # printable unicode untouched


def _tables(tmp_path: Path) -> tuple[Path, Path]:
    con = duckdb.connect()
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    con.execute(f"COPY (SELECT 1 AS id, 'paid' AS status) TO '{a}'")
    con.execute(f"COPY (SELECT 1 AS id, $${HOSTILE}$$ AS status) TO '{b}'")
    return a, b


def test_a_data_value_with_escapes_is_shown_escaped_in_the_text_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = _tables(tmp_path)
    assert main(["data-diff", str(a), str(b), "--key", "id"]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\x9b" not in out
    assert "\\x1b[2J" in out  # the changed value is still there to read
    assert sys.stdout is not None and not hasattr(sys.stdout, "_stream")  # streams restored after main


def test_an_error_naming_a_hostile_file_is_shown_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "x\x1b[8mhidden.parquet"
    assert main(["data-diff", str(missing), str(missing), "--key", "id"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "x\\x1b[8mhidden.parquet" in err


def test_the_cli_process_writes_no_raw_escape(tmp_path: Path) -> None:
    a, b = _tables(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "data-diff", str(a), str(b), "--key", "id"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "\x1b" not in proc.stdout and "\\x1b[2J" in proc.stdout


def test_the_action_log_gets_no_raw_escape(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(env: object) -> int:
        raise ProjectError(f"model {HOSTILE!s} cannot be read")

    monkeypatch.setattr(action_main, "_entry", lambda mode: fail)
    assert action_main.main({"INPUT_MODE": "pr"}) == 2
    out = capsys.readouterr().out
    assert out.startswith("::error::") and "\x1b" not in out and "\\x1b[2J" in out
