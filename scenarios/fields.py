"""Field paths of `that:` and `stop_if:` checked against the contract's schema of what a query answers.

A misspelt field (`saldoOre` for `saldoOere`) would otherwise poll for the whole `within:` and then
report "(missing)"; the loader refuses it at once, naming the nearest field of the contract. A query
says what it answers with `response=Returns(…)` (vocabulary.py): a JSON pointer into one of the OpenAPI contracts
(`fbs#/components/schemas/FordringOut`), plus the fields the query adds itself (`Returns`). Only what the schema
pins down is checked: a path through `additionalProperties`, or a schema without `properties`, passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from contracts.specs import load_spec


@dataclass(frozen=True)
class Returns:
    """What a query answers: a schema of a contract (`spec#/json/pointer`) and fields it adds."""

    schema: str
    extra: tuple[str, ...] = ()
    many: bool = False  # a list of them
    name: str = ""  # what the messages call it (default: the schema's name)


@dataclass(frozen=True)
class UnknownField:
    part: str  # the path's part the schema does not have
    known: tuple[str, ...]  # the fields it has there
    where: str  # the schema's name, for the message


@cache
def _spec(name: str) -> dict[str, Any]:
    return load_spec(name)


def _pointer(spec: dict[str, Any], pointer: str) -> Any:
    node: Any = spec
    for part in pointer.strip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = _pointer(spec, node["$ref"].removeprefix("#"))
    return node


def _properties(spec: dict[str, Any], node: Any) -> dict[str, Any] | None:
    """The named fields of an object schema (merging allOf/anyOf/oneOf), or None when it is open."""
    node = _resolve(spec, node)
    if not isinstance(node, dict):
        return None
    branches = [b for key in ("allOf", "anyOf", "oneOf") for b in node.get(key, [])]
    if branches:
        found: dict[str, Any] = {}
        for branch in branches:
            resolved = _resolve(spec, branch)
            if isinstance(resolved, dict) and resolved.get("type") == "null":
                continue
            more = _properties(spec, resolved)
            if more is None:
                return None
            found.update(more)
        return found
    extra = node.get("additionalProperties")
    if "properties" not in node or extra is True or isinstance(extra, dict):
        return None
    return dict(node["properties"])


def _items(spec: dict[str, Any], node: Any) -> Any:
    node = _resolve(spec, node)
    if isinstance(node, dict) and node.get("type") == "array":
        return node.get("items", {})
    for key in ("anyOf", "oneOf"):
        for branch in node.get(key, []) if isinstance(node, dict) else []:
            resolved = _resolve(spec, branch)
            if isinstance(resolved, dict) and resolved.get("type") == "array":
                return resolved.get("items", {})
    return None


def unknown_field(response: Returns, path: str) -> UnknownField | None:
    """The first part of a field path (matchers.py's syntax) the query's answer cannot have, if any."""
    if path == ".":
        return None
    spec_name, _, pointer = response.schema.partition("#")
    spec = _spec(spec_name)
    node: Any = {"type": "array", "items": _pointer(spec, pointer)} if response.many else _pointer(spec, pointer)
    extra: tuple[str, ...] = response.extra
    parts = path.split(".")
    for index, part in enumerate(parts):
        if part == "length":
            return None  # a count: nothing below it
        if part == "*" or part.lstrip("-").isdigit():
            node = _items(spec, node)
            if node is None:
                return None
            continue
        fields = _properties(spec, node)
        if fields is None:
            return None
        if part in fields:
            node, extra = fields[part], ()
            continue
        if part in extra:
            return None  # a field the query adds itself
        where = response.name or pointer.rsplit("/", 1)[-1] or spec_name
        if index:
            where = f"{'.'.join(parts[:index])} of {where}"
        return UnknownField(part, (*fields, *extra), where)
    return None
