"""Environment parity: two environments run the same artifact, so their effective configurations may
differ only in the declared `parameters`. [pure]

The structural difference comes from deepdiff; each difference is classified as allowed (a declared
parameter) or not, and a disallowed one carries the datacanary.yml line that causes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.project.config import ProjectConfig
from app.project.yamldoc import YamlDoc
from app.promotion.environments import effective_config, environment, environment_key
from app.types import Location

# deepdiff report types -> our words
_KINDS = {
    "values_changed": "changed",
    "type_changes": "changed",
    "dictionary_item_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_added": "added",
    "iterable_item_removed": "removed",
    "set_item_added": "added",
    "set_item_removed": "removed",
    "attribute_added": "added",
    "attribute_removed": "removed",
}


@dataclass(frozen=True, slots=True)
class ParityDifference:
    """One structural difference between the two effective configurations."""

    path: str  # dotted, e.g. `canary.thresholds.changed_rows_pct` or `parameters.schema`
    kind: str  # changed | added | removed (seen from `source` to `target`)
    source_value: Any
    target_value: Any
    allowed: bool  # a declared parameter
    location: Location | None = None  # the datacanary.yml line that makes the target differ

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "from": self.source_value,
            "to": self.target_value,
            "allowed": self.allowed,
            "file": self.location.path if self.location else None,
            "line": self.location.line if self.location else None,
        }


@dataclass(frozen=True, slots=True)
class ParityResult:
    """The parity of `source` -> `target`: ok when every difference is a declared parameter."""

    source: str
    target: str
    declared: tuple[str, ...]
    differences: tuple[ParityDifference, ...]

    @property
    def violations(self) -> tuple[ParityDifference, ...]:
        return tuple(d for d in self.differences if not d.allowed)

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": self.target,
            "ok": self.ok,
            "declared_parameters": list(self.declared),
            "differences": [d.to_json() for d in self.differences],
        }


def parity(config: ProjectConfig, source: str, target: str, doc: YamlDoc | None = None) -> ParityResult:
    """Compare the effective configurations of `source` and `target` (deepdiff); classify each difference."""
    from deepdiff import DeepDiff  # deepdiff is only needed here; keep `import app.promotion` light

    path = doc.path if doc else "datacanary.yml"
    environment(config, source, path, doc)
    environment(config, target, path, doc)
    left, right = effective_config(config, source, path, doc), effective_config(config, target, path, doc)
    declared = tuple(config.parameters)
    found: list[ParityDifference] = []
    # parameters key by key (deepdiff reports `{}` vs `{k: v}` as one change of the whole mapping)
    params_left, params_right = left.pop("parameters"), right.pop("parameters")
    for key in sorted(set(params_left) | set(params_right)):
        kind = "removed" if key not in params_right else "added" if key not in params_left else "changed"
        if kind == "changed" and params_left[key] == params_right[key]:
            continue
        allowed = key in config.parameters
        found.append(
            ParityDifference(
                path=f"parameters.{key}",
                kind=kind,
                source_value=params_left.get(key),
                target_value=params_right.get(key),
                allowed=allowed,
                location=None if allowed else _blame(doc, target, source, ["parameters", key]),
            )
        )
    for report_type, items in DeepDiff(left, right, view="tree").items():
        for item in items:
            parts = item.path(output_format="list")
            found.append(
                ParityDifference(
                    path=_dotted(parts),
                    kind=_KINDS.get(report_type, report_type),
                    source_value=_present(item.t1),
                    target_value=_present(item.t2),
                    allowed=False,
                    location=_blame(doc, target, source, parts),
                )
            )
    return ParityResult(source, target, declared, tuple(sorted(found, key=lambda d: (d.allowed, d.path))))


def _dotted(parts: list[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _present(value: Any) -> Any:
    # deepdiff marks the missing side with a NotPresent sentinel
    return None if type(value).__name__ == "NotPresent" else value


def _blame(doc: YamlDoc | None, target: str, source: str, parts: list[Any]) -> Location | None:
    """The line of the override (or undeclared parameter) that makes the environments differ."""
    if doc is None:
        return None
    section = "parameters" if parts and parts[0] == "parameters" else "overrides"
    rest = tuple(parts[1:]) if section == "parameters" else tuple(parts)
    for env in (target, source):
        key = (*environment_key(doc, env), section, *rest)
        if any(k[: len(key)] == key for k in doc.lines):
            return doc.location(key)
    return doc.location(environment_key(doc, target))
