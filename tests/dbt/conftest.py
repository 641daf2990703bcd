"""The dbt demo fixture as trees: head is fixtures/dbt_demo as committed, base is head with
`base-changes/` laid over it (the same recipe regenerate.py uses to compile the base manifest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.project.tree import MemoryTree

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "dbt_demo"
_SKIP = ("target/", "target-base/", "base-changes/")


def demo_files(revision: str) -> dict[str, str | bytes]:
    """The dbt_demo project files of `base` or `head`, with that revision's manifest at target/."""
    files: dict[str, str | bytes] = {
        p.relative_to(DEMO).as_posix(): p.read_bytes()
        for p in DEMO.rglob("*")
        if p.is_file() and not p.relative_to(DEMO).as_posix().startswith(_SKIP)
    }
    if revision == "base":
        overlay = DEMO / "base-changes"
        for p in overlay.rglob("*"):
            rel = p.relative_to(overlay).as_posix()
            if p.is_file() and rel != "REMOVED":
                files[rel] = p.read_bytes()
        for line in (overlay / "REMOVED").read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                del files[line.strip()]
    files["target/manifest.json"] = (DEMO / ("target-base" if revision == "base" else "target") / "manifest.json").read_bytes()
    return files


@pytest.fixture(scope="session")
def demo_base() -> MemoryTree:
    return MemoryTree(demo_files("base"), label="base")


@pytest.fixture(scope="session")
def demo_head() -> MemoryTree:
    return MemoryTree(demo_files("head"), label="head")
