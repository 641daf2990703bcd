"""Compile the corpus's manifests with dbt itself: the base project and every scenario's head.

    python benchmarks/dbt_corpus/regenerate.py --dbt /tmp/dbtvenv/bin/dbt

The base is `project/`; a scenario's head is `project/` with `scenarios/<name>/changes/` laid over it
and the files its labels.yaml lists under `removed_files` deleted. Each is compiled with `dbt compile`
in a scratch copy (a scenario with `head_compiled_incrementally` is first built with `dbt seed` and
`dbt run`, so incremental models compile their `is_incremental()` branch, as in CI against a
warehouse). dbt's built-in macros are dropped from the manifests (datacanary never reads them).
The score and the tests read the committed manifests and never need dbt.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def materialize(dest: Path, scenario: Path | None) -> None:
    """The base project, or a scenario's head, as files under `dest`."""
    shutil.copytree(HERE / "project", dest, ignore=shutil.ignore_patterns("target", "*.duckdb", "logs"))
    if scenario is None:
        return
    shutil.copytree(scenario / "changes", dest, dirs_exist_ok=True)
    labels = yaml.safe_load((scenario / "labels.yaml").read_text())
    for path in labels.get("removed_files") or ():
        (dest / path).unlink()


def _dbt(dbt: str, project: Path, *args: str) -> None:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    cmd = [dbt, *args, "--project-dir", str(project), "--profiles-dir", str(project)]
    sys.stderr.write(f"$ {' '.join(cmd)}\n")
    subprocess.run(cmd, check=True, env=env, cwd=project, stdout=subprocess.DEVNULL)


def compile_to(dbt: str, project: Path, out: Path, *, incremental: bool = False) -> None:
    if incremental:
        _dbt(dbt, project, "seed")
        _dbt(dbt, project, "run")
    _dbt(dbt, project, "compile")
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    name = manifest["metadata"].get("project_name")
    manifest["macros"] = {k: v for k, v in manifest["macros"].items() if v.get("package_name") == name}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(manifest, indent=1) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dbt", default="dbt", help="the dbt executable (dbt-core + dbt-duckdb 1.10)")
    parser.add_argument("scenarios", nargs="*", help="only these scenarios (default: all, and the base)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.scenarios:
            materialize(Path(tmp, "base"), None)
            compile_to(args.dbt, Path(tmp, "base"), HERE / "project" / "target" / "manifest.json")
        for scenario in sorted((HERE / "scenarios").iterdir()):
            if args.scenarios and scenario.name not in args.scenarios:
                continue
            labels = yaml.safe_load((scenario / "labels.yaml").read_text())
            dest = Path(tmp, scenario.name)
            materialize(dest, scenario)
            incremental = bool(labels.get("head_compiled_incrementally"))
            compile_to(args.dbt, dest, scenario / "manifest.json", incremental=incremental)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
