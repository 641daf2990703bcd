"""Workflow commands (the fork fallback's annotations) escaped as GitHub's runner requires, and step
outputs written in the multi-line-safe heredoc form."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from app.effects import WorkflowCommand
from app.github.workflow import MemoryRunner, RunnerIO, escape_data, escape_property, format_command


def unescape(text: str) -> str:
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def test_message_escapes_percent_and_newlines() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"


def test_property_also_escapes_colon_and_comma() -> None:
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_error_command_with_file_line_and_title() -> None:
    cmd = WorkflowCommand(
        "error",
        "column `email` removed\nhint: bump",
        (("file", "c/x,y.yaml"), ("line", "12"), ("title", "column-removed: t.email")),
    )
    assert format_command(cmd) == (
        "::error file=c/x%2Cy.yaml,line=12,title=column-removed%3A t.email"
        "::column `email` removed%0Ahint: bump"
    )


def test_command_without_properties() -> None:
    assert format_command(WorkflowCommand("notice", "hello")) == "::notice::hello"


@settings(deadline=None)  # the suite shares 2 cores with others: no timing flakes
@given(st.text())
def test_escaping_round_trips_and_leaves_no_raw_separators(text: str) -> None:
    prop, data = escape_property(text), escape_data(text)
    assert unescape(prop) == text and unescape(data) == text
    assert not {"\n", "\r", ":", ","} & set(prop)
    assert not {"\n", "\r"} & set(data)


def test_outputs_use_a_delimiter_that_survives_multiline_values(tmp_path: Path) -> None:
    out, summary = tmp_path / "out", tmp_path / "summary"
    written: list[str] = []
    io = RunnerIO(out, summary, written.append)
    io.set_output("verdict", "fail")
    io.set_output("notes", "line 1\nline 2")
    io.write_summary("# hi")
    io.command(WorkflowCommand("warning", "w"))
    lines = out.read_text().splitlines()
    assert lines[0].startswith("verdict<<") and lines[1] == "fail" and lines[2] == lines[0].split("<<")[1]
    assert "line 1" in lines and "line 2" in lines
    assert summary.read_text() == "# hi\n"
    assert written == ["::warning::w\n"]


def test_memory_runner_keeps_everything() -> None:
    runner = MemoryRunner.empty()
    runner.set_output("a", "1")
    runner.command(WorkflowCommand("error", "x"))
    assert runner.outputs == {"a": "1"} and runner.commands == ["::error::x"]
