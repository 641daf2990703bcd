"""Column types of a seed CSV when its yml declares none, the way dbt's agate loader infers them,
from the header and the first rows. Only used to type SQL; the canary loads the CSV with DuckDB."""

from __future__ import annotations

import csv
import io
import itertools
import re

SNIFF_ROWS = 100
_INT = re.compile(r"^[+-]?\d+$")
_NUM = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TS = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?$")
_BOOL = {"true", "false"}
# the order matters: a column is the first type every non-empty value fits
_CHECKS: tuple[tuple[str, re.Pattern[str] | None], ...] = (
    ("INTEGER", _INT),
    ("DOUBLE", _NUM),
    ("DATE", _DATE),
    ("TIMESTAMP", _TS),
    ("BOOLEAN", None),
)


def sniff_columns(text: str, delimiter: str = ",") -> dict[str, str]:
    """Column name -> SQL type for a CSV's text; VARCHAR when values disagree or all are empty."""
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(rows, None)
    if not header:
        return {}
    sample = list(itertools.islice(rows, SNIFF_ROWS))
    out: dict[str, str] = {}
    for i, name in enumerate(header):
        values = [r[i].strip() for r in sample if i < len(r) and r[i].strip() != ""]
        out[name.strip()] = _type_of(values)
    return out


def _type_of(values: list[str]) -> str:
    if not values:
        return "VARCHAR"
    for name, pattern in _CHECKS:
        if name == "INTEGER" and all(_INT.match(v) for v in values):
            # dbt's seed loader says `integer`; values past 32 bits need a wider type to load at all
            return "INTEGER" if all(abs(int(v)) < 2**31 for v in values) else "BIGINT"
        if pattern is None:
            if all(v.lower() in _BOOL for v in values):
                return name
        elif all(pattern.match(v) for v in values):
            return name
    return "VARCHAR"
