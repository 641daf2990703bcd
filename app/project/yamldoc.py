"""YAML that remembers where each value came from, so every error can name its line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from app.errors import DatacanaryError
from app.types import Location

Path = tuple[str | int, ...]
# libyaml's loader is ~8x faster and keeps the same marks; fall back when PyYAML was built without it
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _TextDatesLoader(_SAFE_LOADER):  # type: ignore[misc,valid-type]
    """The safe loader without YAML 1.1's implicit timestamps: `2024-01-01` stays the text it is. JSON
    schemas (ODCS's) type such values `string`, and a date object would fail them or change on re-dump."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
        for first, resolvers in _SAFE_LOADER.yaml_implicit_resolvers.items()
    }


@dataclass(frozen=True, slots=True)
class YamlDoc:
    """Parsed YAML plus the 1-based line of every key path (`("schema", 0, "properties", 2, "name")`)."""

    path: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, key_path: Path) -> int | None:
        """The line of `key_path`, or of its nearest ancestor that has one."""
        p = tuple(key_path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), 1)

    def location(self, key_path: Path) -> Location:
        return Location(self.path, self.line(key_path))


def load_yaml(
    text: str, path: str, error: type[DatacanaryError] = DatacanaryError, *, dates_as_text: bool = False
) -> YamlDoc:
    """Parse `text` safely; invalid YAML raises `error` with the file, line and column of the problem.
    `dates_as_text` keeps unquoted dates and timestamps as strings (for JSON-schema-validated files)."""
    loader = (_TextDatesLoader if dates_as_text else _SAFE_LOADER)(text)
    try:
        node = loader.get_single_node()
        if node is not None:  # before construction, which flattens merge keys (`<<`) into the mapping
            _reject_duplicate_keys(node, path, error)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        ctx = exc.context_mark
        if ctx is not None and exc.context and mark is not None and ctx.line != mark.line:
            # "expected ']' but got <stream end>" points past the file: the opening is the useful line
            problem = f"{exc.context} at line {ctx.line + 1}: {problem}"
            if mark.line >= len(text.splitlines()):
                mark = ctx
        loc = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        raise error(
            f"invalid YAML: {problem}",
            loc,
            "fix the YAML syntax at this line (indentation, a missing ':' or an unclosed quote are the usual causes)",
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - non-marked YAML errors are rare
        raise error(f"invalid YAML: {exc}", Location(path)) from None
    except (ValueError, OverflowError) as exc:
        # a scalar that looks like a date but is not one (`2027-02-30`): the constructor raises a bare
        # ValueError without a mark (both the C and the pure loader), so find the node that fails again
        raise _bad_scalar(node, path, exc, error) from None
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return YamlDoc(path, data, lines)


def _reject_duplicate_keys(root: yaml.Node, path: str, error: type[DatacanaryError]) -> None:
    """A key given twice in one mapping is an error naming both lines (yamllint's key-duplicates): YAML
    loaders silently keep the last one, so half of what the author wrote would be ignored."""
    stack, seen_nodes = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:  # an alias shares its anchor's node
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, yaml.Node] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    earlier = first.setdefault(key_node.value, key_node)
                    if earlier is not key_node:
                        line, before = key_node.start_mark.line + 1, earlier.start_mark.line + 1
                        raise error(
                            f"duplicate key {key_node.value!r}: given at line {before} and again at line {line}",
                            Location(path, line, key_node.start_mark.column + 1),
                            "keep one of them: YAML would silently use only the last",
                        )
                stack.extend((key_node, value_node))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _bad_scalar(
    node: yaml.Node | None, path: str, exc: Exception, error: type[DatacanaryError]
) -> DatacanaryError:
    """The error for the first date/timestamp scalar under `node` that is not a real calendar date."""
    constructor = yaml.constructor.SafeConstructor()
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop(0)
        if isinstance(n, yaml.ScalarNode) and n.tag == _TIMESTAMP_TAG:
            try:
                constructor.construct_yaml_timestamp(n)
            except (ValueError, OverflowError) as bad:
                loc = Location(path, n.start_mark.line + 1, n.start_mark.column + 1)
                return error(
                    f"invalid date {n.value!r}: {bad}",
                    loc,
                    "use YYYY-MM-DD (e.g. 2027-03-31) with a real calendar date, or quote the value if not a date",
                )
        elif isinstance(n, yaml.MappingNode):
            stack.extend(x for pair in n.value for x in pair)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return error(f"invalid YAML value: {exc}", Location(path), "check the values of this file")


def _walk(node: yaml.Node, here: Path, lines: dict[Path, int]) -> None:
    lines.setdefault(here, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            child = (*here, key)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = (*here, i)
            lines[child] = item.start_mark.line + 1
            _walk(item, child, lines)
