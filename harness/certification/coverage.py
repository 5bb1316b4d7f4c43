"""Every catalogue requirement in a report: why one that no check of a run decided is not verified.

A report that listed only the requirements its checks cite would look cleaner the less it did: with
`--no-scenarios` some 44 requirements, and even in a full run about a dozen (rules no check of the
harness tests yet, or that only scenarios not applicable to the profile cover), would appear in none of
verified, failed or not verified. The judge (judge.py) gives each of those NOT VERIFIED, with the
reason computed here from what the run did, the checks that test it (a probe, a pact interaction, the
fuzzing — left out of a run that chose only some checks) and the bundled scenarios that cover it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from contracts.checks.fuzz import CHECK_REQUIREMENTS
from contracts.checks.pact import INTERACTION_REQUIREMENTS, pact_interactions
from contracts.profile import profile_capabilities
from contracts.requirements import load_requirements
from scenarios import load_suite
from scenarios.loader import BUNDLED_SUITES

from .judge import CheckOutcome
from .pacts import debtor_pact_files
from .probes import PROBES
from .scenarios import why_not_applicable  # the one rule for which scenarios apply to a profile

NO_CHECK = "no check of the harness tests it yet"
_SHOWN = 3  # scenarios named in a reason before "…"


def _names(ids: list[str]) -> str:
    shown = ", ".join(ids[:_SHOWN])
    return shown + (f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else "")


def _harness_checks(profile: str) -> dict[str, list[str]]:
    """Per requirement, the checks other than scenarios that test it for `profile`: the contract
    fuzzing, the probes and the consumer pacts' interactions."""
    checks: dict[str, list[str]] = {}
    for rid in sorted({rid for cited in CHECK_REQUIREMENTS.values() for rid in cited}):
        checks.setdefault(rid, []).append("schemathesis")
    for name, requirements, _ in PROBES:
        for rid in requirements:
            checks.setdefault(rid, []).append(name)
    for consumer, description, _ in pact_interactions(debtor_pact_files(profile)):
        for rid in INTERACTION_REQUIREMENTS.get(description, ()):
            checks.setdefault(rid, []).append(f"pact {consumer}: {description}")
    return checks


def uncited_reasons(
    profile: str,
    checks: Iterable[CheckOutcome],
    *,
    scenarios_ran: bool,
    absent: Collection[str] = (),
) -> Mapping[str, str]:
    """Each catalogue requirement that applies to `profile` (not in `absent`) and that no check of the
    run cites for it (a check not applicable to the profile cites nothing), with why it is not verified."""
    cited = {rid for check in checks if check.status != "not-applicable" for rid in check.requirements}
    capabilities = profile_capabilities(profile)
    covering: dict[str, list[str]] = {}
    applicable: set[str] = set()
    for scenario in load_suite([BUNDLED_SUITES]):
        if not why_not_applicable(scenario, profile, capabilities):
            applicable.add(scenario.id)
        for rid in scenario.covers:
            covering.setdefault(rid, []).append(scenario.id)
    harness_checks = _harness_checks(profile)
    reasons = {}
    for rid in load_requirements():
        if rid in cited or rid in absent:
            continue
        scenarios = sorted(covering.get(rid, []))
        own = [s for s in scenarios if s in applicable]
        if rid in harness_checks:  # a check that tests it was left out of this run
            reasons[rid] = f"the checks that test it ({_names(harness_checks[rid])}) were not part of this run"
        elif own and not scenarios_ran:
            reasons[rid] = f"only scenarios test it ({_names(own)}), and this run did not run them (--no-scenarios)"
        elif scenarios and not own:
            reasons[rid] = f"only scenarios that do not apply to {profile} test it ({_names(scenarios)})"
        else:
            reasons[rid] = NO_CHECK
    return reasons
