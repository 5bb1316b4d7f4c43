"""The 98 municipalities: code, name, region, CVR and the debtor-system vendor profile each uses.

Routing, the simulators' header validation, the rollout board and certification all read this one
table (`municipalities.yaml` beside this module); what in it is modelled says so per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import ContractError
from .identity import is_valid_cvr
from .profile import PROFILE_NAMES
from .yaml_data import safe_load

DATA_FILE = Path(__file__).resolve().parent / "municipalities.yaml"


class MunicipalityDataError(ContractError, ValueError):
    """The municipalities file is missing or inconsistent."""


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    cvr: str
    region: str
    vendor: str
    vendor_modelled: bool
    cvr_modelled: bool


@lru_cache(maxsize=1)
def load_municipalities() -> tuple[Municipality, ...]:
    try:
        raw = safe_load(DATA_FILE.read_text(encoding="utf-8"))
        rows = tuple(
            Municipality(
                code=str(r["code"]),
                name=str(r["name"]),
                cvr=str(r["cvr"]),
                region=str(r["region"]),
                vendor=str(r["vendor"]),
                vendor_modelled=bool(r["vendor_modelled"]),
                cvr_modelled=bool(r["cvr_modelled"]),
            )
            for r in raw["municipalities"]
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise MunicipalityDataError(f"{DATA_FILE}: {exc}") from exc
    for row in rows:
        if row.vendor not in PROFILE_NAMES or not is_valid_cvr(row.cvr):
            raise MunicipalityDataError(
                f"{DATA_FILE}: municipality {row.code} has vendor {row.vendor!r}, cvr {row.cvr!r}"
            )
    return rows


@lru_cache(maxsize=1)
def _by_cvr() -> dict[str, Municipality]:
    return {m.cvr: m for m in load_municipalities()}


@lru_cache(maxsize=1)
def _by_code() -> dict[str, Municipality]:
    return {m.code: m for m in load_municipalities()}


def by_cvr(cvr: str) -> Municipality | None:
    return _by_cvr().get(cvr)


def by_code(code: str) -> Municipality | None:
    return _by_code().get(code)


def for_vendor(vendor: str) -> tuple[Municipality, ...]:
    return tuple(m for m in load_municipalities() if m.vendor == vendor)
