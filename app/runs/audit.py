"""The audit of a table against its contract, reusing the canary's quality SQL (app.canary.quality):
the implied checks (required, unique, primary key, allowed values, ranges) and the declared ODCS rules,
all library checks in one scan, `sql` rules compiled like the canary compiles them. The connection is
passed in; this module only decides what to run and what the numbers mean."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.canary import quality
from app.canary.compile import CompileProblem, compile_query, name_resolver
from app.contracts.model import Dataset
from app.slo.sli import DIALECT, table

QualityResult = quality.QualityResult


def columns_missing(dataset: Dataset, present: Sequence[str]) -> tuple[str, ...]:
    """Declared columns the written table does not have."""
    have = {p.lower() for p in present}
    return tuple(c.output_name for c in dataset.columns if c.output_name.lower() not in have)


def run_checks(
    conn: Any, dataset: Dataset, relation: str, targets: Mapping[str, tuple[str, str]] | None = None
) -> list[QualityResult]:
    """Every quality check of `dataset` measured on `relation` (`schema.table`). `targets` resolves
    the other tables an ODCS `sql` rule may read (name -> (schema, table))."""
    from app.engines import EngineError
    from app.runs.warehouse import wrap

    wh = wrap(conn)
    checks = quality.checks_for(dataset)
    rows, results = quality.measure(wh.first, table(relation), checks, (EngineError,), dialect=wh.dialect)
    schema, _, name = relation.rpartition(".")
    resolve = name_resolver(
        {**(targets or {}), dataset.name: (schema, name), dataset.output_name: (schema, name)}
    )
    for check in (c for c in checks if c.metric == "sql"):
        text = (check.query or "").replace("${object}", "{object}").replace("{object}", dataset.output_name)
        path = check.location.path if check.location else "contract"
        try:
            sql = compile_query(
                text, path=path, dialect=DIALECT, resolve=resolve, what=f"quality rule {check.name}"
            )
            value = next(iter(wh.first(wh.sql(sql.sql)).values()), None)
            results.append(quality.evaluate(check, None if value is None else float(value), rows))
        except CompileProblem as problem:
            results.append(QualityResult(check, None, None, problem.message))
        except EngineError as exc:  # the rule's own SQL failed on this data: a failed check, with why
            results.append(QualityResult(check, None, None, exc.message))
    return results


def outcomes(results: Sequence[QualityResult]) -> list[tuple[str, bool]]:
    """(severity, passed) per check for the correctness SLI; a check that could not run counts failed."""
    return [(r.check.severity, bool(r.passed)) for r in results]
