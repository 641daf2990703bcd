"""Validate a contract document against the official ODCS JSON schema of its own `apiVersion` (vendored in
`odcs_schemas/`, see its NOTICE), and turn the most relevant schema error into a message that names the line
and says what to change."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

from app.errors import ContractError
from app.project.yamldoc import YamlDoc

_UNEXPECTED = re.compile(r"\((.*) (?:was|were) unexpected\)")
# every released ODCS v3 schema; a file is valid when its own version's schema accepts it, as the
# standard's validators (and editors via SchemaStore) judge it: a v3.0.2 file may not use 3.1 keys
SUPPORTED_VERSIONS = ("v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0", "v3.2.0")
_NEW_FILE = "v3.1.0"  # what hints suggest for a file that names no version


@functools.cache
def _schema(version: str) -> dict[str, Any]:
    name = f"odcs-json-schema-{version}.json"
    text = resources.files("app.contracts").joinpath("odcs_schemas", name).read_text("utf-8")
    return dict(json.loads(text))


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# RFC 3339's shape, lenient only where real contracts are: seconds and the offset may be left out
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?")


def _is_date(value: object) -> bool:
    if isinstance(value, str):
        if not _DATE.fullmatch(value):  # fromisoformat alone takes 20270331 and 2027-W13-3
            raise ValueError(value)
        dt.date.fromisoformat(value)  # ValueError: not a real calendar date
    return True


def _is_timestamp(value: object) -> bool:
    if isinstance(value, str):
        if not _TIMESTAMP.fullmatch(value):  # a date alone is not a date-time
            raise ValueError(value)
        dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return True


@functools.lru_cache(maxsize=1)
def _formats() -> Any:
    """The `date` and `date-time` formats checked, as the standard's own CI does (ajv with ajv-formats),
    except that a date-time may leave out its seconds and offset: with dates read as text, `2027-02-30`
    would otherwise pass as any string. `uri` is left unchecked."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checks("date", raises=ValueError)(_is_date)
    checker.checks("date-time", raises=ValueError)(_is_timestamp)
    return checker


@functools.cache
def odcs_validator(version: str) -> Any:
    """The Draft 2019-09 validator for ODCS `version`'s schema, built once on first use."""
    from jsonschema import Draft201909Validator

    return Draft201909Validator(_schema(version), format_checker=_formats())


@functools.cache
def _fast_validator(version: str) -> Any:
    """jsonschema-rs's validator of the same schema, with the same formats checked (`date`, `date-time`)
    and the others (`uri`) not: a first verdict in a fraction of the time (a few ms where jsonschema
    takes up to seconds). Only its "valid" is taken as final; see `invalid_parts`."""
    import jsonschema_rs

    schema = _schema(version)
    formats: dict[str, Any] = {name: _any_text for name in _format_names(schema)}
    formats.update({"date": _checks(_is_date), "date-time": _checks(_is_timestamp)})
    return jsonschema_rs.Draft201909Validator(schema, formats=formats, validate_formats=True)


def _any_text(value: str) -> bool:
    return True


def _checks(check: Any) -> Any:
    def is_valid(value: str) -> bool:
        try:
            return bool(check(value))
        except ValueError:
            return False

    return is_valid


