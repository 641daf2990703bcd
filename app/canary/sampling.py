"""Deterministic, join-preserving samples, as SQL. [pure]

A row is kept when the hash of (seed, its key value) falls in the first `fraction` of a million buckets.
The hash is MD5 of the key's text, so the decision depends on nothing but the seed and the value: the
same on every machine and DuckDB version, and the same in every source sampled on that key, so the
customers kept are exactly those whose orders and payments are kept. `max_rows` then keeps the rows with
the smallest buckets (whole keys first), ties broken by the row's own hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from app.canary import exprs as q
from app.sql.hashing import md5_48, python_md5_48

BUCKETS = 1_000_000
ROW = "__src"  # the alias of the source row (its struct is the tie-breaker)


def bucket(value: exp.Expr, seed: int, dialect: str = q.DIALECT) -> exp.Expr:
    """0..999999 from MD5(seed ':' text(value)); NULL values share the bucket of ''. The same number in
    every engine (`dialect`: duckdb, postgres, spark): MD5 is in all three, and its first 12 hex digits
    (48 bits) read as an integer the way each engine can, so an integer or text key keeps the same rows
    in a DuckDB canary and in a warehouse one."""
    text = exp.Coalesce(this=exp.Cast(this=value, to=exp.DataType.build("TEXT")), expressions=[q.lit("")])
    number = md5_48(exp.DPipe(this=q.lit(f"{seed}:"), expression=text), dialect)
    return exp.Mod(this=exp.Paren(this=number), expression=q.lit(BUCKETS))


def python_bucket(value: Any, seed: int) -> int:
    """The same bucket computed in Python (for tests and for explaining a sample)."""
    text = "" if value is None else str(value)
    return python_md5_48(f"{seed}:{text}") % BUCKETS


def sample_select(
    reader: exp.Expr,
    *,
    key: str | None,
    fraction: float,
    max_rows: int | None,
    seed: int,
    dialect: str = q.DIALECT,
) -> exp.Select:
    """SELECT the sampled rows of `reader` (a FROM-able expression), to be generated in `dialect`."""
    src = (
        exp.alias_(reader.copy(), ROW, table=True, quoted=True)
        if not isinstance(reader, exp.Table)
        else (exp.Table(**{**reader.args, "alias": exp.TableAlias(this=q.ident(ROW))}))
    )
    row_text = _row_text(dialect)
    basis = q.col(key) if key else row_text
    b = bucket(basis, seed, dialect)
    select = exp.select(exp.Star()).from_(src)
    if fraction < 1:
        select = select.where(exp.LT(this=b.copy(), expression=q.lit(int(round(fraction * BUCKETS)))))
    if max_rows is not None:
        select = select.order_by(b.copy(), q.fn("md5", row_text.copy())).limit(max_rows)
    return select


def _row_text(dialect: str) -> exp.Expr:
    """The whole source row as text (the basis of a keyless sample, and the tie-breaker): each engine
    spells a row's text its own way, so keyless samples are stable per engine, not across engines."""
    if dialect == "spark":  # a struct does not cast to STRING in Spark; its JSON does
        return q.fn("to_json", q.fn("struct", exp.Column(this=exp.Star(), table=q.ident(ROW))))
    return exp.Cast(this=exp.column(ROW, quoted=True), to=exp.DataType.build("TEXT"))


def count_rows(reader: exp.Expr) -> str:
    return q.sql(exp.select(exp.alias_(q.count_star(), "n", quoted=True)).from_(reader.copy()))


def is_unique(rel: exp.Expr, column: str) -> str:
    """One row: `unique` (no value repeats among non-NULL values)."""
    c = q.col(column)
    same = exp.EQ(this=exp.Count(this=c), expression=exp.Count(this=exp.Distinct(expressions=[c.copy()])))
    return q.sql(exp.select(exp.alias_(same, "unique", quoted=True)).from_(rel.copy()))


def survival(
    children: Sequence[exp.Table], parent_sample: exp.Table, parent_full: exp.Expr, column: str
) -> str:
    """One row per child (`i`: its index in `children`): its rows with a non-NULL `column`, those whose
    parent exists in the full data (`joinable`) and those whose parent is also in the sample
    (`surviving`). The parent's keys are read once for every child; the statement is text around the
    two readers (building 20 x 19 branches as sqlglot trees cost seconds)."""
    c = q.sql(q.col(column))

    def keys(rel: exp.Expr) -> str:
        return q.sql(exp.select(q.col(column)).from_(rel.copy()))

    def counted(condition: str, name: str) -> str:
        return f'count(*) FILTER (WHERE {condition}) AS "{name}"'

    branches = [
        f'SELECT {i} AS "i", {counted(f"{c} IS NOT NULL", "child_rows")}, '
        f"{counted(f'{c} IN (SELECT {c} FROM __parent_full)', 'joinable')}, "
        f"{counted(f'{c} IN (SELECT {c} FROM __parent_sample)', 'surviving')} FROM {q.sql(child)}"
        for i, child in enumerate(children)
    ]
    return (
        f"WITH __parent_full AS MATERIALIZED ({keys(parent_full)}), "
        f"__parent_sample AS MATERIALIZED ({keys(parent_sample)}) " + " UNION ALL ".join(branches)
    )


UNLOADABLE = "cannot be loaded: "  # the note (app.canary.sources) of a sample file DuckDB cannot read


@dataclass(frozen=True, slots=True)
class SourceCoverage:
    """How much of one source the sample kept."""

    name: str
    path: str | None
    key: str | None
    fraction: float
    max_rows: int | None
    rows_total: int
    rows_sampled: int
    note: str | None = None
    missing: bool = False  # a `path` is declared but the file is not in the revision

    @property
    def kept(self) -> float | None:
        return None if self.rows_total == 0 else self.rows_sampled / self.rows_total

    @property
    def unloadable(self) -> str | None:
        """Why the sample file is there but cannot be loaded (DuckDB's error), or None."""
        note = self.note or ""
        return (
            note.removeprefix(UNLOADABLE) if self.path is not None and note.startswith(UNLOADABLE) else None
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "key": self.key,
            "fraction": self.fraction,
            "max_rows": self.max_rows,
            "rows_total": self.rows_total,
            "rows_sampled": self.rows_sampled,
            "kept": self.kept,
            "note": self.note,
            "missing": self.missing,
        }


@dataclass(frozen=True, slots=True)
class JoinSurvival:
    """Of the child rows that find their parent in the full data, how many still do in the sample."""

    child: str
    parent: str
    column: str
    child_rows: int
    joinable: int
    surviving: int

    @property
    def rate(self) -> float | None:
        return None if self.joinable == 0 else self.surviving / self.joinable

    def to_json(self) -> dict[str, Any]:
        return {
            "child": self.child,
            "parent": self.parent,
            "column": self.column,
            "child_rows": self.child_rows,
            "joinable": self.joinable,
            "surviving": self.surviving,
            "rate": self.rate,
        }
