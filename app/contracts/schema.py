"""Validate a contract document against the ODCS v3 JSON schema shipped by `open-data-contract-standard`,
and turn the most relevant schema error into a message that names the line and says what to change."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

from app.errors import ContractError
from app.project.yamldoc import YamlDoc

_UNEXPECTED = re.compile(r"\((.*) (?:was|were) unexpected\)")


@functools.lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    text = resources.files("open_data_contract_standard").joinpath("schema.json").read_text("utf-8")
    return dict(json.loads(text))


@functools.lru_cache(maxsize=1)
def odcs_validator() -> Any:
    """The Draft 2019-09 validator for the packaged ODCS schema, built once on first use."""
    from jsonschema import Draft201909Validator

    return Draft201909Validator(_schema())


@functools.lru_cache(maxsize=1)
def _property_validator() -> Any:
    """A validator for one schema property (a column) on its own: ODCS's `SchemaProperty`."""
    from jsonschema import Draft201909Validator

    schema = _schema()
    return Draft201909Validator(
        {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/SchemaProperty"}
    )


# column shapes already proven valid: contracts repeat the same few shapes under different names
_VALID_SHAPES: set[str] = set()
_FREE_TEXT = ("name", "description", "businessName")


def _shape_key(prop: dict[str, Any]) -> str:
    """A column's JSON with free-text strings blanked: their content cannot make it invalid."""
    blank = {k: ("" if k in _FREE_TEXT and isinstance(v, str) else v) for k, v in prop.items()}
    return json.dumps(blank, sort_keys=True, default=str)


def _quick_valid(data: Any) -> bool:
    """True when `data` is valid ODCS: the document without its columns, then each column shape once.
    Validation dominates parse time (ODCS's if/then and unevaluatedProperties are costly per column)."""
    if not isinstance(data, dict) or not isinstance(data.get("schema"), list):
        return bool(odcs_validator().is_valid(data))
    objects = data["schema"]
    if not all(isinstance(o, dict) and isinstance(o.get("properties", []), list) for o in objects):
        return False
    columns = [p for o in objects for p in o.get("properties", [])]
    if not all(isinstance(p, dict) for p in columns):
        return False
    bare = {**data, "schema": [{k: v for k, v in o.items() if k != "properties"} for o in objects]}
    if not odcs_validator().is_valid(bare):
        return False
    for p in columns:
        key = _shape_key(p)
        if key not in _VALID_SHAPES:
            if not _property_validator().is_valid(p):
                return False
            if len(_VALID_SHAPES) < 100_000:
                _VALID_SHAPES.add(key)
    return True


def validate_odcs(doc: YamlDoc) -> None:
    """Raise ContractError for the most relevant ODCS schema violation of `doc` (others are counted)."""
    if _quick_valid(doc.data):
        return
    # the slow, precise path: every error with its path, for the message and the line
    errors = list(odcs_validator().iter_errors(doc.data))
    if not errors:
        return
    relevant = _relevant(errors)
    from jsonschema.exceptions import best_match

    best = best_match(relevant)
    assert best is not None  # relevant is never empty when errors is not
    path = tuple(best.absolute_path)
    message, hint = _explain(best, path)
    found = _UNEXPECTED.search(best.message) if best.validator.endswith("Properties") else None
    if found and "," not in found.group(1):
        path = (*path, found.group(1).strip("'"))  # point at the unknown key's own line
    distinct = {(tuple(e.absolute_path), e.message) for e in relevant}
    more = len(distinct) - 1
    if more > 0:
        message += f" (and {more} more schema error{'s' if more > 1 else ''})"
    raise ContractError(message, doc.location(path), hint)


def _relevant(errors: Sequence[Any]) -> list[Any]:
    """Drop `unevaluatedProperties` errors that merely echo a failed sub-schema at or below the same path:
    with ODCS's if/then and oneOf, a wrong operator value also makes every sibling key 'unevaluated'."""
    real = [e for e in errors if e.validator != "unevaluatedProperties"]
    keep = list(real)
    for e in errors:
        if e.validator != "unevaluatedProperties":
            continue
        here = tuple(e.absolute_path)
        if not any(tuple(r.absolute_path)[: len(here)] == here for r in real):
            keep.append(e)
    return keep or list(errors)


def dotted(path: Sequence[str | int]) -> str:
    """`("schema", 0, "properties", 2)` -> `schema[0].properties[2]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _explain(error: Any, path: tuple[str | int, ...]) -> tuple[str, str]:
    """A message `where: what is wrong` and a hint saying what to change."""
    kind = error.validator
    if kind == "oneOf" and error.context:
        from jsonschema.exceptions import best_match

        inner = best_match(error.context)
        if inner is not None and inner.validator != "required":
            return _explain(inner, path + tuple(inner.relative_path))
        keys = _operator_keys(error)
        if keys:
            return (
                f"{dotted(path)}: a quality rule needs exactly one comparison ({', '.join(keys)})",
                "give the rule one operator with a number, e.g. `mustBe: 0` or `mustBeLessThan: 10`",
            )
    where, key = (dotted(path[:-1]), path[-1]) if path and isinstance(path[-1], str) else (dotted(path), None)
    subject = f"`{key}`" if key is not None else "this item"
    if kind == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{where}: {subject} must be one of {allowed}; got {error.instance!r}", "fix the value"
    if kind == "type":
        want = error.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        hint = "fix the value's type"
        if want == "string" and isinstance(error.instance, (int, float)) and key is not None:
            hint = f'quote it: `{key}: "{error.instance}"` (YAML reads it as a number)'
        return f"{where}: {subject} must be of type {want}; got {error.instance!r}", hint
    if kind == "required":
        missing = _quoted(error.message)
        return f"{dotted(path)}: missing required key `{missing}`", f"add `{missing}:` here"
    if kind in ("unevaluatedProperties", "additionalProperties"):
        found = _UNEXPECTED.search(error.message)
        names = found.group(1) if found else "a key"
        return (
            f"{dotted(path)}: unknown key {names} is not part of ODCS v3",
            "remove it, fix its spelling, or put it under `customProperties` as {property, value}",
        )
    if kind == "pattern":
        return (
            f"{where}: {subject} {error.instance!r} does not match {error.validator_value}",
            "use letters, digits, '-' and '_' only",
        )
    if kind == "const":
        return f"{where}: {subject} must be {error.validator_value!r}", "fix the value"
    return f"{dotted(path)}: {error.message}", "fix this part of the contract to follow the ODCS v3 schema"


def _quoted(message: str) -> str:
    found = re.match(r"'([^']+)'", message)
    return found.group(1) if found else message


def _operator_keys(error: Any) -> list[str]:
    keys: list[str] = []
    for sub in error.validator_value:
        keys.extend(sub.get("required", []))
    return keys
