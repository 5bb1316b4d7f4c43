"""An `expect` that cannot come true stops polling once a world of simulators has settled — and not before:
what it saw last is the world's final state (the debtor's callback included), never a state on the way.
A world with a vendor's system in it never settles: there the step polls for its whole `within:`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from harness.scenario_world import SimulatedWorlds
from scenarios import load_scenario, run_scenario
from scenarios.actions.clock_faults import world_settled
from scenarios.events import EventBus, StepFinished
from scenarios.runner import SETTLED
from scenarios.world import Endpoints

PAID = (
    "scenario: settles\ntitle: t\ncovers: [B03-PAY]\nsteps:\n"
    "  - fbs.new_borrower: {as: anna}\n"
    "  - fbs.new_claim: {borrower: anna, type: GEBYR, amount: 120 kr, as: fee}\n"
    "  - engine.cycle: {}\n"
    "  - clock.advance: {days: 1}\n"
    "  - payment.pay: {claim: fee, amount: 120 kr}\n"
    "  - expect:\n      fbs.claim: fee\n      that: {saldoOere: SALDO}\n      within: 120s\n"
)


@pytest.fixture(scope="module")
def worlds() -> Iterator[SimulatedWorlds]:
    started = SimulatedWorlds.start()
    yield started
    started.stop()


def _run(tmp_path: Path, worlds: SimulatedWorlds, saldo: int) -> tuple[Any, list[StepFinished]]:
    file = tmp_path / "settles.scenario.yaml"
    file.write_text(PAID.replace("SALDO", str(saldo)), encoding="utf-8")
    bus, steps = EventBus(), []
    bus.subscribe(lambda event: steps.append(event) if isinstance(event, StepFinished) else None)
    return run_scenario(load_scenario(file), "kmd-opus", worlds, bus), steps  # type: ignore[arg-type]


def test_a_wrong_expectation_fails_once_the_world_has_settled_having_seen_the_final_state(
    tmp_path: Path, worlds: SimulatedWorlds
) -> None:
    result, steps = _run(tmp_path, worlds, saldo=1)
    assert not result.passed
    assert result.message.endswith(SETTLED), result.message  # not "after 120 s": it did not wait that out
    # what it saw is where the world ended: the payment's callback reached the engine and FBS (saldo 0),
    # never the claim still open (12000) as it stood before the debtor's callback arrived
    assert "saldoOere: expected 1, saw 0" in result.message
    assert steps[-1].observed["saldoOere"] == 0


def test_the_right_expectation_still_waits_for_the_callback_and_passes(tmp_path: Path, worlds: SimulatedWorlds) -> None:
    result, steps = _run(tmp_path, worlds, saldo=0)
    assert result.passed, result.message
    assert steps[-1].observed["saldoOere"] == 0


class _NoHttp:
    """A run context whose every call fails the test: deciding "not settled" must need no request."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.world = SimpleNamespace(endpoints=endpoints, engine=SimpleNamespace(down=False, has_work=lambda: False))
        self.profile = "eg"

    def call(self, *_: object, **__: object) -> None:
        raise AssertionError("asked a system")


@pytest.mark.parametrize(
    ("simulated", "test_control"),
    [
        ({"fbs", "psrm", "payment", "kmd-opus"}, frozenset()),  # eg is a vendor's system
        ({"fbs", "psrm", "payment", "kmd-opus", "eg"}, frozenset({"eg"})),  # eg behind its test control
    ],
    ids=["vendor-system", "vendor-test-control"],
)
def test_a_world_with_a_vendors_system_never_settles(simulated: set[str], test_control: frozenset[str]) -> None:
    endpoints = Endpoints(
        "http://fbs",
        "http://psrm",
        "http://payment",
        {"kmd-opus": "http://opus", "eg": "http://eg"},
        simulated=frozenset(simulated),
        test_control=test_control,
    )
    assert world_settled(_NoHttp(endpoints)) is False  # type: ignore[arg-type]


def test_a_callback_reaching_the_engine_of_an_ended_world_is_refused_not_half_stored(worlds: SimulatedWorlds) -> None:
    """A debtor may still be delivering when its world ends; the engine's database is then being removed:
    the late callback gets a 503 problem (the debtor retries on its own schedule), never a 500."""
    world = worlds("settled-late-callback")
    engine = world.engine
    try:
        engine.closed = True  # type: ignore[attr-defined]  # as close() marks it first
        answer = httpx.post(
            f"{engine.url}/daekningafskrivning",
            json={"meddelelseId": "late"},
            headers={"Authorization": f"Bearer {engine.callback_token('eg')}"},
        )
        assert answer.status_code == 503
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "OIR-503-ENGINE-STOPPED"
    finally:
        engine.closed = False  # type: ignore[attr-defined]
        world.close()
