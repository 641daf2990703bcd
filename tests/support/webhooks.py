"""GitHub's webhook description (`../shared/github/webhooks.github.com.json.gz`, next to this checkout
when it is there) as a payload checker: the tests' webhook payloads have the shape GitHub sends."""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).resolve().parents[3] / "shared" / "github" / "webhooks.github.com.json.gz"


@functools.cache
def _registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec = json.load(gzip.open(SOURCE))
    return Registry().with_resource(
        "urn:webhooks", Resource.from_contents(spec, default_specification=DRAFT202012)
    )


def available() -> bool:
    return SOURCE.is_file()


def errors(payload: Any, schema_name: str) -> list[str]:
    """What is wrong with `payload` as GitHub's `schema_name` (e.g. webhook-repository-renamed); [] when it
    conforms, and when the description is not next to this checkout."""
    if not available():
        return []
    from jsonschema import Draft202012Validator

    schema = {"$ref": f"urn:webhooks#/components/schemas/{schema_name}"}
    return [e.message for e in Draft202012Validator(schema, registry=_registry()).iter_errors(payload)]
