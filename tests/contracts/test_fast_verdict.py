"""jsonschema-rs's first verdict (app.contracts.schema._valid_fast) is never more lenient than jsonschema,
the verdict datacanary tells: on every real ODCS file, and on generated edits of the smaller ones (a value
replaced anywhere by another of any JSON type, text with dates, newlines and odd formats included, a key
added or removed)."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.contracts.schema import SUPPORTED_VERSIONS, _valid_fast, invalid_parts, odcs_validator
from app.project.yamldoc import load_yaml
from tests.support.trees import paths

REAL = Path(__file__).resolve().parent / "real"


@functools.cache
def _documents() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(p for p in REAL.rglob("*") if p.suffix in (".yaml", ".yml")):
        try:
            data = load_yaml(path.read_text(), path.name, dates_as_text=True).data
        except Exception:  # broken YAML on purpose (datacontract-cli's lint fixtures)
            continue
        if isinstance(data, dict) and str(data.get("apiVersion")) in SUPPORTED_VERSIONS:
            out[path.relative_to(REAL).as_posix()] = data
    return out


def _small() -> list[str]:  # whole-document jsonschema is quick on these (it takes minutes on some)
    return [rel for rel, data in _documents().items() if len(json.dumps(data, default=str)) < 6_000]


def _verdicts(data: Any) -> tuple[bool, bool]:
    version = str(data["apiVersion"])
    return _valid_fast(data, version), bool(odcs_validator(version).is_valid(data))


def test_the_fast_verdict_is_jsonschemas_on_every_real_file() -> None:
    docs = _documents()
    assert len(docs) > 100
    told = {rel: not invalid_parts(data, str(data["apiVersion"])) for rel, data in docs.items()}
    for rel in _small():
        fast, slow = _verdicts(docs[rel])
        assert not fast or slow, rel  # never valid where jsonschema finds an error
        assert told[rel] == slow, rel
    assert sum(told.values()) > 60 and not all(told.values())  # valid and invalid files both read


texts = st.sampled_from(
    ["", "x", "abc\n", "2026-02-30", "2026-02-28", "2026-02-28T10:00:00Z", "2026-02-28 10:00", "s3://b/{m}/*",
     "sftp://h/p", "a.b", "string", "integer", "object", "array", "date", "required", "active", "v3.0.2"]
)  # fmt: skip
values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**40) | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_fast_verdict_is_never_more_lenient_on_edited_files(data: st.DataObject) -> None:
    doc = copy.deepcopy(_documents()[data.draw(st.sampled_from(_small()))])
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from([p for p in paths(doc) if p and p[0] != "apiVersion"]))
        parent = functools.reduce(lambda n, k: n[k], path[:-1], doc)
        action = data.draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "remove" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(texts)] = data.draw(values)
        else:
            parent[path[-1]] = data.draw(values)
    fast, slow = _verdicts(doc)
    assert not fast or slow  # a document jsonschema rejects is never taken as valid
    assert (not invalid_parts(doc, str(doc["apiVersion"]))) == slow
