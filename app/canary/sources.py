"""Load the project's sample data into the canary database, sampled, and measure coverage: rows per
source and how many rows of each join survive the sampling.

The sandbox is locked down before this runs: the head tree's sample files are written into the one
private folder the engine may read (`inputs`), so a sample database holding a view that calls
`read_text('/etc/...')` can reach nothing. Only plain tables are read from a sample database; anything
else is refused (a finding, and the models reading it are skipped). The sampled tables go into a catalog
of their own that is re-attached read-only before any model runs: models cannot drop or change them.
A source whose data is the pull request's change (a dbt seed whose CSV it edited) also gets its base
revision's rows, sampled the same way, in a second read-only catalog (`base_source`), which the base
versions of its readers read (app.canary.per_side). The SQL comes from `sampling.py`; the database is
the runner's Sandbox.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from app.canary import exprs as q
from app.canary.inputs import TableSpec, parse_spec
from app.canary.sampling import (
    UNLOADABLE,
    JoinSurvival,
    SourceCoverage,
    count_rows,
    is_unique,
    sample_select,
    survival,
)
from app.errors import DatacanaryError
from app.project.model import Project
from app.project.tree import Tree, join

if TYPE_CHECKING:
    from app.canary.runner import Sandbox
    from app.canary.warehouse import Warehouse

SCHEMA = "source"
# the base revision's rows of the sources whose data the pull request changed (a dbt seed's CSV)
BASE_SCHEMA = "base_source"


def load_sources(
    db: Sandbox,
    project: Project,
    tree: Tree,
    inputs: Path,
    seed: int,
    read: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[tuple[SourceCoverage, ...], tuple[JoinSurvival, ...], dict[str, str]]:
    """Create `source.<name>` for every declared source (in the read-only `source` catalog, a file in
    `inputs`); returns coverage per source, join survival, and the sources refused (name -> why).
    `read` names the columns the models read of sources whose columns nobody declared (app.sql.infer):
    without sample data, such a source is an empty table of those columns, untyped."""
    loaded = _load_catalog(db, project, tree, inputs, SCHEMA, sorted(project.config.sources), seed, read)
    coverage, full, refused, attached = loaded
    samples = {n: q.table(n, SCHEMA) for n in full}
    columns = {n: {c for c, _ in db.columns(q.sql(samples[n]))} for n in full}
    joins = _survival(project, full, samples, columns, db.query)
    _detach(db, attached)
    db.seal_catalog(inputs / f"{SCHEMA}s.duckdb", SCHEMA)
    return coverage, joins, refused


def load_base_versions(
    db: Sandbox,
    base: Project,
    tree: Tree,
    inputs: Path,
    names: Sequence[str],
    seed: int,
    read: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[tuple[SourceCoverage, ...], dict[str, str]]:
    """Create `base_source.<name>` for the sources `names` from the base revision's files, the same
    way (sampled by the same key hash): sources whose data is the pull request's change (a dbt seed's
    CSV), which the base versions of their readers read instead of the head's rows. Returns coverage
    and the sources refused, as load_sources does."""
    coverage, _, refused, attached = _load_catalog(db, base, tree, inputs, BASE_SCHEMA, names, seed, read)
    _detach(db, attached)
    db.seal_catalog(inputs / f"{BASE_SCHEMA}s.duckdb", BASE_SCHEMA)
    return coverage, refused


def _load_catalog(
    db: Sandbox,
    project: Project,
    tree: Tree,
    inputs: Path,
    catalog_name: str,
    names: Sequence[str],
    seed: int,
    read: Mapping[str, tuple[str, ...]] | None,
) -> tuple[tuple[SourceCoverage, ...], dict[str, exp.Expr], dict[str, str], tuple[str, ...]]:
    """Load the sources `names` of `project` (files from `tree`) into a new catalog `catalog_name`, left
    open for writing; returns coverage, each loaded source's full rows (typed), the refused ones, and
    the DuckDB files attached to read them (their full rows read from there: detach after use)."""
    from app.canary.runner import QueryFailed

    db.open_catalog(inputs / f"{catalog_name}s.duckdb", catalog_name)
    refused: dict[str, str] = {}
    coverage: list[SourceCoverage] = []
    full: dict[str, exp.Expr] = {}
    attached: list[str] = []
    dialect = project.config.dialect
    for i, name in enumerate(names):
        spec = project.config.sources[name]
        target = q.table(name, catalog_name)
        sample = spec.sample
        base = SourceCoverage(name, spec.path, sample.key, sample.fraction, sample.max_rows, 0, 0)
        if spec.path is None or not tree.exists(join(project.root, parse_spec(spec.path, spec.format).path)):
            note = (
                "no sample data declared"
                if spec.path is None
                else f"sample file {spec.path} is not in the revision"
            )
            note += _empty_table(db, target, spec.columns, (read or {}).get(name, ()), dialect)
            coverage.append(_replace_note(base, note, missing=spec.path is not None))
            continue
        ts = parse_spec(spec.path, spec.format)
        repo_path = join(project.root, ts.path)
        prefix = "" if catalog_name == SCHEMA else "base-"  # the head's files keep their names
        local = inputs / f"{prefix}{i}-{Path(ts.path).name}"
        local.write_bytes(tree.read_bytes(repo_path))
        alias = f"{prefix.replace('-', '_')}src_{i}"
        try:
            if ts.format == "duckdb":
                attached.append(alias)
            source = db.source(TableSpec(str(local), ts.format, ts.schema, ts.table), alias)
            reader = exp.maybe_parse(source, into=exp.Table, dialect=q.DIALECT)
            typed = _typed(db, reader, spec.columns, dialect)
            total = int(db.query(count_rows(typed))[0]["n"])
            select = sample_select(
                typed, key=sample.key, fraction=sample.fraction, max_rows=sample.max_rows, seed=seed
            )
            db.execute(f"CREATE TABLE {q.sql(target)} AS {q.sql(select)}")
        except QueryFailed as exc:
            if exc.kind == "refused":
                refused[name] = f"reads {ts.path}, where {exc.message}"
                coverage.append(_replace_note(base, "refused: " + exc.message, missing=False))
                continue
            if ts.format != "duckdb" and not exc.message.startswith(_CONFIG_ERRORS):
                # the file's own fault (a row that does not fit its column's type): a finding at the file
                # (config_check) instead of the end of the run. No table: its readers are not checked
                # (app.canary.run), where an empty stand-in would show diffs that are not the change's
                why = exc.message.replace("<path outside the project>", ts.path)  # our copy of it
                coverage.append(_replace_note(base, UNLOADABLE + why, missing=False))
                continue
            raise DatacanaryError(
                f"sample data of source {name!r} cannot be loaded: {exc.message}",
                project.config_doc.location(("sources", name, "path")),
                "check the file's format and that the sample key column exists",
            ) from None
        sampled = int(db.query(count_rows(target))[0]["n"])
        coverage.append(
            SourceCoverage(name, spec.path, sample.key, sample.fraction, sample.max_rows, total, sampled)
        )
        full[name] = typed
    return tuple(coverage), full, refused, tuple(attached)


def _detach(db: Sandbox, aliases: Sequence[str]) -> None:
    for alias in aliases:
        db.execute(f"DETACH IF EXISTS {q.sql(q.ident(alias))}")


# DuckDB's errors that are the configuration's (a sample key or a declared type that does not exist)
_CONFIG_ERRORS = ("Binder Error", "Catalog Error")


def _empty_table(
    db: Sandbox, target: exp.Table, declared: Mapping[str, str], read: Sequence[str], dialect: str
) -> str:
    """`target` with no rows and the declared columns (else the columns the models read, untyped);
    what it is, for the source's note ("" when nothing says which columns: no table)."""
    if declared:
        cols = ", ".join(
            f"{q.sql(q.ident(c))} {exp.DataType.build(t, dialect=dialect).sql('duckdb')}"
            for c, t in declared.items()
        )
        db.execute(f"CREATE TABLE {q.sql(target)} ({cols})")
        return ": an empty table with the declared columns"
    if read:
        # DuckDB's NULL type takes any function and comparison: the models run, on no rows
        nulls = [exp.alias_(exp.null(), c, quoted=True) for c in read]
        db.execute(f"CREATE TABLE {q.sql(target)} AS {q.sql(exp.select(*nulls).where(exp.false()))}")
        return ": an empty table with the columns the models read"
    return ""


