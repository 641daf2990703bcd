"""`datacanary data-diff LEFT RIGHT --key COL[,COL]`: reconcile any two tables.

Exit 0 when identical, 1 when they differ, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.canary.inputs import TableSpec
    from app.canary.schema import Tolerance


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument(
        "left",
        help="base table: a .parquet or .csv file, [duckdb:]file.duckdb:schema.table, "
        "postgres://[user@]host[:port]/db.schema.table, postgres:schema.table (DATACANARY_POSTGRES_URL's "
        "database), spark:schema.table, spark:parquet:PATH or spark:delta:PATH (docs/engines/)",
    )
    parser.add_argument("right", help="head table, same forms")
    parser.add_argument(
        "--key", default="", help="primary key column(s), comma separated; none: multiset diff"
    )
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument(
        "--tolerance",
        action="append",
        default=[],
        metavar="COL=abs:X|rel:X|dec:N",
        help="numeric tolerance per column, e.g. amount=abs:0.01,rate=rel:1e-6 (repeatable)",
    )
    parser.add_argument("--examples", type=int, default=5, help="example rows per kind (default 5)")
    parser.add_argument(
        "--low-cardinality", type=int, default=20, help="distinct values that get a distribution"
    )
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="skip per-column statistics and distributions: only the row-level diff (fastest)",
    )


def parse_tolerances(items: list[str]) -> dict[str, Tolerance]:
    """`col=abs:0.01,other=rel:1e-6` (and `dec:2`) -> {column: Tolerance}; UsageError on a bad item."""
    from app.canary.schema import Tolerance
    from app.errors import UsageError

    out: dict[str, Tolerance] = {}
    for item in ",".join(items).split(","):
        if not item.strip():
            continue
        column, eq, spec = item.partition("=")
        kind, colon, value = spec.partition(":")
        kinds = {"abs": "absolute", "rel": "relative", "dec": "decimals"}
        if not eq or not colon or kind not in kinds or not column.strip():
            raise UsageError(
                f"bad --tolerance {item!r}", hint="write COLUMN=abs:0.01, COLUMN=rel:1e-6 or COLUMN=dec:2"
            )
        try:
            number: float | int = int(value) if kind == "dec" else float(value)
        except ValueError:
            raise UsageError(f"bad --tolerance {item!r}: {value!r} is not a number") from None
        if number != number:  # NaN: every gap would be "within" it (DuckDB orders NaN highest)
            raise UsageError(
                f"bad --tolerance {item!r}: NaN is not a tolerance", hint="give a number, e.g. abs:0.01"
            )
        if number < 0:
            raise UsageError(f"bad --tolerance {item!r}: a tolerance cannot be negative")
        prev = out.get(column.strip(), Tolerance())
        fields = {"absolute": prev.absolute, "relative": prev.relative, "decimals": prev.decimals}
        fields[kinds[kind]] = number
        out[column.strip()] = Tolerance(**fields)  # type: ignore[arg-type]
    return out


def _check_range(option: str, value: int, low: int, high: int) -> None:
    from app.errors import UsageError

    if not low <= value <= high:
        raise UsageError(
            f"{option} {value} is out of range", hint=f"give a whole number from {low:,} to {high:,}"
        )


def _open(db: Any, side: str, spec: Any) -> str:
    """A view over one input; an unreadable file is a UsageError naming it, in the user's terms."""
    from app.canary.runner import QueryFailed
    from app.errors import UsageError

    try:
        return str(db.view(side, spec))
    except QueryFailed as exc:
        raise UsageError(
            f"cannot read the {side} table {spec}: {exc.message}",
            hint="check that the file is complete and in the format its name says (.parquet, .csv, .duckdb)",
        ) from None


def _check_tolerance_columns(tolerances: dict[str, Tolerance], columns: list[tuple[str, str]]) -> None:
    """A tolerance on a column neither table has would silently do nothing: refuse it."""
    from app.canary.schema import family
    from app.errors import UsageError, did_you_mean

    known = [name for name, _ in columns]
    for name in tolerances:
        if name not in known:
            raise UsageError(
                f"--tolerance {name}: no column {name!r} in either table",
                hint=f"{did_you_mean(name, known)}columns: {', '.join(dict.fromkeys(known))}",
            )
        types = sorted({t for c, t in columns if c == name and family(t) != "number"})
        if types:
            raise UsageError(
                f"--tolerance {name}: {name} is {' / '.join(types)}, and a tolerance only applies to numbers",
                hint=f"remove the tolerance, or compare a numeric column (cast {name} in the inputs)",
            )


def run(args: argparse.Namespace) -> int:
    from app.canary.diff import reconcile
    from app.canary.inputs import parse_spec
    from app.canary.runner import QueryFailed, Sandbox
    from app.errors import UsageError

    left_spec, right_spec = parse_spec(args.left), parse_spec(args.right)
    key = [k.strip() for k in args.key.split(",") if k.strip()]
    repeated = sorted({k for k in key if key.count(k) > 1})
    if repeated:
        raise UsageError(
            f"--key names {', '.join(repeated)} more than once", hint="list each key column once"
        )
    tolerances = parse_tolerances(args.tolerance)
    keyed = sorted(set(tolerances) & set(key))
    if keyed:  # rows join on their key's exact value: a tolerance there would silently do nothing
        raise UsageError(
            f"--tolerance {', '.join(keyed)}: a key column joins by its exact value, a tolerance cannot apply",
            hint="remove the tolerance, or diff without that column in --key",
        )
    _check_range("--examples", args.examples, 0, 1000)
    _check_range("--low-cardinality", args.low_cardinality, 1, 100_000)
    if args.threads is not None:
        _check_range("--threads", args.threads, 1, 1024)
    if left_spec.engine != "duckdb" or right_spec.engine != "duckdb":
        result = _on_engines(left_spec, right_spec, key, tolerances, args)
        return _report(result, args.format)
    db = Sandbox(threads=args.threads)
    try:
        try:
            left = _open(db, "left", left_spec)
            right = _open(db, "right", right_spec)
            _check_tolerance_columns(tolerances, [*db.columns(left), *db.columns(right)])
            result = reconcile(
                db,
                left,
                right,
                key=key,
                tolerances=tolerances,
                examples=args.examples,
                low_cardinality=args.low_cardinality,
                labels=(str(left_spec), str(right_spec)),
                profiles=not args.no_profile,
            )
        except QueryFailed as exc:
            raise UsageError(f"cannot read the tables: {exc.message}") from None
        except ValueError as exc:
            raise UsageError(str(exc), hint="pass --key with columns present in both tables") from None
    finally:
        db.close()
    return _report(result, args.format)


