"""The pure SLO, run-planning and revert-planning modules import no I/O library (STYLE.md rule 2)."""

from __future__ import annotations

import subprocess
import sys

PURE = [
    "app.slo.durations", "app.slo.objectives", "app.slo.sli", "app.slo.status", "app.slo.budget",
    "app.slo.report", "app.runs.plan", "app.revert.culprit", "app.revert.plan", "app.revert.effects",
]  # fmt: skip
IO = ("duckdb", "github", "fastapi", "httpx", "requests", "subprocess")


def test_pure_slo_and_revert_modules_import_no_io_library() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in PURE)
        + f"print(','.join(m for m in {IO!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