def _replace_note(c: SourceCoverage, note: str, missing: bool) -> SourceCoverage:
    return SourceCoverage(c.name, c.path, c.key, c.fraction, c.max_rows, 0, 0, note, missing)


def _typed(db: Sandbox, reader: exp.Expr, declared: dict[str, str], dialect: str) -> exp.Expr:
    """The file's rows with the declared column types applied (CSV sniffing may guess differently)."""
    if not declared:
        return reader
    rel = reader if isinstance(reader, exp.Table) else exp.Table(this=reader)
    found = [r["column_name"] for r in db.query(f"DESCRIBE {q.sql(exp.select('*').from_(rel.copy()))}")]
    cols: list[exp.Expr] = []
    for c in found:
        t = declared.get(c)
        value = q.col(c) if t is None else exp.Cast(this=q.col(c), to=exp.DataType.build(t, dialect=dialect))
        cols.append(exp.alias_(value, c, quoted=True))
    return exp.select(*cols).from_(rel.copy()).subquery("__typed")


def _survival(
    project: Project,
    full: dict[str, exp.Expr],
    sampled: Mapping[str, exp.Table],
    columns: Mapping[str, set[str]],
    run: Callable[[str], list[dict[str, Any]]],
) -> tuple[JoinSurvival, ...]:
    """For each sampled parent whose sample key is unique, the survival of every other source's rows that
    carry that key column (orders.customer_id -> customers.customer_id). `full`: each source's full
    rows, `sampled`: its sample's table; `run` runs DuckDB text over them."""
    out = []
    for parent, reader in full.items():
        key = project.config.sources[parent].sample.key
        spec = project.config.sources[parent].sample
        if key is None or (spec.fraction >= 1 and spec.max_rows is None):
            continue
        if not run(is_unique(sampled[parent], key))[0]["unique"]:
            continue
        children = [c for c in full if c != parent and key in columns[c]]
        if not children:
            continue
        rows = run(survival([sampled[c] for c in children], sampled[parent], reader, key))
        for row in sorted(rows, key=lambda r: int(r["i"])):
            i = int(row["i"])
            counts = int(row["child_rows"]), int(row["joinable"]), int(row["surviving"])
            out.append(JoinSurvival(children[i], parent, key, *counts))
    return tuple(out)


