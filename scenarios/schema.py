"""The JSON Schema of scenario files, generated from the vocabulary, and the check against it.

Editors and CI can validate a scenario with `scenario.schema.json` (committed beside this module; a
test keeps it equal to what `build_schema()` generates). The loader checks each file against it
after its own, more precise checks, so nothing the schema forbids ever runs.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from contracts.profile import CAPABILITIES, PROFILE_NAMES

from .errors import ScenarioError
from .source import LineDict, LineList
from .vocabulary import STEP_KEYS, Arg, actions

SCHEMA_FILE = Path(__file__).resolve().parent / "scenario.schema.json"
TOP_LEVEL_KEYS = ("scenario", "title", "covers", "tags", "requires", "profiles", "seed", "start", "steps")
_REFERENCE = r"^\$\{[A-Za-z_][A-Za-z0-9_]*(\.[^}]+)?\}$"
_MONEY = r"^\s*\d{1,9}([.,]\d{1,2})?\s*kr\.?\s*$"


def _or_reference(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "string", "pattern": _REFERENCE}]}


def _arg_schema(arg: Arg) -> dict[str, Any]:
    if arg.type == "ref":
        return {"type": "string", "description": arg.doc}
    if arg.type == "money":
        return _or_reference({"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": _MONEY}]})
    if arg.type == "date":
        return _or_reference({"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"})
    if arg.type == "int":
        return _or_reference({"type": "integer"})
    if arg.type == "bool":
        return _or_reference({"type": "boolean"})
    if arg.type == "str":
        base: dict[str, Any] = {"type": ["string", "integer"]}
        if arg.choices:
            base = {"enum": list(arg.choices)}
        return _or_reference(base)
    if arg.type == "mapping":
        return {"type": "object"}
    if arg.type == "list":
        if arg.items is not None:
            return {"type": "array", "items": _arguments_schema(arg.items, ())}
        return {"type": "array"}
    return {}


_STEP_COVERS: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "minItems": 1,
    "uniqueItems": True,
    "description": "the scenario's requirement IDs this step asserts: blamed, and only they, when it fails",
}


_STEP_WHEN: dict[str, Any] = {
    "anyOf": [
        {"enum": list(CAPABILITIES)},
        {"type": "array", "items": {"enum": list(CAPABILITIES)}, "minItems": 1, "uniqueItems": True},
    ],
    "description": "run this step only for profiles declaring these capabilities; it must cover only "
    "requirements that bind such profiles alone",
}


def _arguments_schema(args: dict[str, Arg], extra: tuple[str, ...]) -> dict[str, Any]:
    properties = {name: _arg_schema(arg) for name, arg in args.items()}
    extras: dict[str, dict[str, Any]] = {
        "status": {"type": "integer"},
        "that": {"type": "object"},
        "covers": _STEP_COVERS,
        "when": _STEP_WHEN,
    }
    for key in extra:
        properties[key] = extras.get(key, {"type": "string"})
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(name for name, arg in args.items() if arg.required),
        "additionalProperties": False,
    }


def build_schema() -> dict[str, Any]:
    registry = actions()
    definitions: dict[str, Any] = {}
    for name, spec in sorted(registry.items()):
        arguments = _arguments_schema(spec.args, STEP_KEYS if spec.kind == "act" else ())
        definitions[name] = {"description": spec.doc, "anyOf": [arguments, {"type": "null"}]}
        if spec.primary:
            definitions[name]["anyOf"].append({"type": "string"})
    queries = sorted(n for n, s in registry.items() if s.kind == "query")
    acts = sorted(n for n, s in registry.items() if s.kind == "act")
    matcher_map = {"type": "object"}
    expect = {
        "type": "object",
        "properties": {
            **{q: {"$ref": f"#/$defs/{q}"} for q in queries},
            "that": matcher_map,
            "stop_if": matcher_map,
            "within": {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)\s*$"},
            "absent": {"type": "boolean"},
            "soft": {"type": "boolean"},
            "when": _STEP_WHEN,
            "as": {"type": "string"},
            "covers": _STEP_COVERS,
        },
        "additionalProperties": False,
        "minProperties": 1,
    }
    step = {
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "properties": {**{a: {"$ref": f"#/$defs/{a}"} for a in acts}, "expect": expect},
        "additionalProperties": False,
    }
    names = {"type": "array", "items": {"type": "string"}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://oir-harness.example/scenario.schema.json",
        "title": "ØiR harness scenario",
        "type": "object",
        "required": ["scenario", "title", "covers", "steps"],
        "additionalProperties": False,
        "properties": {
            "scenario": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]{2,79}$"},
            "title": {"type": "string", "minLength": 1},
            "covers": {**names, "minItems": 1},
            "tags": names,
            "requires": {"type": "array", "items": {"enum": list(CAPABILITIES)}},
            "profiles": {"type": "array", "items": {"enum": list(PROFILE_NAMES)}},
            "seed": {"type": "integer"},
            "start": {"type": "string"},
            "steps": {"type": "array", "minItems": 1, "items": step},
        },
        "$defs": definitions,
    }


def write_schema_file() -> None:
    SCHEMA_FILE.write_text(json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(build_schema())


def validate_against_schema(document: LineDict, path: Path) -> None:
    errors = sorted(_validator().iter_errors(_plain(document)), key=lambda e: len(e.absolute_path))
    error = errors[0] if errors else None
    if error is None:
        return
    line, key = _locate(document, list(error.absolute_path))
    raise ScenarioError(path, line, key, f"does not match the scenario schema: {error.message}")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _locate(document: Any, path: list[Any]) -> tuple[int | None, str]:
    node, line, key = document, getattr(document, "line", None), "(file)"
    for part in path:
        if isinstance(node, LineDict) and part in node:
            line, key, node = node.line_of(part), str(part), node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and part < len(node):
            line, key, node = node.line_of(part), f"{key}[{part}]", node[part]
        else:
            break
    return line, key
