"""Cost of validating real ODCS files by the official schema of their own apiVersion.

1. Whole process: `datacanary contract validate` over every valid real file of tests/contracts/real (the
   standard's examples and datacontract-cli's ODCS fixtures), median of --runs; baseline in the same run:
   `datacanary --help`, the process floor.
2. In process, validation only (documents already loaded, validators compiled): datacanary's check
   (jsonschema-rs's verdict first), jsonschema level by level alone (shape caches cleared per file), and
   jsonschema on the whole document, the naive way, which re-walks nested columns for each
   `unevaluatedProperties` level. Files whose whole-document
   validation is known to take minutes are timed level-by-level only (--full-too includes them).

    python benchmarks/contracts.py
    python benchmarks/contracts.py --runs 5 --full-too
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.contracts import schema  # noqa: E402
from app.errors import ContractError  # noqa: E402
from app.project.yamldoc import load_yaml  # noqa: E402

REAL = ROOT / "tests" / "contracts" / "real"
# whole-document validation of this 4-level nested fixture took 395 s on the 2-core machine
MINUTES = {"datacontract-cli/tests/fixtures/import/json/product_detail.datacontract.yaml"}


def _process(args: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, check=False, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--full-too", action="store_true", help="also validate the slow files whole")
    args = parser.parse_args()

    docs: dict[str, object] = {}
    for path in sorted(p for p in REAL.rglob("*") if p.suffix in (".yaml", ".yml")):
        rel = path.relative_to(REAL).as_posix()
        doc = load_yaml(path.read_text(), rel, dates_as_text=True)
        try:
            schema.validate_odcs(doc)
        except ContractError:
            continue
        docs[rel] = doc.data
    exe = str(Path(sys.executable).with_name("datacanary"))
    files = [str(REAL / rel) for rel in docs]
    validate = _process([exe, "contract", "validate", *files], args.runs)
    floor = _process([exe, "--help"], args.runs)
    print(f"whole process, {len(files)} valid real files: contract validate {validate:.2f} s")
    print(f"  baseline `datacanary --help` {floor:.2f} s; validate = {validate / floor:.2f}x the floor")

    for version in schema.SUPPORTED_VERSIONS:  # compile outside the timings, as the suite's cache does
        schema.odcs_validator(version)
        schema._fast_validator(version)
    fast = schema._valid_fast
    ours = levels = full = 0.0
    for rel, data in docs.items():
        version = str(data["apiVersion"])  # type: ignore[index]
        start = time.perf_counter()
        assert not schema.invalid_parts(data, version)
        took = time.perf_counter() - start
        schema._VALID_SHAPES.clear()
        schema._valid_fast = lambda data, version: False  # type: ignore[assignment]
        start = time.perf_counter()
        assert not schema.invalid_parts(data, version)
        by_level = time.perf_counter() - start
        schema._valid_fast = fast
        if rel in MINUTES and not args.full_too:
            print(
                f"  {rel}: {took * 1000:.1f} ms, jsonschema level by level {by_level * 1000:.0f} ms"
                " (whole document: minutes, skipped)"
            )
            continue
        ours += took
        levels += by_level
        start = time.perf_counter()
        assert schema.odcs_validator(version).is_valid(data)
        full += time.perf_counter() - start
    print(
        f"validation only, same files: datacanary (jsonschema-rs first) {ours:.3f} s; jsonschema level by"
        f" level {levels:.2f} s ({levels / ours:.0f}x), whole document {full:.2f} s ({full / ours:.0f}x)"
    )


if __name__ == "__main__":
    main()
