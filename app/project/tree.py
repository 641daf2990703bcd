"""A read-only view of a repository's files: a directory on disk, or one git revision.

The engine never walks the file system itself; loaders are handed a Tree.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Protocol


class Tree(Protocol):
    """Files of one revision of a repository, by repository-relative POSIX path."""

    label: str

    def files(self, under: str = "") -> list[str]: ...

    def read_text(self, path: str) -> str: ...

    def read_bytes(self, path: str) -> bytes: ...

    def exists(self, path: str) -> bool: ...

    def size(self, path: str) -> int:
        """Bytes of the file at `path` (a directory tree asks the file system; a git tree reads the blob,
        kept for the read that follows)."""
        ...


def decode_text(data: bytes, path: str, label: str = "") -> str:
    """`data` as UTF-8 text (a byte-order mark is dropped); undecodable bytes raise a ProjectError naming
    the file, the line and the byte, with what to do."""
    from app.errors import ProjectError
    from app.types import Location

    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        where = f" at {label}" if label else ""
        raise ProjectError(
            f"the file is not UTF-8 text{where}: byte 0x{data[exc.start]:02x} (line {line}, column {column}) "
            "cannot be decoded",
            Location(path, line, column),
            "save the file as UTF-8 (most editors: 'Save with encoding'; iconv -f latin1 -t utf-8 converts it)",
        ) from None


def glob(tree: Tree, under: str, pattern: str) -> list[str]:
    """Paths below `under` whose path relative to it matches `pattern` (`**/*.sql` also matches top-level)."""
    prefix = under.strip("/")
    out = []
    for p in tree.files(prefix):
        rel = p[len(prefix) + 1 :] if prefix else p
        if fnmatch.fnmatch(rel, pattern) or (pattern.startswith("**/") and fnmatch.fnmatch(rel, pattern[3:])):
            out.append(p)
    return sorted(out)


def join(*parts: str) -> str:
    """Join repository-relative path parts, dropping empty ones and '.'."""
    out = "/".join(p.strip("/") for p in parts if p and p.strip("/") not in ("", "."))
    return os.path.normpath(out).replace(os.sep, "/") if out else ""


class MemoryTree:
    """A tree held in memory; used by tests and by the dbt and artifact loaders."""

    def __init__(self, files: dict[str, str | bytes], label: str = "memory") -> None:
        self._files = {k.strip("/"): v for k, v in files.items()}
        self.label = label

    def files(self, under: str = "") -> list[str]:
        prefix = under.strip("/")
        return sorted(p for p in self._files if not prefix or p == prefix or p.startswith(prefix + "/"))

    def read_bytes(self, path: str) -> bytes:
        value = self._files[path.strip("/")]
        return value.encode() if isinstance(value, str) else value

    def read_text(self, path: str) -> str:
        return decode_text(self.read_bytes(path), path, self.label)

    def exists(self, path: str) -> bool:
        return path.strip("/") in self._files

    def size(self, path: str) -> int:
        return len(self.read_bytes(path))


class DirTree:
    """The working directory as it is on disk (no git needed)."""

    def __init__(self, root: str | os.PathLike[str], label: str | None = None) -> None:
        self.root = Path(root).resolve()
        self.label = label or str(self.root)
        self._cache: list[str] | None = None

    def _all(self) -> list[str]:
        if self._cache is None:
            found = []
            for dirpath, dirnames, filenames in os.walk(self.root):
                dirnames[:] = [
                    d for d in dirnames if not d.startswith(".") and d not in ("node_modules", "__pycache__")
                ]
                for f in filenames:
                    full = Path(dirpath, f)
                    found.append(full.relative_to(self.root).as_posix())
            self._cache = sorted(found)
        return self._cache

    def files(self, under: str = "") -> list[str]:
        prefix = under.strip("/")
        return [p for p in self._all() if not prefix or p == prefix or p.startswith(prefix + "/")]

    def read_bytes(self, path: str) -> bytes:
        return (self.root / path).read_bytes()

    def read_text(self, path: str) -> str:
        return decode_text(self.read_bytes(path), path, self.label)

    def exists(self, path: str) -> bool:
        return (self.root / path).is_file()

    def size(self, path: str) -> int:
        return (self.root / path).stat().st_size