def _report(result: Any, fmt: str) -> int:
    if fmt == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        from app.report.env import render  # Jinja2 only when text is asked for

        template = "canary/data_diff.md.j2" if fmt == "markdown" else "canary/data_diff.txt.j2"
        sys.stdout.write(render(template, r=result))
    return 0 if result.identical else 1


def _same_place(left: TableSpec, right: TableSpec) -> bool:
    """Both tables on one engine, one server and database (Postgres) or one Spark session."""
    if left.engine != right.engine:
        return False
    if left.engine == "postgres":
        from app.engines import settings

        default = settings("postgres")["url"]
        return (left.url or default) == (right.url or default)
    return True


def _cross_engine(
    left: TableSpec, right: TableSpec, key: list[str], tolerances: dict[str, Tolerance], args: Any
) -> Any:
    """Tables on two engines (or two servers): app.canary.segments.cross_diff checksums key segments in
    each and fetches only the rows of the segments that differ (profiles are not computed: it says so)."""
    from app.canary.segments import cross_diff
    from app.errors import UsageError

    if not key:
        raise UsageError(
            f"{left} and {right} are on different engines: a cross-engine data-diff needs a key",
            hint="pass --key with the primary key column(s) of both tables",
        )
    engines: list[Any] = []
    try:
        sides = []
        for side, spec in (("left", left), ("right", right)):
            engine = _engine_for(spec, args)
            engines.append(engine)
            sides.append((engine, _native_relation(engine, side, spec)))
        _check_tolerance_columns(
            tolerances, [*sides[0][0].columns(sides[0][1]), *sides[1][0].columns(sides[1][1])]
        )
        try:
            return cross_diff(
                sides[0][0],
                sides[0][1],
                sides[1][0],
                sides[1][1],
                key,
                tolerances=tolerances,
                examples=args.examples,
                labels=(str(left), str(right)),
            )
        except ValueError as exc:
            raise UsageError(str(exc), hint="pass --key with columns present in both tables") from None
    finally:
        for engine in engines:
            engine.close()


def _engine_for(spec: TableSpec, args: Any) -> Any:
    """A connection to the engine `spec` lives on (DuckDB: an in-memory sandbox reading the file)."""
    if spec.engine == "postgres":
        from app.engines import settings
        from app.engines.postgres import PostgresEngine

        return PostgresEngine(spec.url or settings("postgres")["url"])
    from app.engines import connect

    if spec.engine == "duckdb":
        from app.engines.duckdb import DuckDBEngine

        return DuckDBEngine(threads=args.threads)
    return connect(spec.engine)


def _native_relation(engine: Any, side: str, spec: TableSpec) -> str:
    """The relation naming `spec`, in its own engine's dialect (what cross_diff parses)."""
    from sqlglot import exp

    if spec.engine == "duckdb":
        return _open(engine, side, spec)
    rel = _relation(engine, side, spec)  # DuckDB quoting
    return exp.to_table(rel, dialect="duckdb").sql(dialect=engine.dialect)


def _relation(engine: Any, side: str, spec: TableSpec) -> str:
    """The relation, in DuckDB quoting, naming `spec` on its engine (a Spark dataset: a temp view)."""
    from app.canary import sqltext as t

    if spec.engine == "spark" and spec.format in ("parquet", "delta"):
        name = f"__datacanary_{side}"
        path = spec.path.replace("\\", "\\\\").replace("'", "\\'")
        engine.execute(
            f"CREATE OR REPLACE TEMPORARY VIEW `{name}` USING {spec.format} OPTIONS (path '{path}')"
        )
        return t.table(name)
    return t.table(str(spec.table), spec.schema)


def _on_engines(
    left: TableSpec, right: TableSpec, key: list[str], tolerances: dict[str, Tolerance], args: Any
) -> Any:
    """Reconcile two tables in place on their engine: only counts, profiles and examples come back."""
    from app.canary.diff import reconcile
    from app.errors import UsageError

    if not _same_place(left, right):
        return _cross_engine(left, right, key, tolerances, args)
    engine = _engine_for(left, args)
    try:
        lrel, rrel = _relation(engine, "left", left), _relation(engine, "right", right)
        from app.canary.inplace import On

        on = On(engine)
        _check_tolerance_columns(tolerances, [*on.columns(lrel), *on.columns(rrel)])
        try:
            return reconcile(
                engine,
                lrel,
                rrel,
                key=key,
                tolerances=tolerances,
                examples=args.examples,
                low_cardinality=args.low_cardinality,
                labels=(str(left), str(right)),
                profiles=not args.no_profile,
            )
        except ValueError as exc:
            raise UsageError(str(exc), hint="pass --key with columns present in both tables") from None
    finally:
        engine.close()
