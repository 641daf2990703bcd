"""dbt's `catalog.json` (written by `dbt docs generate` next to the manifest): the warehouse's own
column names and types of sources, seeds and models, for the tables whose yml declares none."""

from __future__ import annotations

import json
from collections.abc import Mapping

from app.dbt.jsonpath import JsonAt
from app.errors import ProjectError
from app.types import Location

Catalog = Mapping[str, Mapping[str, str]]  # node unique_id -> column name -> type, in table order


def parse_catalog(text: str | bytes, path: str) -> dict[str, dict[str, str]]:
    """unique_id -> {column: type} for every table of the catalog, columns in their table order."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deep
        raise ProjectError(
            f"{path} is not valid JSON: {getattr(exc, 'msg', str(exc))}",
            Location(path, getattr(exc, "lineno", None)),
            "regenerate it with `dbt docs generate`, or delete it (it is optional)",
        ) from None
    root = JsonAt(data, "", path, "catalog")
    out: dict[str, dict[str, str]] = {}
    for section in ("nodes", "sources"):
        for uid, table in root.get(section).objects():
            columns = []
            for name, col in table.get("columns").objects():
                index = col.get("index").value
                order = index if isinstance(index, (int, float)) and not isinstance(index, bool) else 0
                columns.append((order, col.get("name").opt_text() or name, col["type"].text()))
            out[uid] = {name: kind for _, name, kind in sorted(columns, key=lambda c: c[0])}
    return out
