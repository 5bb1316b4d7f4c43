"""Which checks a certification runs: all of them, or only some (`only`), and which checks there are.

A full certification runs every check. A run limited to some checks (by name: `schemathesis`, a
probe's name, `pact` or one interaction's `pact <consumer>: <description>`, `scenario` or one
`scenario <id>`) reports every other check as not run, saying it was not selected — so a requirement
only unselected checks cite is NOT VERIFIED in that run, never passed. That makes a question like
"does this misbehaving system fail MSG-CREDENTIALS?" cost one probe instead of a certification.

`planned_checks` lists, without running anything, every check a certification of a profile has and the
requirement IDs each cites — against the simulator, or against a vendor's system (where only the
scenarios that can meet a real system run). The requirement × misbehaviour matrix is derived from it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache

from contracts.checks.fuzz import FuzzResult
from contracts.checks.pact import INTERACTION_REQUIREMENTS, pact_interactions
from contracts.profile import profile_capabilities
from contracts.requirements import not_applicable
from scenarios import load_suite
from scenarios.loader import BUNDLED_SUITES

from .errors import CertificationError
from .pacts import CHECK_PREFIX, debtor_pact_files
from .probes import PROBES

FUZZ_CHECK = "schemathesis"
SCENARIO_PREFIX = "scenario"
NOT_SELECTED = "not selected: this run was limited to {only}"


class UnknownCheckError(CertificationError):
    """`only` names a check the certification does not have."""


@dataclass(frozen=True)
class PlannedCheck:
    name: str
    requirements: tuple[str, ...]  # what it cites for this profile (never a requirement the profile rules out)


@dataclass(frozen=True)
class Selection:
    """The checks a run is limited to (`only`), or every check (`only` empty)."""

    only: tuple[str, ...] = ()

    def selects(self, check: str) -> bool:
        if not self.only:
            return True
        return any(check == name or check.startswith(f"{name} ") for name in self.only)

    def selects_any(self, prefix: str) -> bool:
        """Does it select any check of a family (`pact`, `scenario`)?"""
        return not self.only or any(name == prefix or name.startswith(f"{prefix} ") for name in self.only)

    @property
    def reason(self) -> str:
        """Why an unselected check did not run."""
        return NOT_SELECTED.format(only=", ".join(self.only))


def planned_checks(profile: str, *, vendor: bool) -> list[PlannedCheck]:
    """Every check of a certification of `profile` (see `_planned`)."""
    return list(_planned(profile, vendor))


@lru_cache(maxsize=16)  # the bundled suite and the pact files are read once per process
def _planned(profile: str, vendor: bool) -> tuple[PlannedCheck, ...]:
    """Every check of a certification of `profile` (against a vendor's system when `vendor`) that applies
    to the profile, with the requirements it cites there; checks that may turn out not run at run time
    (a probe or pact interaction needing a clock a real system lacks) are listed too."""
    absent = not_applicable(profile_capabilities(profile))

    def cited(requirements: Iterable[str]) -> tuple[str, ...]:
        return tuple(r for r in requirements if r not in absent)

    checks = [PlannedCheck(FUZZ_CHECK, cited(FuzzResult(True, 0, "").requirements))]
    checks += [PlannedCheck(name, cited(requirements)) for name, requirements, _ in PROBES]
    checks += [
        PlannedCheck(f"{CHECK_PREFIX} {consumer}: {description}", cited(INTERACTION_REQUIREMENTS.get(description, ())))
        for consumer, description, _ in pact_interactions(debtor_pact_files(profile))
    ]
    capabilities = profile_capabilities(profile)
    for scenario in load_suite([BUNDLED_SUITES]):
        if scenario.applies_to(profile, capabilities) and (not vendor or scenario.runs_against_vendor()):
            checks.append(PlannedCheck(f"{SCENARIO_PREFIX} {scenario.id}", cited(scenario.covers)))
    return tuple(checks)


def checks_citing(requirement: str, profile: str, *, vendor: bool) -> list[str]:
    """The names of the checks that cite `requirement` in a certification of `profile`."""
    return [c.name for c in planned_checks(profile, vendor=vendor) if requirement in c.requirements]


def selection(only: Collection[str], profile: str, *, vendor: bool) -> Selection:
    """A selection of checks by name, refused if a name matches no check of the profile's certification."""
    names = [c.name for c in planned_checks(profile, vendor=vendor)]
    chosen = Selection(tuple(only))
    for name in only:
        if not any(Selection((name,)).selects(check) for check in names):
            raise UnknownCheckError(
                f"--only {name!r}: no such check in a certification of {profile}; checks: "
                f"{FUZZ_CHECK}, {', '.join(n for n, _, _ in PROBES)}, {CHECK_PREFIX}, {SCENARIO_PREFIX} <id>"
            )
    return chosen
