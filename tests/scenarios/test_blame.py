"""Blame where the evidence is: a failing step blames the requirements it asserts (its step-level
`covers:`), not every requirement of its scenario. A debtor that loses its callbacks fails the callback
requirement of "annulment closes the account" — and not B01-ANNUL, which the debtor did honour."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.scenario_world import SimulatedWorlds
from scenarios import Scenario, ScenarioResult, load_scenario, run_scenario
from scenarios.events import EventBus, ScenarioFinished
from scenarios.reporters import Recorder, write_folder
from scenarios.runner import blame
from scenarios.schema import build_schema

# One worker builds the module's expensive fixtures (scoped to the module) once for all its tests;
# with --dist loadgroup spread over two workers, each would compute them again.
pytestmark = pytest.mark.xdist_group("blame-worlds")

SUITES = Path(__file__).resolve().parents[2] / "scenarios" / "suites"
ANNULMENT = SUITES / "callbacks" / "annulment-closes-the-account.scenario.yaml"


@pytest.fixture(scope="module")
def annulment() -> Scenario:
    return load_scenario(ANNULMENT)


def test_the_annulment_scenarios_steps_say_what_they_assert(annulment: Scenario) -> None:
    covers = {step.line: step.covers for step in annulment.steps if step.covers}
    assert list(covers.values()) == [("B01-ANNUL", "FBS-FEED"), ("B01R-ACCOUNT-CLOSED",)]
    assert set(annulment.covers) == {rid for step in covers.values() for rid in step}


def test_blame_goes_to_the_failing_steps_covers(annulment: Scenario) -> None:
    *_, annulled, told = annulment.steps
    # the callback never came: the debtor's annulment was shown by the step before
    assert blame(annulment, told) == (("B01R-ACCOUNT-CLOSED",), ())
    # the annulment itself failed: the callback was never got to — not verified, not failed
    assert blame(annulment, annulled) == (("B01-ANNUL", "FBS-FEED"), ("B01R-ACCOUNT-CLOSED",))
    # a step that asserts nothing of its own (an act) blames what no passed step proved: here everything
    assert blame(annulment, annulment.steps[0]) == (annulment.covers, ())
    assert blame(annulment, None) == (annulment.covers, ())  # its world was never made


def test_step_covers_are_in_the_scenario_schema() -> None:
    schema = build_schema()
    expect = schema["properties"]["steps"]["items"]["properties"]["expect"]
    assert expect["properties"]["covers"]["items"] == {"type": "string"}
    act = schema["$defs"]["fbs.annul"]["anyOf"][0]
    assert act["properties"]["covers"]["type"] == "array"


@pytest.fixture(scope="module")
def lost_callback(
    tmp_path_factory: pytest.TempPathFactory, annulment: Scenario
) -> Iterator[tuple[ScenarioResult, Path]]:
    """The annulment scenario against EG's simulator that never delivers a callback (drop_callbacks)."""
    recorder = Recorder()
    finished: list[ScenarioFinished] = []
    bus = EventBus()
    bus.subscribe(recorder)
    bus.subscribe(lambda event: finished.append(event) if isinstance(event, ScenarioFinished) else None)
    worlds = SimulatedWorlds.start(debtor_settings={"misbehaviour": "drop_callbacks"})
    try:
        result = run_scenario(annulment, "eg", worlds, bus)
    finally:
        worlds.stop()
    folder = tmp_path_factory.mktemp("lost-callback")
    write_folder(list(recorder.records.values()), folder)
    assert len(finished) == 1 and finished[0].blamed == result.blamed
    yield result, folder


def test_a_lost_callback_fails_the_callback_requirement_and_not_the_annulment(
    lost_callback: tuple[ScenarioResult, Path],
) -> None:
    result, folder = lost_callback
    assert not result.passed and "kontoLukket" in result.message
    assert result.blamed == ("B01R-ACCOUNT-CLOSED",) and result.unproven == ()
    report = json.loads((folder / "results.json").read_text())
    coverage = {row["id"]: row["outcome"] for row in report["coverage"]}
    assert coverage == {"B01-ANNUL": "verified", "FBS-FEED": "verified", "B01R-ACCOUNT-CLOSED": "failed"}
    [record] = report["results"]
    assert record["blamed"] == ["B01R-ACCOUNT-CLOSED"]
    assert [s["covers"] for s in record["steps"] if s["covers"]] == [["B01-ANNUL", "FBS-FEED"], ["B01R-ACCOUNT-CLOSED"]]
    html = (folder / "index.html").read_text()
    assert "Fails B01R-ACCOUNT-CLOSED" in html
