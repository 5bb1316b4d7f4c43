"""The debtor rules DOMAIN.md gained, each shown by its bundled scenario and shown to fail when the debtor
simulator breaks it (its misbehaviour switch), so the scenario is not one that passes whatever happens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.scenario_world import SimulatedWorlds
from scenarios import load_scenario, run_scenario
from scenarios.events import EventBus

SUITES = Path(__file__).resolve().parents[2] / "scenarios" / "suites"


@pytest.fixture(scope="module")
def worlds() -> Iterator[SimulatedWorlds]:
    started = SimulatedWorlds.start()
    yield started
    started.stop()


@pytest.mark.parametrize(
    ("scenario_file", "switch", "where"),
    [
        ("calendar/deadline-on-christmas-eve.scenario.yaml", "deadlines_on_closed_days", "2026-12-28"),
        ("migration/go-live-with-history.scenario.yaml", "ignore_claim_history", "rykkere: expected len 1, saw []"),
        ("callbacks/engine-down-while-callbacks-arrive.scenario.yaml", "drop_callbacks", "leveret: expected exists"),
        ("callbacks/write-off-reaches-fbs.scenario.yaml", "unreported_write_offs", "saldoOere: expected 7000"),
    ],
)
def test_the_rule_holds_and_its_scenario_catches_the_debtor_that_breaks_it(
    worlds: SimulatedWorlds, scenario_file: str, switch: str, where: str
) -> None:
    scenario = load_scenario(SUITES / scenario_file)
    assert run_scenario(scenario, "kmd-opus", worlds, EventBus()).passed
    worlds.debtor_settings = {"misbehaviour": switch}
    try:
        broken = run_scenario(scenario, "kmd-opus", worlds, EventBus())
    finally:
        worlds.debtor_settings = {}
    assert not broken.passed
    assert where in broken.message, broken.message
