"""Choosing the checks of a certification run: `oir certify --only CHECK…` and `--last-failed`.

A vendor fixing one failure re-runs that check, not the whole 45 s (pytest's `--lf`/`-k`, Inferno's
per-test re-run). A CHECK is a check's name as the report shows it — `schemathesis`, a probe
(`registration`), a pact interaction (`pact oir-integration: …`), a scenario (`scenario <id>`, or the id
alone) — or a shell-style pattern of one (`pact *`, `scenario annul*`). `--last-failed` reads the
checks that failed (or ended in error) in the results.json of the profile's last report.

`planned_checks` lists, without running anything, every check a certification of a profile has and the
requirement IDs each cites — against the simulator, or against a vendor's system (where only the
scenarios that can meet a real system run). The requirement × misbehaviour matrix is derived from it.

A check left out is NOT RUN in that run, "not selected in this run (--only)": what only it cites is
not verified, never passed. A partial run writes its report but no certificate (a certificate states
what a whole run found), and removes a certificate of an earlier run from the folder it reuses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path

from contracts.checks.fuzz import CHECK_REQUIREMENTS
from contracts.checks.pact import INTERACTION_REQUIREMENTS, pact_interactions
from contracts.profile import Profile, profile_capabilities
from contracts.requirements import not_applicable
from scenarios import load_suite
from scenarios.loader import BUNDLED_SUITES

from .errors import SelectionError
from .judge import CheckOutcome
from .pacts import CHECK_PREFIX, PactPart, debtor_pact_files
from .probes import PROBES, TEST_CONTROL_PROBE

ONLY_REASON = "not selected in this run (--only)"
FUZZ_CHECK = "schemathesis"
SCENARIO_PREFIX = "scenario"


class UnknownCheckError(SelectionError):
    """`--only` names a check the certification does not have."""


_PREFIXES = ("scenario ", "pact ")
_FAMILIES = ("pact", "scenario", "schemathesis")  # --only pact: every check of the family


@dataclass(frozen=True)
class PlannedCheck:
    name: str
    requirements: tuple[str, ...]  # what it cites for this profile (never a requirement the profile rules out)


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

    checks = [
        PlannedCheck(f"{FUZZ_CHECK} {name}", cited(requirements)) for name, requirements in CHECK_REQUIREMENTS.items()
    ]
    # the test-control probe runs against the simulators (its reference) and a vendor that declares test
    # control; a vendor's run as planned here declares none
    checks += [
        PlannedCheck(name, cited(requirements))
        for name, requirements, _ in PROBES
        if not (vendor and name == TEST_CONTROL_PROBE)
    ]
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


def chooser(only: Collection[str] | None) -> Callable[[str], bool]:
    """Whether a check (by its name) runs: every check without `only`, else those a pattern matches."""
    if not only:  # no selection (None, or an empty one): every check
        return lambda _: True
    patterns = list(only)

    def chosen(name: str) -> bool:
        short = next((name.removeprefix(p) for p in _PREFIXES if name.startswith(p)), name)
        if name in patterns or short in patterns:  # a name as the report shows it (it may hold [ or *)
            return True
        if any(name.startswith(f"{p} ") for p in patterns if p in _FAMILIES):  # a whole family
            return True
        return any(fnmatchcase(name, p) or fnmatchcase(short, p) for p in patterns)

    return chosen


def deselect(outcomes: list[CheckOutcome], only: Collection[str] | None) -> list[CheckOutcome]:
    """The outcomes of a run, those not chosen turned NOT RUN (a not-applicable check stays so)."""
    chosen = chooser(only)
    return [
        o
        if chosen(o.name) or not o.applicable
        else replace(o, passed=False, ran=False, reason=ONLY_REASON, blamed=None, unproven=())
        for o in outcomes
    ]


def known_checks(profile: str) -> list[str]:
    """The name of every check a certification of `profile` has, in report order."""
    from contracts.checks.pact.requirements import pact_interactions
    from scenarios import load_suite
    from scenarios.loader import BUNDLED_SUITES

    from .pacts import CHECK_PREFIX, debtor_pact_files
    from .probes import PROBES

    pacts = [f"{CHECK_PREFIX} {c}: {d}" for c, d, _ in pact_interactions(debtor_pact_files(profile))]
    scenarios = [f"scenario {s.id}" for s in load_suite([BUNDLED_SUITES])]
    fuzz = [FUZZ_CHECK, *(f"{FUZZ_CHECK} {check}" for check in CHECK_REQUIREMENTS)]
    return [*fuzz, *(name for name, _, _ in PROBES), *pacts, *scenarios]


def pacts_left_out(profile: Profile, only: Collection[str] | None) -> PactPart | None:
    """When `only` chooses no pact interaction, the pact part of the run without running the verifier:
    every interaction not run. None when one is chosen (the verifier runs; `deselect` does the rest)."""
    if not only:
        return None
    from contracts.checks.pact.requirements import INTERACTION_REQUIREMENTS, pact_interactions

    from .pacts import CHECK_PREFIX, DEBTOR_CONTRACT, PactInteraction, debtor_consumers, debtor_pact_files, pact_digests

    rows = pact_interactions(debtor_pact_files(profile))
    chosen = chooser(only)
    if any(chosen(f"{CHECK_PREFIX} {consumer}: {description}") for consumer, description, _ in rows):
        return None
    interactions = [
        PactInteraction(
            check=f"{CHECK_PREFIX} {consumer}: {description}",
            consumer=consumer,
            description=description,
            requirements=list(INTERACTION_REQUIREMENTS.get(description, ("UNMAPPED",))),
            passed=False,
            evidence=[ONLY_REASON],
            ran=False,
        )
        for consumer, description, _ in rows
    ]
    return PactPart(DEBTOR_CONTRACT, list(debtor_consumers(profile)), pact_digests(profile), 0.0, interactions)


def check_selection(only: Collection[str], profile: str, *, scenarios: bool = True) -> None:
    """Refuse a CHECK that names no check of the profile (with the nearest name), or only scenarios
    when the run leaves the scenarios out."""
    from scenarios.errors import nearest

    known = known_checks(profile)
    for pattern in only:
        matched = [name for name in known if chooser([pattern])(name)]
        if matched and not scenarios and all(name.startswith("scenario ") for name in matched):
            raise SelectionError(f"--only {pattern!r} names scenarios, but --no-scenarios leaves every scenario out")
        if not matched:
            hint = nearest(pattern, known) or nearest("scenario " + pattern, known)
            raise UnknownCheckError(
                f"--only {pattern!r} names no check of {profile}"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + "; checks are named as in the report: schemathesis, a probe, 'pact …', 'scenario <id>'"
            )


def last_failed(folder: Path) -> list[str]:
    """The checks that failed (or ended in error) in the results.json of the report in `folder`."""
    path = folder / "results.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SelectionError(f"--last-failed: no earlier report to read ({path}: {exc})") from exc
    bad = ("failed", "error")
    found = ["schemathesis"] if results.get("fuzz", {}).get("status") in bad else []
    found += [p["name"] for p in results.get("probes", []) if p.get("status") in bad]
    found += [i["check"] for i in results.get("pact", {}).get("interactions", []) if i.get("status") in bad]
    found += [r["check"] for r in (results.get("scenarios") or {}).get("runs", []) if r.get("status") in bad]
    return found
