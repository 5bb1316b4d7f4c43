"""The requirement catalogue (`requirements.yaml`): stable IDs that scenarios, checks and reports cite.

A requirement may bind only systems with a capability (`requires: b03_payment`): for a profile that
declares the capability absent it is not applicable — certification reports it as such, never as
passed or failed (`not_applicable`).
A requirement that binds another system than the debtor system (`binds: FBS`, PSRM, the harness, the
rollout) is not applicable in a debtor system's certificate either: that certificate can neither earn
nor fail it, and listing it as not verified would keep every municipality off READY for a gap no vendor
can close (`not_applicable`).
A requirement no behaviour of a vendor's debtor system can break in a certification against that system
(`vendor_unverified: REASON`) is never reported passed there, only not verified, with the reason
(`vendor_unverified`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import ContractError
from .profile import CAPABILITIES
from .yaml_data import safe_load

CATALOGUE = Path(__file__).resolve().parent / "requirements.yaml"
_KEYS = ("id", "area", "text", "requires", "vendor_unverified", "binds")
OTHER_SYSTEMS = ("FBS", "PSRM", "the harness", "the rollout")  # what `binds:` may name


class RequirementCatalogueError(ContractError, ValueError):
    """The catalogue is malformed: a duplicate ID, a missing field or an unknown capability."""


@dataclass(frozen=True)
class Requirement:
    id: str
    area: str
    text: str
    requires: str | None = None  # the capability a profile must declare for the rule to apply
    vendor_unverified: str | None = None  # why a certification against a vendor's system cannot verify it
    binds: str | None = None  # the other system it binds (None: the debtor system, or the chain through it)

    def applies_to(self, capabilities: Iterable[str]) -> bool:
        return self.requires is None or self.requires in set(capabilities)


@lru_cache(maxsize=1)
def load_requirements() -> dict[str, Requirement]:
    try:
        rows = safe_load(CATALOGUE.read_text(encoding="utf-8"))["requirements"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise RequirementCatalogueError(f"{CATALOGUE}: {exc}") from exc
    catalogue: dict[str, Requirement] = {}
    for index, row in enumerate(rows):
        missing = [key for key in ("id", "area", "text") if not row.get(key)]
        if missing:
            raise RequirementCatalogueError(f"{CATALOGUE}: entry {index + 1} lacks {', '.join(missing)}")
        unknown = sorted(set(row) - set(_KEYS))
        if unknown:
            raise RequirementCatalogueError(f"{CATALOGUE}: {row['id']}: unknown key {', '.join(unknown)}")
        if row["id"] in catalogue:
            raise RequirementCatalogueError(f"{CATALOGUE}: duplicate requirement ID {row['id']}")
        requires = row.get("requires")
        if requires is not None and requires not in CAPABILITIES:
            raise RequirementCatalogueError(
                f"{CATALOGUE}: {row['id']} requires unknown capability {requires!r}; known: {', '.join(CAPABILITIES)}"
            )
        unverified = row.get("vendor_unverified")
        if unverified is not None and not (isinstance(unverified, str) and unverified.strip()):
            raise RequirementCatalogueError(f"{CATALOGUE}: {row['id']}: vendor_unverified must be a reason (text)")
        binds = row.get("binds")
        if binds is not None and binds not in OTHER_SYSTEMS:
            raise RequirementCatalogueError(
                f"{CATALOGUE}: {row['id']}: binds {binds!r}; another system than the debtor's is one of "
                + ", ".join(OTHER_SYSTEMS)
            )
        catalogue[row["id"]] = Requirement(row["id"], row["area"], row["text"], requires, unverified, binds)
    return catalogue


def not_applicable(capabilities: Iterable[str]) -> dict[str, str]:
    """Each catalogue requirement that does not apply to a profile with these capabilities, with why:
    it needs a capability the profile does not declare, or it binds another system than the debtor's."""
    held = set(capabilities)
    absent: dict[str, str] = {}
    for rid, requirement in load_requirements().items():
        if requirement.binds:
            absent[rid] = f"it binds {requirement.binds}, not the debtor system: its certificate cannot earn or fail it"
        elif not requirement.applies_to(held):
            absent[rid] = f"the profile does not declare the capability {requirement.requires}"
    return absent


def vendor_unverified() -> dict[str, str]:
    """Each catalogue requirement that a certification against a vendor's own system cannot verify (no
    behaviour of that system can break it there), with why: reported not verified, never passed."""
    return {
        rid: f"not verifiable against a vendor's system: {requirement.vendor_unverified}"
        for rid, requirement in load_requirements().items()
        if requirement.vendor_unverified
    }
