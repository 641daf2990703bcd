"""Small shared values: where something is, how much it matters."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A place in a repository file: path relative to the repository root, 1-based line and column."""

    path: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        if self.column is None:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}:{self.column}"


class Severity(str, Enum):
    """How much a finding blocks: these map one to one onto GitHub annotation levels."""

    ERROR = "error"  # blocks the merge (check run concludes `failure`)
    WARNING = "warning"
    NOTICE = "notice"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "notice": 0}[self.value]


class Impact(str, Enum):
    """What a change does to a dataset's consumers (CONTRACT_CHANGES.md)."""

    BREAKING = "breaking"
    COMPATIBLE = "compatible"
    INFO = "info"
    UNKNOWN = "unknown"  # could not be proven either way: the gate maps it through policy


class Verdict(str, Enum):
    """The outcome of a gate or of a whole run."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"

    @property
    def rank(self) -> int:
        return {"skipped": 0, "pass": 0, "warn": 1, "fail": 2}[self.value]

    @staticmethod
    def worst(*verdicts: Verdict) -> Verdict:
        real = [v for v in verdicts if v is not Verdict.SKIPPED]
        if not real:
            return Verdict.SKIPPED
        return max(real, key=lambda v: v.rank)
