"""Each scenario can fail: with any one debtor behaviour broken, the bundled suite catches it.

For every misbehaviour switch of the debtor simulator, the suite runs (against KMD Opus, the profile
with every capability) in worlds where that switch is on, until a scenario fails; the test names it.
The same scenarios pass with no switch on (the suite itself shows that).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.profile import profile_capabilities
from harness.scenario_world import SimulatedWorlds
from scenarios import Scenario, load_suite, run_scenario
from scenarios.events import EventBus
from simulators.debtor.misbehaviour import MISBEHAVIOURS

SUITES = Path(__file__).resolve().parents[2] / "scenarios" / "suites"
PROFILE = "kmd-opus"

# The scenario that caught each switch when the whole suite last ran in file order, tried first so the test
# does not run the scenarios before it (error_500_on_bad_input was caught after 24 s). Any scenario of the
# suite may catch a switch: where this one no longer does, the rest of the suite runs as before.
CAUGHT_BEFORE = {
    "count_payment_twice": "duplicated-callback-posted-once",
    "deadlines_on_closed_days": "deadline-on-christmas-eve",
    "drop_callbacks": "business-days-over-christmas",
    "drop_every_second_callback": "account-closure",
    "drop_payment_on_gone_claim": "payment-on-an-annulled-claim",
    "error_500_on_bad_input": "malformed-cpr-and-amounts",
    "handover_before_srb": "annulment-after-handover",
    "ignore_annulment": "annulment-closes-the-account",
    "ignore_claim_history": "go-live-with-history",
    "ignore_liability_change": "cpr-change",
    "ignore_payment_hold": "payment-hold-until-a-closed-day",
    "ignore_write_down": "write-down-after-handover",
    "no_interest": "interest",
    "no_psrm_write_down_after_direct_payment": "direct-payment-after-handover",
    "unreported_write_offs": "write-off-reaches-fbs",
}


@pytest.fixture(scope="module")
def worlds() -> Iterator[SimulatedWorlds]:
    started = SimulatedWorlds.start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def suite() -> list[Scenario]:
    capabilities = profile_capabilities(PROFILE)
    return [s for s in load_suite([SUITES]) if s.applies_to(PROFILE, capabilities)]


def first_failure(worlds: SimulatedWorlds, suite: list[Scenario], switch: str | None) -> tuple[str, str] | None:
    worlds.debtor_settings = {"misbehaviour": switch} if switch else {}
    first = CAUGHT_BEFORE.get(switch or "")
    try:
        for scenario in sorted(suite, key=lambda s: s.id != first):  # stable: the rest in file order
            result = run_scenario(scenario, PROFILE, worlds, EventBus())
            if not result.passed:
                return scenario.id, result.message
        return None
    finally:
        worlds.debtor_settings = {}


@pytest.mark.parametrize("switch", sorted(MISBEHAVIOURS))
def test_the_suite_catches_the_switch(
    worlds: SimulatedWorlds, suite: list[Scenario], switch: str, record_property: pytest.RecordProperty
) -> None:
    caught = first_failure(worlds, suite, switch)
    assert caught is not None, f"no scenario fails when the debtor {MISBEHAVIOURS[switch]}"
    scenario, message = caught
    record_property("caught_by", scenario)
    print(f"{switch}: caught by {scenario}: {message}")  # shown with -s / -rP; the JUnit file keeps caught_by


def test_a_switch_breaks_only_what_it_says(worlds: SimulatedWorlds, suite: list[Scenario]) -> None:
    """The switch that breaks annulments leaves an ordinary registration alone (no switch breaks everything)."""
    routing = next(s for s in suite if s.id == "fee-to-the-right-debtor")
    worlds.debtor_settings = {"misbehaviour": "ignore_annulment"}
    try:
        assert run_scenario(routing, PROFILE, worlds, EventBus()).passed
    finally:
        worlds.debtor_settings = {}
