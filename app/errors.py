"""The one error family: raised once with where and what to do, rendered once by each front."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from app.types import Location


class DatacanaryError(Exception):
    """Something datacanary cannot continue past: bad input, bad usage, bad configuration.

    `location` says where (file, line), `hint` says what to do about it. Fronts render it as
    exit code 2, a failed check with an annotation, or a 4xx, always with the same text.
    """

    exit_code = 2

    def __init__(self, message: str, location: Location | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.render()


class ConfigError(DatacanaryError):
    """datacanary.yml or the service settings are wrong."""


class ContractError(DatacanaryError):
    """A contract file cannot be read: invalid YAML or not valid ODCS."""


class SqlError(DatacanaryError):
    """A model's SQL cannot be parsed, resolved or transpiled."""


class ProjectError(DatacanaryError):
    """The data project as a whole is inconsistent: missing refs, cycles, duplicate models."""


class GitError(DatacanaryError):
    """A revision or a file could not be read from git."""


class UsageError(DatacanaryError):
    """A command was called wrongly."""


class GitHubError(DatacanaryError):
    """GitHub refused or failed a request after retries."""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """A hint fragment: `did you mean 'x'? ` for the closest known names, or an empty string."""
    close = difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=0.6)
    return f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