def _format_names(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = {node["format"]} if isinstance(node.get("format"), str) else set()
        return own.union(*(_format_names(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_format_names(v) for v in node))
    return set()


def _valid_fast(data: Any, version: str) -> bool:
    """jsonschema-rs accepts `data`. False also when it cannot read it (YAML gives more than JSON has:
    keys that are not text, dates, NaN): jsonschema then judges alone."""
    try:
        return bool(_fast_validator(version).is_valid(data))
    except (ValueError, TypeError, OverflowError):
        return False


@functools.cache
def _element_validator(version: str, element: str) -> Any:
    """A validator for one element kind on its own: `SchemaProperty` (a column) or `SchemaItemProperty`."""
    from jsonschema import Draft201909Validator

    schema = _schema(version)
    return Draft201909Validator(
        {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{element}"},
        format_checker=_formats(),
    )


def api_version(doc: YamlDoc) -> str:
    """The document's `apiVersion`, one of SUPPORTED_VERSIONS, or a ContractError saying which are."""
    supported = ", ".join(SUPPORTED_VERSIONS)
    data = doc.data
    if "apiVersion" not in data:
        raise ContractError(
            "(top level): missing required key `apiVersion`: the ODCS version decides which schema applies",
            doc.location(()),
            f"add `apiVersion: {_NEW_FILE}` (supported: {supported})",
        )
    raw = data["apiVersion"]
    api = str(raw)
    where = doc.location(("apiVersion",))
    if api in SUPPORTED_VERSIONS:
        return api
    if api.startswith(("v2", "2")):
        raise ContractError(
            f"apiVersion {api}: ODCS v2 contracts are not supported",
            where,
            "convert it to ODCS v3 (`schema:` objects with `properties:`), e.g. with datacontract-cli",
        )
    spelled = "v" + api.lstrip("vV")
    fix = (
        f"write it `apiVersion: {spelled}`"
        if spelled in SUPPORTED_VERSIONS
        else f"use the ODCS version the file follows, one of {supported}"
    )
    raise ContractError(
        f"apiVersion {raw!r} is not an ODCS version datacanary knows (supported: {supported})", where, fix
    )


# element shapes already proven valid, per ODCS version: contracts repeat the same few shapes
_VALID_SHAPES: dict[str, set[str]] = {}
_FREE_TEXT = ("name", "description", "businessName")
# Where ODCS nests elements (the same in every v3 schema): a column's or item's `properties` are
# SchemaProperty, an array column's `items` a SchemaItemProperty. A valid child is swapped for the
# smallest valid one of its kind before its parent is checked, so each level is validated once.
_PROPERTY, _ITEM = "SchemaProperty", "SchemaItemProperty"
# (a logicalType, because the v3.2.0 schema's `if logicalType is map` also holds when it is absent)
_STAND_IN: dict[str, dict[str, Any]] = {
    _PROPERTY: {"name": "_", "logicalType": "string"},
    _ITEM: {"logicalType": "string"},
}
# (path, the part that fails, the element kind it was checked as; None: the whole document)
Part = tuple[tuple[str | int, ...], Any, str | None]


def _shape_key(element: str, prop: dict[str, Any]) -> str:
    """An element's JSON with free-text strings blanked: their content cannot make it invalid."""
    blank = {k: ("" if k in _FREE_TEXT and isinstance(v, str) else v) for k, v in prop.items()}
    return element + json.dumps(blank, sort_keys=True, default=str)


def invalid_parts(data: Any, version: str) -> list[Part]:
    """Every smallest part of `data` that is not valid ODCS `version` (none: the document is valid).
    Checked level by level: jsonschema re-walks a whole subtree for each `unevaluatedProperties` above
    it, so checking a document with deeply nested columns in one go takes minutes (a 4-level
    datacontract-cli fixture: 395 s). The verdict is the full validator's; tests check that on every
    real ODCS file. jsonschema-rs judges the whole document first; its "valid" is final (it is never
    more lenient than jsonschema on these schemas: tests check both on every real file and on generated
    edits of them), its "invalid" is checked by jsonschema, whose verdict and errors are the ones told
    (a pattern's `$` before a trailing newline, for one, is a match in Python's re and not in Rust's)."""
    if _valid_fast(data, version):
        return []
    objects = data.get("schema") if isinstance(data, dict) else None
    if not isinstance(objects, list) or not all(
        isinstance(o, dict) and isinstance(o.get("properties", []), list) for o in objects
    ):
        return [] if odcs_validator(version).is_valid(data) else [((), data, None)]
    bare = {**data, "schema": [_with_stand_ins(o) for o in objects]}
    bad: list[Part] = [] if odcs_validator(version).is_valid(bare) else [((), bare, None)]
    for i, obj in enumerate(objects):
        for j, prop in enumerate(obj.get("properties", [])):
            _check_element(prop, _PROPERTY, ("schema", i, "properties", j), version, bad)
    return bad


def _with_stand_ins(element: dict[str, Any]) -> dict[str, Any]:
    """`element` with its (already validated) nested properties and items replaced by stand-ins."""
    out = element
    children = element.get("properties")
    if isinstance(children, list) and children:
        # one stand-in for many: no ODCS schema bounds the number of properties, and each stand-in
        # would cost a SchemaProperty check of its own (456 of them: 1.4 s for one 3.0.0 example)
        stands = [c for c in children if not isinstance(c, dict)]
        out = {
            **out,
            "properties": [_STAND_IN[_PROPERTY], *stands] if len(stands) < len(children) else stands,
        }
    if isinstance(element.get("items"), dict):
        out = {**out, "items": _STAND_IN[_ITEM]}
    return out


def _check_element(
    element: Any, kind: str, path: tuple[str | int, ...], version: str, bad: list[Part]
) -> None:
    """Append the invalid parts of one element (`kind`) and of the elements nested in it to `bad`."""
    if not isinstance(element, dict):
        bad.append((path, element, kind))
        return
    children = element.get("properties")
    for k, child in enumerate(children if isinstance(children, list) else ()):
        if isinstance(child, dict):
            _check_element(child, _PROPERTY, (*path, "properties", k), version, bad)
    items = element.get("items")
    if isinstance(items, dict):
        _check_element(items, _ITEM, (*path, "items"), version, bad)
    shell = _with_stand_ins(element)
    shapes = _VALID_SHAPES.setdefault(version, set())
    key = _shape_key(kind, shell)
    if key in shapes:
        return
    if not _element_validator(version, kind).is_valid(shell):
        bad.append((path, shell, kind))
    elif len(shapes) < 100_000:
        shapes.add(key)


def validate_odcs(doc: YamlDoc) -> str:
    """Validate `doc` against the schema of its own `apiVersion` and return that version; raise
    ContractError for the most relevant schema violation (others are counted)."""
    version = api_version(doc)
    parts = invalid_parts(doc.data, version)
    if not parts:
        return version
    from jsonschema.exceptions import best_match

    # the precise path, on the failing parts only: every error with its path; the message is about the
    # first one in the file, the others are counted
    found: list[tuple[Any, tuple[str | int, ...]]] = []
    distinct: set[tuple[tuple[str | int, ...], str]] = set()
    for prefix, part, kind in parts:
        validator = odcs_validator(version) if kind is None else _element_validator(version, kind)
        relevant = _relevant(list(validator.iter_errors(part)))
        distinct.update(((*prefix, *e.absolute_path), e.message) for e in relevant)
        best = best_match(relevant)
        if best is not None:
            found.append((best, (*prefix, *best.absolute_path)))
    if not found:  # pragma: no cover - invalid_parts only returns parts their validators reject
        return version
    best, path = min(found, key=lambda f: doc.line(f[1]) or 0)
    message, hint = _explain(best, path, version)
    unknown = _UNEXPECTED.search(best.message) if best.validator.endswith("Properties") else None
    if unknown:  # point at the (first) unknown key's own line
        path = (*path, unknown.group(1).split(",")[0].strip().strip("'"))
    more = len(distinct) - 1
    notes = [f"ODCS {version} schema"]
    if more > 0:
        notes.append(f"and {more} more schema error{'s' if more > 1 else ''}")
    message += f" ({'; '.join(notes)})"
    # a later version's syntax is worth naming, not its dropping of a top-level key such as `status`
    later = None if best.validator == "required" and not path else _valid_under_later(doc.data, version)
    if later:
        hint += f"; or, if the file follows ODCS {later} (it is valid there), set `apiVersion: {later}`"
    raise ContractError(message, doc.location(path), hint)


def _valid_under_later(data: dict[str, Any], version: str) -> str | None:
    """The first later ODCS version whose schema accepts `data`: a file written to a newer version of the
    standard than it declares (a 3.1 `metric:` rule under `apiVersion: v3.0.2`) is told so."""
    for later in SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.index(version) + 1 :]:
        if not invalid_parts({**data, "apiVersion": later}, later):
            return later
    return None


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


def _explain(error: Any, path: tuple[str | int, ...], version: str) -> tuple[str, str]:
    """A message `where: what is wrong` and a hint saying what to change."""
    kind = error.validator
    given = _comparisons(error)
    if len(given) > 1:
        return (
            f"{dotted(path)}: a quality rule takes one comparison, this one has {len(given)}"
            f" ({', '.join(given)})",
            _one_comparison_hint(error.instance, given),
        )
    if kind == "oneOf" and error.context:
        from jsonschema.exceptions import best_match

        inner = best_match(error.context)
        if inner is not None and inner.validator != "required":
            return _explain(inner, path + tuple(inner.relative_path), version)
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
        return f"{where}: {subject} must be one of {allowed}; got {_shown(error.instance)}", "fix the value"
    if kind == "type":
        want = error.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        hint = "fix the value's type"
        if want == "string" and isinstance(error.instance, (int, float)) and key is not None:
            hint = f'quote it: `{key}: "{error.instance}"` (YAML reads it as a number)'
        elif error.instance is None and key is not None:
            hint = f"give `{key}` a value, or remove the key (ODCS allows no null here)"
        return f"{where}: {subject} must be of type {want}; got {_shown(error.instance)}", hint
    if kind == "required":
        missing = _quoted(error.message)
        value, note = _EXAMPLES.get(missing, ("", ""))
        hint = f"add `{missing}: {value}` here{note}" if value else f"add `{missing}:` here"
        return f"{dotted(path)}: missing required key `{missing}`", hint
    if kind in ("unevaluatedProperties", "additionalProperties"):
        found = _UNEXPECTED.search(error.message)
        names = found.group(1) if found else "a key"
        return (
            f"{dotted(path)}: unknown key {names}",
            "remove it, fix its spelling, or put it under `customProperties` as {property, value}",
        )
    if kind == "pattern":
        return (
            f"{where}: {subject} {error.instance!r} does not match {error.validator_value}",
            "use letters, digits, '-' and '_' only",
        )
    if kind == "format" and error.validator_value in ("date", "date-time"):
        return (
            f"{where}: {subject} {_shown(error.instance)} is not a real {error.validator_value}",
            "use YYYY-MM-DD (e.g. 2027-03-31) with a real calendar date, "
            "or a timestamp like 2027-03-31T08:00:00Z",
        )
    if kind == "const":
        return f"{where}: {subject} must be {error.validator_value!r}", "fix the value"
    fix = f"fix this part of the contract to follow the ODCS {version} schema"
    return f"{dotted(path)}: {error.message}", fix


# what to write for the top-level keys every ODCS version requires: (value, why or what else)
_EXAMPLES = {
    "status": ("active", " (or proposed, draft, deprecated, retired)"),
    "version": ('"1.0.0"', " (the contract's own version, quoted)"),
    "kind": ("DataContract", ""),
    "id": ("orders-contract", " (an id of your choice, kept across versions of this contract)"),
}


def _shown(value: Any) -> str:
    """A value for a message: mappings and lists by their shape, not dumped whole."""
    if isinstance(value, dict):
        keys = ", ".join(str(k) for k in list(value)[:4])
        return f"a mapping ({keys}{', ...' if len(value) > 4 else ''})"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _quoted(message: str) -> str:
    found = re.match(r"'([^']+)'", message)
    return found.group(1) if found else message


def _comparisons(error: Any) -> list[str]:
    """The comparison keys a quality rule that failed ODCS's one-of-the-operators check has (in its order):
    jsonschema says only that the rule `is valid under each of` the operators' schemas."""
    if error.validator != "oneOf" or not isinstance(error.instance, dict):
        return []
    keys = set(_operator_keys(error))
    return [str(k) for k in error.instance if k in keys]


def _one_comparison_hint(rule: dict[str, Any], given: list[str]) -> str:
    low = next((k for k in given if k.startswith("mustBeGreater")), None)
    high = next((k for k in given if k.startswith("mustBeLess")), None)
    if low and high and len(given) == 2:
        return (
            f"for a range write `mustBeBetween: [{rule[low]}, {rule[high]}]` (both ends included),"
            " or make it two rules, one comparison each"
        )
    return "keep one of them, or make it one rule per comparison"


def _operator_keys(error: Any) -> list[str]:
    keys: list[str] = []
    for sub in error.validator_value:
        keys.extend(sub.get("required", []))
    return keys
