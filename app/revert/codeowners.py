"""CODEOWNERS (https://docs.github.com/repositories/managing-your-repositorys-settings-and-features/
customizing-your-repository/about-code-owners): who owns a path when a contract names no owner. [pure]"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


def _regex(pattern: str) -> re.Pattern[str]:
    """gitignore-style: anchored with a leading `/`, a trailing `/` owns a directory, `**` spans dirs."""
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    parts = []
    for piece in re.split(r"(\*\*/?)", body):
        if piece.startswith("**"):
            parts.append(".*")
        else:
            parts.append(
                fnmatch.translate(piece).removeprefix("(?s:").removesuffix(")\\Z").replace(".*", "[^/]*")
            )
    core = "".join(parts)
    prefix = "^" if anchored else "^(?:.*/)?"
    return re.compile(f"{prefix}{core}(?:/.*)?$")


def owners_for(text: str, paths: Iterable[str]) -> tuple[str, ...]:
    """Owners (without `@`) of `paths`: per path the last matching rule wins, as on GitHub."""
    rules: list[tuple[re.Pattern[str], list[str]]] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, *owners = line.split()
        rules.append((_regex(pattern), [o.lstrip("@") for o in owners]))
    found: list[str] = []
    for path in paths:
        for regex, owners in reversed(rules):
            if regex.match(path):
                found.extend(o for o in owners if o not in found)
                break
    return tuple(found)
