"""Render a RunReport as text, JSON or markdown. One report value, three views, no re-derivation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.errors import UsageError
from app.findings import Finding
from app.gate.result import RunReport
from app.types import Severity

FORMATS = ("text", "json", "markdown")


def render_report(report: RunReport, fmt: str = "text", *, compact: bool = False) -> str:
    """`text` for terminals, `json` (stable, documented in docs/report-json.md), `markdown` for GitHub.

    `compact` drops example rows and per-column detail (used when a PR comment would be too long).
    """
    if fmt == "json":
        # one line, as dbt writes its artifacts: the indenting encoder is pure Python, 6x slower (a
        # 1,000-model canary report is ~35 MB indented)
        return json.dumps(report.to_json(), default=str, ensure_ascii=False) + "\n"
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    from app.report.env import render

    ctx = _context(report, fmt, compact)
    if fmt == "text":  # printed to CI logs, where a line starting with `::` is a workflow command
        from app.report.env import inert_commands

        return inert_commands(render("report/text.txt.j2", **ctx))
    return render("report/markdown.md.j2", **ctx)


def _section(section: Any, fmt: str, compact: bool) -> str:
    """A section (blast radius, canary) renders itself through its own templates when it can."""
    if section is None:
        return ""
    renderer = getattr(section, "render", None)
    if callable(renderer):
        try:
            return str(renderer(fmt, compact=compact))
        except TypeError:  # a renderer without the compact flag
            return str(renderer(fmt))
    return ""


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    """Blocking first, then warnings, then what was accepted, then notices; stable within each."""

    def rank(f: Finding) -> int:
        if f.blocking:
            return 0
        if f.accepted is None and f.severity is Severity.WARNING:
            return 1
        return 2 if f.accepted is not None else 3

    return sorted(findings, key=rank)


def _context(report: RunReport, fmt: str, compact: bool) -> dict[str, Any]:
    icons = {"pass": "✅", "warn": "⚠️", "fail": "❌", "skipped": "⏭️"}
    sev_icons = {"error": "❌", "warning": "⚠️", "notice": "ℹ️"}
    return {
        "r": report,
        "verdict": report.verdict.value,
        "icons": icons,
        "sev_icons": sev_icons,
        "blast": _section(report.blast_radius, fmt, compact),
        "canary": _section(report.canary, fmt, compact),
        "compact": compact,
        "ordered": ordered,
    }
