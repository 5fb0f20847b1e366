"""Safe YAML loading that remembers the line of every value.

Rule modules are data written by people, so an error must point at a line. PyYAML's
SafeLoader builds no Python objects from tags; on top of that we refuse anchors and
aliases (the "billion laughs" bomb lives there), any non-standard tag, and files over
a size limit, before anything is constructed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 40

_STANDARD_TAGS = {
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}

class YamlProblem(Exception):
    def __init__(self, message: str, line: int | None = None):
        self.message = message
        self.line = line
        super().__init__(message)


@dataclass
class Located:
    """A loaded document and the line (1-based) where each of its paths starts."""

    data: object
    lines: dict[tuple, int] = field(default_factory=dict)

    def line_of(self, path: tuple) -> int | None:
        # Fall back to the nearest enclosing path that has a line.
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def load_file(path: Path) -> Located:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise YamlProblem(
            f"the file is {size / 1_000_000:.1f} MB; the limit is "
            f"{MAX_FILE_BYTES // 1024} KB. Split it, or remove what does not belong in it."
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlProblem(f"the file is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    return load_text(text)


def load_text(text: str) -> Located:
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise YamlProblem(f"the text is over the {MAX_FILE_BYTES // 1024} KB limit")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise YamlProblem(f"not valid YAML: {exc.problem}", line) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"not valid YAML: {exc}") from None
    located = Located(data=None)
    if node is None:
        return located
    located.data = _build(node, (), located.lines, set(), 0)
    return located


def _build(node: yaml.Node, path: tuple, lines: dict, seen: set[int], depth: int) -> object:
    line = node.start_mark.line + 1
    if id(node) in seen:
        raise YamlProblem("anchors and aliases (& and *) are not allowed in rule files", line)
    seen.add(id(node))
    if depth > MAX_DEPTH:
        raise YamlProblem(f"nested more than {MAX_DEPTH} levels deep", line)
    if node.tag not in _STANDARD_TAGS:
        raise YamlProblem(f"the tag {node.tag!r} is not allowed; write plain values", line)
    lines[path] = line
    if isinstance(node, yaml.MappingNode):
        result: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlProblem("merge keys (<<) are not allowed in rule files", line)
            key = _build(key_node, (*path, "<key>"), {}, seen, depth + 1)
            if not isinstance(key, str | int | bool) or key is None:
                raise YamlProblem("mapping keys must be plain words", key_node.start_mark.line + 1)
            if key in result:
                raise YamlProblem(
                    f"the key {key!r} appears twice in the same block",
                    key_node.start_mark.line + 1,
                )
            result[key] = _build(value_node, (*path, key), lines, seen, depth + 1)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*path, index), lines, seen, depth + 1)
            for index, item in enumerate(node.value)
        ]
    return _scalar(node)


def _scalar(node: yaml.Node) -> object:
    constructor = yaml.constructor.SafeConstructor()
    try:
        return constructor.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError) as exc:
        raise YamlProblem(f"cannot read this value: {exc}", node.start_mark.line + 1) from None
