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
# Aliases may repeat what the file holds, not multiply it: a document whose aliases expand it past this
# many values and past ten times its own nodes is refused ("billion laughs": nine lines of nine aliases
# each expand to 387 million values). Go's yaml.v3 caps alias expansion the same way.
_EXPANDED_VALUES = 100_000
# Nesting deeper than this is refused with its line (libyaml stops at 1,000, past Python's recursion
# limit for the schema validators and diffs that read the data); real contracts nest 10 to 20 levels.
_MAX_DEPTH = 64


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
            if _reject_duplicate_keys(node, path, error):  # some node is reached twice: an alias
                _check_aliases(node, path, error)
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
    except RecursionError:  # the pure-Python composer recurses per level (libyaml stops at 1,000)
        raise _too_deep(path, Location(path), error) from None
    except (ValueError, OverflowError) as exc:
        # a scalar that looks like a date but is not one (`2027-02-30`): the constructor raises a bare
        # ValueError without a mark (both the C and the pure loader), so find the node that fails again
        raise _bad_scalar(node, path, exc, error) from None
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    if node is not None:
        _walk(node, lines, path, error)
    return YamlDoc(path, data, lines)


def _reject_duplicate_keys(root: yaml.Node, path: str, error: type[DatacanaryError]) -> bool:
    """A key given twice in one mapping is an error naming both lines (yamllint's key-duplicates): YAML
    loaders silently keep the last one, so half of what the author wrote would be ignored.
    True when some node is reached twice (an alias shares its anchor's node)."""
    stack, seen_nodes, shared = [root], set(), False
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            shared = True
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
    return shared


def _check_aliases(root: yaml.Node, path: str, error: type[DatacanaryError]) -> None:
    """An anchor used inside itself (`a: &a {b: *a}`) or aliases that multiply the document are errors:
    every reader of the data (the line index, schema validation, the diff) would recurse forever or
    expand it exponentially. One pass over the distinct nodes counts what the aliases expand to."""
    size: dict[int, int] = {}  # node id -> values under it, aliases expanded
    open_: set[int] = set()  # the nodes on the current path from the root
    stack: list[tuple[yaml.Node, yaml.Node | None, bool]] = [(root, None, False)]
    while stack:
        node, via, done = stack.pop()
        children = _children(node)
        if done:
            open_.discard(id(node))
            size[id(node)] = 1 + sum(size[id(c)] for c in children)
            continue
        if id(node) in open_:
            at = via or node
            raise error(
                f"recursive alias: the anchor at line {node.start_mark.line + 1} is used inside itself",
                Location(path, at.start_mark.line + 1, at.start_mark.column + 1),
                "an alias (*name) can only repeat a value defined before and outside it: write this value out",
            )
        if id(node) in size:
            continue
        open_.add(id(node))
        stack.append((node, via, True))
        if isinstance(node, yaml.MappingNode):
            stack.extend((v, k, False) for k, v in reversed(node.value))
            stack.extend((k, None, False) for k, _ in reversed(node.value))
        else:
            stack.extend((c, node, False) for c in reversed(children))
    expanded = size[id(root)]
    if expanded > _EXPANDED_VALUES and expanded > 10 * len(size):
        at, node = root, root  # the key whose value expands the most, as deep as it stays over the limit
        while isinstance(node, yaml.MappingNode) and node.value:
            key, value = max(node.value, key=lambda kv: size[id(kv[1])])
            if size[id(value)] <= _EXPANDED_VALUES:
                break
            at, node = key, value
        raise error(
            f"aliases expand this file to {expanded:,} values from {len(size):,}: refused as an alias bomb",
            Location(path, at.start_mark.line + 1, at.start_mark.column + 1),
            "repeat fewer values through aliases (*name), or write the values out",
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


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


def _too_deep(path: str, at: Location, error: type[DatacanaryError]) -> DatacanaryError:
    return error(
        f"nested more than {_MAX_DEPTH} levels deep",
        at,
        "flatten this value: no contract or configuration needs this much nesting",
    )


def _walk(root: yaml.Node, lines: dict[Path, int], path: str, error: type[DatacanaryError]) -> None:
    """The line of every key path under `root` (paths through an alias get the anchor's lines); a value
    nested deeper than `_MAX_DEPTH` levels raises `error` at its line."""
    lines.setdefault((), root.start_mark.line + 1)
    stack: list[tuple[yaml.Node, Path]] = [(root, ())]
    while stack:
        node, here = stack.pop()
        if len(here) >= _MAX_DEPTH:
            raise _too_deep(path, Location(path, node.start_mark.line + 1, node.start_mark.column + 1), error)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
                child = (*here, key)
                lines[child] = key_node.start_mark.line + 1
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                child = (*here, i)
                lines[child] = item.start_mark.line + 1
                stack.append((item, child))
