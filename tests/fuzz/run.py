"""The fuzz suite, longer: `python -m tests.fuzz.run --examples 2000` runs every surface of
tests/fuzz/test_fuzz.py with that many generated cases (CI runs 25 each) and prints, per surface, the
cases tried and failed, then the total. Exit 1 when any case failed (its minimal example is printed)."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_STATS = re.compile(r"^(tests/fuzz/test_fuzz\.py::\w+):\n(.*?)(?=^tests/fuzz|\Z)", re.S | re.M)
_COUNTS = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__)
    parser.add_argument(
        "--examples", type=int, default=1000, help="generated cases per surface (default 1000)"
    )
    parser.add_argument("-k", default="", help="only surfaces whose test name matches (pytest -k)")
    args = parser.parse_args(argv)
    env = {**os.environ, "DATACANARY_FUZZ_EXAMPLES": str(args.examples)}
    cmd = [sys.executable, "-m", "pytest", "-q", "tests/fuzz/test_fuzz.py", "--hypothesis-show-statistics"]
    if args.k:
        cmd += ["-k", args.k]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    tried = failed = 0
    print(f"{'surface':<58} {'cases':>8} {'failed':>7}")  # noqa: T201
    for name, block in _STATS.findall(proc.stdout):
        counts = [tuple(map(int, m)) for m in _COUNTS.findall(block)]
        passing = sum(c[0] for c in counts)
        failing = sum(c[1] for c in counts)
        tried += passing + failing
        failed += failing
        print(f"{name.split('::')[1]:<58} {passing + failing:>8,} {failing:>7}")  # noqa: T201
    print(f"{'total':<58} {tried:>8,} {failed:>7}   ({seconds:.0f} s)")  # noqa: T201
    if proc.returncode != 0:
        print(proc.stdout[-6000:], proc.stderr[-2000:], sep="\n")  # noqa: T201
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