def sample_in_place(
    db: Warehouse, project: Project, seed: int
) -> tuple[tuple[SourceCoverage, ...], tuple[JoinSurvival, ...]]:
    """On a warehouse engine: sample every declared source's table (`sources.<name>.table`, default its
    name) into the run's scratch `source` schema, by the same key hash as in DuckDB, computed by the
    engine. Nothing but counts leaves the warehouse. A table that cannot be read is a ConfigError at its
    `table:` line (exit 2, naming the engine)."""
    from app.canary.runner import QueryFailed

    d = db.dialect
    coverage: list[SourceCoverage] = []
    full: dict[str, exp.Expr] = {}
    for name, spec in sorted(project.config.sources.items()):
        sample = spec.sample
        where = spec.table or name
        reader = exp.to_table(where, dialect=d)
        target = db.relation(SCHEMA, name)
        try:
            total = int(
                db.engine.query(exp.select(exp.alias_(q.count_star(), "n")).from_(reader).sql(d))[0]["n"]
            )
            select = sample_select(
                reader,
                key=sample.key,
                fraction=sample.fraction,
                max_rows=sample.max_rows,
                seed=seed,
                dialect=d,
            )
            sampled = db.create_select(target, select.sql(d), dialect=d, raw_target=True)  # its rows
        except (QueryFailed, DatacanaryError) as exc:
            field = "table" if spec.table else "sample"
            loc = project.config_doc.location(("sources", name, field))
            message = getattr(exc, "message", str(exc))
            raise DatacanaryError(
                f"{db.name}: source {name!r} cannot be sampled from {where}: {message}",
                loc,
                f"set sources.{name}.table to the table's [schema.]name in the warehouse, and grant the "
                "canary's role SELECT on it (docs/engines/" + db.name + ".md)",
            ) from None
        coverage.append(
            SourceCoverage(name, where, sample.key, sample.fraction, sample.max_rows, total, sampled)
        )
        full[name] = reader
    d = db.dialect
    samples = {n: exp.to_table(db.relation(SCHEMA, n), dialect=d) for n in full}
    columns = {n: {c for c, _ in db.engine.columns(db.relation(SCHEMA, n))} for n in full}
    try:
        joins = _survival(project, full, samples, columns, db.query_as)
    except QueryFailed:  # a coverage figure: the canary goes on without it
        joins = ()
    return tuple(coverage), joins
