"""The engine is pure (ARCHITECTURE.md house rule 1, STYLE.md 3.5 rule 2): these modules take data and
return data, and import no I/O library. One list for the whole code base, checked in a fresh process."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import app.contracts
import app.gate
import app.sql

IO = ("duckdb", "github", "fastapi", "httpx", "requests", "uvicorn", "subprocess", "sqlite3")

WHOLE_PACKAGES = [app.contracts, app.sql, app.gate]  # every module, present and future
PURE = sorted(
    {f"{pkg.__name__}.{m.name}" for pkg in WHOLE_PACKAGES for m in pkgutil.iter_modules(pkg.__path__)}
    | {
        # the pure halves of packages whose other half does I/O at the edge
        "app.canary.queries", "app.canary.rowsets", "app.canary.sqltext", "app.canary.exprs",
        "app.canary.reconcile", "app.canary.assemble",
        "app.canary.quality", "app.canary.gate", "app.canary.guard", "app.canary.schema", "app.canary.diff",
        "app.slo.durations", "app.slo.objectives", "app.slo.sli", "app.slo.status", "app.slo.budget",
        "app.slo.report", "app.runs.plan", "app.revert.culprit", "app.revert.plan", "app.revert.effects",
        "app.promotion.artifact", "app.promotion.environments", "app.promotion.parity",
        "app.promotion.promote", "app.promotion.fingerprint", "app.promotion.protection",
        "app.dbt.manifest", "app.dbt.rules", "app.dbt.select", "app.report.limits", "app.report.effects",
        "app.findings", "app.effects",
    }
)  # fmt: skip

_PROBE = "import importlib, json, sys\n{imports}print(json.dumps([m for m in {io!r} if m in sys.modules]))"


def _loaded(modules: list[str]) -> list[str]:
    code = _PROBE.format(imports="".join(f"importlib.import_module({m!r})\n" for m in modules), io=IO)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return list(json.loads(out))


def test_pure_modules_import_no_io_library() -> None:
    loaded = _loaded(PURE)
    if loaded:  # name the culprits, one fresh process each
        culprits = {m: found for m in PURE if (found := _loaded([m]))}
        raise AssertionError(f"pure modules pull in I/O libraries: {culprits}")
