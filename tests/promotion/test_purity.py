"""The pure promotion modules import no I/O library (STYLE.md: the engine is pure)."""

from __future__ import annotations

import subprocess
import sys

PURE = ["artifact", "environments", "parity", "promote", "fingerprint", "protection"]
IO = ("duckdb", "github", "fastapi", "httpx", "requests", "subprocess")


def test_pure_promotion_modules_import_no_io_library():
    code = (
        "import sys\n"
        + "".join(f"import app.promotion.{m}\n" for m in PURE)
        + f"print(','.join(m for m in {IO!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
