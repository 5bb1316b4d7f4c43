"""YAML with positions: every mapping and list remembers the line of each key and item.

PyYAML's plain loader forgets where things were, and an authoring error without a line number
sends the author hunting. These containers behave as dict and list but answer `line_of(key)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ScenarioError


class LineDict(dict[str, Any]):
    """A mapping from YAML that knows the line (1-based) of each key and of itself."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence from YAML that knows the line of each item and of itself."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


class _Loader(yaml.SafeLoader):
    """Pure Python: slower, but its error marks are exact (libyaml puts a tab's error on the line above)."""


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml, where PyYAML was built with it: a valid file parses in about half the time."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList()
    result.line = node.start_mark.line + 1
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.lines.append(item.start_mark.line + 1)
    return result


def _string_timestamp(loader: _Loader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))  # dates stay text: the language parses them itself


for _loader in (_Loader, _FastLoader):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)
    _loader.add_constructor("tag:yaml.org,2002:timestamp", _string_timestamp)


def read_yaml(path: Path) -> Any:
    """Parse a file; a syntax error becomes a ScenarioError with the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(path, None, "(file)", f"cannot read the file: {exc.strerror or exc}") from exc
    try:
        return yaml.load(text, Loader=_FastLoader)
    except yaml.YAMLError:
        pass  # said again below by the pure-Python parser, whose marks are exact
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        # Where the broken construct began (an unclosed bracket) helps more than where parsing gave up;
        # but a block (indented) construct that meets a line it did not expect is broken at that line:
        # its indentation is wrong, not the line where the block began.
        indentation = bool(exc.context and exc.context.startswith("while parsing a block"))
        mark = exc.problem_mark if indentation else exc.context_mark or exc.problem_mark
        line = mark.line + 1 if mark else None
        detail = str(exc.problem or exc)
        if indentation and exc.context_mark is not None and exc.context_mark is not mark:
            detail += f"; check this line's indentation (the block it breaks began on line {exc.context_mark.line + 1})"
        elif exc.context and exc.problem_mark is not None and exc.problem_mark is not mark:
            detail += f" ({exc.context}, noticed on line {exc.problem_mark.line + 1})"
        raise ScenarioError(path, line, _key_near(text, line), f"not valid YAML: {detail}") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(path, None, "(file)", f"not valid YAML: {exc}") from exc


def _key_near(text: str, line: int | None) -> str:
    """The key written on (or just above) the line a YAML error points at."""
    if not line:
        return "(file)"
    lines = text.splitlines()
    for number in range(min(line, len(lines)) - 1, -1, -1):
        stripped = lines[number].strip().lstrip("- ")
        if ":" in stripped:
            return stripped.split(":", 1)[0].strip() or "(file)"
    return "(file)"
