"""What datacanary writes to a terminal or a CI log shows every character it was given: control
characters from the data or a pull request (an ANSI escape that clears the screen, recolours or hides a
line of a GitHub Actions log, a carriage return that overwrites what was printed) are written as visible
`\\x1b`-style escapes. Newlines and tabs stay. Imports nothing heavy: the CLI wraps its streams at start."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from typing import Any, TextIO

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with every control character but newline and tab as a visible `\\xNN` escape."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class _Printable:
    """A text stream that writes `printable` text; everything else (buffer, flush, isatty) is the
    stream's own, so binary output through `.buffer` passes untouched."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(printable(text))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def printable_streams() -> Iterator[None]:
    """sys.stdout and sys.stderr write `printable` text inside the block (restored after it)."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Printable(out), _Printable(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
