"""YAML with line numbers: every key's line is kept, so errors can point at it.

Records are read with a loader that keeps numbers and dates as text (a code such as
`01234` or `62326` must not become an integer) and that rejects duplicate keys.
"""
from __future__ import annotations

from dataclasses import dataclass

import yaml

try:  # the C parser is several times faster; fall back when libyaml is missing
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

Path_ = tuple[str | int, ...]  # a path into the document: ("crosswalk", "hcpcs", 0)


class TextLoader(_BaseLoader):
    """Safe loader where only true/false/null are typed; everything else stays a string."""


TextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:null")]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


class TypedLoader(_BaseLoader):
    """Safe loader with the usual YAML types (for settings, where quotas are numbers)."""


@dataclass
class YamlError(Exception):
    line: int
    col: int | None
    message: str


@dataclass
class Document:
    data: object
    lines: dict[Path_, int]  # path → 1-based line of its key (or item)
    start_line: int = 1

    def line_of(self, path: Path_) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.start_line


def load(text: str, typed: bool = False, first_line: int = 1) -> Document:
    """Parse one YAML document; raise YamlError with a line for any syntax problem."""
    loader = (TypedLoader if typed else TextLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Document(None, {}, first_line)
        lines: dict[Path_, int] = {}
        _walk(node, (), lines, first_line - 1, set())
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + first_line) if mark else first_line
        col = (mark.column + 1) if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context and exc.context_mark:
            problem += f" {exc.context} that starts on line {exc.context_mark.line + first_line}"
        raise YamlError(line, col, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlError(first_line, None, f"YAML syntax error: {exc}") from None
    finally:
        loader.dispose()
    return Document(data, lines, first_line)


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], offset: int, visited: set[int]) -> None:
    """Record the line of every key and item; refuse duplicate keys and aliases.

    An alias (`*name`, also in a merge key `<<: *name`) makes the parser hand out the anchored
    node again. Nothing here needs aliases, and a few lines of nested aliases expand into
    billions of values (a "billion laughs" bomb), so the first node met twice is an error.
    """
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1 + offset
            if id(value_node) in visited or id(key_node) in visited:
                raise _alias(line)
            if key in seen:
                col = key_node.start_mark.column + 1
                raise YamlError(line, col, f"duplicate key '{key}' (first given on line {seen[key]})")
            seen[key] = line
            lines[path + (key,)] = line
            _walk(value_node, path + (key,), lines, offset, visited)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            if id(item) in visited:  # the item's own position is the anchor's: name the list's line
                raise _alias(lines.get(path, node.start_mark.line + 1 + offset))
            lines[path + (index,)] = item.start_mark.line + 1 + offset
            _walk(item, path + (index,), lines, offset, visited)


def _alias(line: int) -> YamlError:
    return YamlError(line, None, "YAML aliases (*name) are not allowed here; write the value out in full")
