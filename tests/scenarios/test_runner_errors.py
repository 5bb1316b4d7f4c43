"""A scenario whose world cannot be set up (a system refused the harness's set-up call) ends as an error
with the reason, announced like any other end; nothing escapes as a traceback."""

from __future__ import annotations

from pathlib import Path

from scenarios import load_scenario, run_scenario
from scenarios.events import Event, EventBus, ScenarioFinished
from scenarios.world import ScenarioWorld

SUITES = Path(__file__).resolve().parents[2] / "scenarios" / "suites"
SCENARIO = SUITES / "routing" / "fee-to-the-right-debtor.scenario.yaml"


def test_a_world_that_cannot_be_set_up_is_an_error_with_its_reason() -> None:
    def refusing_world(session: str) -> ScenarioWorld:
        raise RuntimeError("PATCH /_sim/settings answered 503")

    finished: list[ScenarioFinished] = []
    bus = EventBus()

    def keep(event: Event) -> None:
        if isinstance(event, ScenarioFinished):
            finished.append(event)

    bus.subscribe(keep)
    result = run_scenario(load_scenario(SCENARIO), "kmd-opus", refusing_world, bus)
    assert (result.outcome, result.passed) == ("error", False)
    assert result.message == "the world could not be set up: PATCH /_sim/settings answered 503"
    assert [(e.scenario, e.outcome) for e in finished] == [("fee-to-the-right-debtor", "error")]
