"""GitHub's OpenAPI description (the trimmed copy in fixtures/github/openapi) as a request checker: match a
request to its operation (method + path template) and validate the JSON body against the operation's
requestBody schema, resolving `$ref`s within the file. Also hands out response examples."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

_SPEC_URI = "urn:github-rest-api"
SPEC_PATH = Path(__file__).resolve().parents[2] / "fixtures" / "github" / "openapi" / "rest-subset.json"


@dataclass(frozen=True)
class Operation:
    method: str  # lower case
    template: str  # e.g. /repos/{owner}/{repo}/check-runs
    spec: dict[str, Any]

    @property
    def operation_id(self) -> str:
        return str(self.spec.get("operationId", f"{self.method} {self.template}"))


class OpenApi:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT4)
        # also under a name: a validator's own root schema takes the "" base URI, so a body schema that is
        # not itself a $ref (e.g. an inline anyOf of $refs) must be reached through this name
        self._registry: Registry[Any] = Registry().with_resources([("", resource), (_SPEC_URI, resource)])
        self._routes: list[tuple[re.Pattern[str], str]] = []
        # literal segments beat parameters: /git/ref/{ref} must not swallow other paths
        for template in sorted(spec["paths"], key=lambda t: (t.count("{"), -len(t))):
            names = re.findall(r"\{([^}]+)\}", template)
            parts = re.split(r"\{[^}]+\}", template)
            regex = "".join(
                re.escape(part)
                + (
                    f"(?P<{_group(names[i])}>.+)"
                    if names[i] in ("path", "ref", "basehead")
                    else f"(?P<{_group(names[i])}>[^/]+)"
                )
                if i < len(names)
                else re.escape(part)
                for i, part in enumerate(parts)
            )
            self._routes.append((re.compile(f"^{regex}$"), template))

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation for `method path`, with the path parameters; None if GitHub has no such call."""
        for regex, template in self._routes:
            m = regex.match(path)
            if m and method.lower() in self.spec["paths"][template]:
                params = {_ungroup(k): v for k, v in m.groupdict().items()}
                return Operation(
                    method.lower(), template, self.spec["paths"][template][method.lower()]
                ), params
        return None

    def body_errors(self, op: Operation, body: Any) -> list[str]:
        """Why `body` does not conform to the operation's request body schema (empty when it does)."""
        request = op.spec.get("requestBody")
        if request is None:
            return [] if body is None else [f"{op.operation_id} takes no request body"]
        schema = request.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return []
        if body is None:
            return [f"{op.operation_id} requires a JSON body"] if request.get("required") else []
        pointer = "/".join(
            p.replace("~", "~0").replace("/", "~1")
            for p in ("paths", op.template, op.method, "requestBody", "content", "application/json", "schema")
        )
        validator = OAS30Validator({"$ref": f"{_SPEC_URI}#/{pointer}"}, registry=self._registry)
        errors = list(validator.iter_errors(body))
        if not errors:
            return []
        worst = best_match(errors)
        where = "/".join(str(p) for p in worst.absolute_path) or "(body)"
        return [f"{op.operation_id}: {where}: {worst.message}"] + [
            f"{op.operation_id}: {'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
            for e in errors
            if e is not worst
        ][:5]

    def example(self, op: Operation) -> tuple[int, Any]:
        """The first documented success status and its example body (resolving $refs), or (status, None)."""
        for code, response in sorted(op.spec.get("responses", {}).items()):
            if not code.startswith("2"):
                continue
            response = self.resolve(response)
            content = response.get("content", {}).get("application/json", {})
            for example in content.get("examples", {}).values():
                value = self.resolve(example).get("value")
                if value is not None:
                    return int(code), json.loads(json.dumps(value))
            return int(code), None
        return 200, None

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node


def _group(name: str) -> str:
    return "p_" + re.sub(r"\W", "_", name)


def _ungroup(name: str) -> str:
    return name.removeprefix("p_")


@functools.lru_cache(maxsize=1)
def load() -> OpenApi:
    """The subset description, parsed once per test session."""
    return OpenApi(json.loads(SPEC_PATH.read_text()))
