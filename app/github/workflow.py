"""The runner side of an Action: workflow commands on stdout, step outputs in `$GITHUB_OUTPUT`, markdown in
`$GITHUB_STEP_SUMMARY`. https://docs.github.com/actions/reference/workflow-commands-for-github-actions
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.effects import WorkflowCommand


def escape_data(text: str) -> str:
    """Escape a workflow command message the way the runner's toolkit does (`%`, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property value: the message escapes plus `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_command(cmd: WorkflowCommand) -> str:
    """`::error file=a.sql,line=3,title=x::message` with GitHub's escaping applied."""
    props = ",".join(f"{k}={escape_property(v)}" for k, v in cmd.properties if v != "")
    head = f"::{cmd.command} {props}" if props else f"::{cmd.command}"
    return f"{head}::{escape_data(cmd.message)}"


class RunnerIO:
    """Where Action effects land on a runner. `output_path`/`summary_path` are the files GitHub names in
    GITHUB_OUTPUT / GITHUB_STEP_SUMMARY (None outside a runner: outputs are then only echoed)."""

    def __init__(
        self,
        output_path: Path | None,
        summary_path: Path | None,
        write: Callable[[str], object],
    ) -> None:
        self.output_path = output_path
        self.summary_path = summary_path
        self._write = write

    def set_output(self, name: str, value: str) -> None:
        if self.output_path is None:
            self._write(f"{name}={value}\n")
            return
        # multi-line values need the heredoc form with a delimiter that cannot occur in the value
        delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
        with self.output_path.open("a", encoding="utf-8") as fh:
            fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")

    def write_summary(self, markdown: str) -> None:
        if self.summary_path is None:
            return
        with self.summary_path.open("a", encoding="utf-8") as fh:
            fh.write(markdown if markdown.endswith("\n") else markdown + "\n")

    def command(self, cmd: WorkflowCommand) -> None:
        self._write(format_command(cmd) + "\n")

    def write_text(self, text: str) -> None:
        """Plain text to the log (dry-run explanations)."""
        self._write(text)


@dataclass
class MemoryRunner:
    """A RunnerIO stand-in that keeps everything in memory (dry runs, tests, the App)."""

    outputs: dict[str, str]
    summary: list[str]
    commands: list[str]

    @classmethod
    def empty(cls) -> MemoryRunner:
        return cls({}, [], [])

    def set_output(self, name: str, value: str) -> None:
        self.outputs[name] = value

    def write_summary(self, markdown: str) -> None:
        self.summary.append(markdown)

    def command(self, cmd: WorkflowCommand) -> None:
        self.commands.append(format_command(cmd))
