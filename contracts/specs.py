"""Where the OpenAPI contracts live, and how to read one.

The YAML files under `contracts/openapi/` are the source of truth: simulators serve them as their
`/openapi.json`, tests compare each app against its file, and certification fuzzes vendors with them.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .errors import ContractError, ContractFileError
from .yaml_data import safe_load

OPENAPI_DIR = Path(__file__).resolve().parent / "openapi"
CONTRACT_NAMES = (
    "oir-debitor-v3",
    "oir-testkontrol-v1",
    "oir-fagsystem-v3",
    "psrm-fordringshaver",
    "fbs",
    "payment",
    "sim-control",
)


__all__ = [
    "CONTRACT_NAMES",
    "OPENAPI_DIR",
    "ContractError",
    "ContractFileError",
    "load_spec",
    "spec_digest",
    "spec_path",
]


def spec_path(name: str) -> Path:
    return OPENAPI_DIR / f"{name}.yaml"


@cache
def _load(name: str) -> dict[str, Any]:
    path = spec_path(name)
    try:
        loaded = safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ContractFileError(f"no contract file {path}") from exc
    except yaml.YAMLError as exc:
        raise ContractFileError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(loaded, dict) or "openapi" not in loaded:
        raise ContractFileError(f"{path}: not an OpenAPI document (no 'openapi' key)")
    return loaded


def load_spec(name: str) -> dict[str, Any]:
    """A fresh copy of the contract, safe to modify."""
    import copy

    return copy.deepcopy(_load(name))


def spec_digest(name: str) -> str:
    return hashlib.sha256(spec_path(name).read_bytes()).hexdigest()
