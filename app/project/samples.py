"""Column names and types of a source whose columns nobody declared, from its sample data: what the
data tells when the yml has no `columns:` and there is no catalog.json (edge: reads the revision's
sample files with DuckDB, in the canary's locked-down sandbox).

Only what the sample file itself says is taken (DESCRIBE of the CSV, Parquet, or the DuckDB table in
the file, which is its information_schema); a file that cannot be read is left to the canary, which
reports it with its own finding.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from app.project.config import SourceConfig
from app.project.model import Project
from app.project.tree import Tree, join


def undeclared_with_samples(project: Project, tree: Tree) -> list[str]:
    """Sources of `project` with sample data in `tree` but no declared columns."""
    from app.canary.inputs import parse_spec

    out = []
    for name, spec in sorted(project.config.sources.items()):
        if spec.columns or spec.path is None:
            continue
        if tree.exists(join(project.root, parse_spec(spec.path, spec.format).path)):
            out.append(name)
    return out


def sample_columns(project: Project, tree: Tree, names: list[str]) -> dict[str, dict[str, str]]:
    """name -> {column: DuckDB type} read from each source's sample file (names that fail are left out)."""
    from app.canary.inputs import TableSpec, parse_spec
    from app.canary.runner import QueryFailed, Sandbox

    out: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="datacanary-describe-") as tmp:
        db = Sandbox.locked(Path(tmp), memory_limit="512MB", threads=1, max_temp_size="64MB")
        try:
            assert db.inputs is not None
            for i, name in enumerate(names):
                spec: SourceConfig = project.config.sources[name]
                assert spec.path is not None
                ts = parse_spec(spec.path, spec.format)
                local = db.inputs / f"{i}-{Path(ts.path).name}"
                local.write_bytes(tree.read_bytes(join(project.root, ts.path)))
                try:
                    relation = db.source(TableSpec(str(local), ts.format, ts.schema, ts.table), f"s{i}")
                    out[name] = dict(db.columns(f"(SELECT * FROM {relation})"))
                except QueryFailed:
                    continue
        finally:
            db.close()
    return out
