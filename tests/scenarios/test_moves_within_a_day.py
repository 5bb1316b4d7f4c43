"""A world moving over the quiet steps of a move within a day in one step ends as one moving step by step.

`clock.advance` in hours or minutes cycles the engine at each step, as a running engine would. Where no
lockstep simulator may call another system (its `nextCallAt`, a callback to the engine included) and the
engine has nothing due, it moves in one step to the first step at which something can happen. Each
scenario here runs twice — jumping, and with the jumps switched off — and what every system recorded,
with its virtual time, and the engine's outbox must be the same; the jumping run moves the clock less.

The same comparison holds the harness's in-process clock moves (`harness.simulator_clocks`) to the
`PUT /_sim/clock` requests they replace in a world of simulators alone.
"""

from __future__ import annotations

import gc
import re
import weakref
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import wire_client
from harness.scenario_world import InProcessEngine, SimulatedWorlds
from scenarios import load_scenario, run_scenario
from scenarios.actions import clock_faults
from scenarios.errors import ScenarioRunError
from scenarios.events import EventBus, HttpExchange
from scenarios.world import ScenarioWorld
from simulators.kernel.runtime import SimRuntime
from tests.support.client import wait_until
from tests.support.ids import without_uuids

SUITES = Path(__file__).resolve().parents[2] / "scenarios" / "suites"
PROFILE = "kmd-opus"

# Engine retries within minutes, a debtor callback retried after a minute, PSRM's receipt fetched in minutes,
# and one written here: a day in hours, with a reminder at midnight, a callback retried on the debtor's
# backoff and the engine's registration retried on its own.
_A_DAY_IN_HOURS = """\
scenario: a-day-in-hours
title: t
covers: [MSG-RETRY-HARMLESS]
steps:
  - fbs.new_borrower: {as: gorm}
  - fbs.new_claim: {borrower: gorm, type: GEBYR, amount: 120 kr, as: fee}
  - faults.add: {system: debtor, operation: OpretDebitorkonto, kind: error, http_status: 503, count: 3}
  - clock.advance: {hours: 5}
  - faults.add: {system: debtor, operation: callback.DaekningAfskrivning, kind: fail_callback, count: 2}
  - debtor.bank_payment: {claim: fee, amount: 50 kr}
  - clock.advance: {hours: 20}
  - clock.advance: {days: 13}
  - clock.advance: {hours: 23, step: hour}
  - expect:
      fbs.claim: fee
      that: {posteringer.*.beloebOere: [5000]}
"""


@pytest.fixture(scope="module")
def worlds() -> Iterator[SimulatedWorlds]:
    started = SimulatedWorlds.start()
    yield started
    started.stop()


class _Recording:
    """A world factory that, before each world closes, keeps what its systems recorded (no ids); with
    `over_http`, its simulators' clocks move by `PUT /_sim/clock`, not in process."""

    def __init__(self, worlds: SimulatedWorlds, *, over_http: bool = False) -> None:
        self.worlds = worlds
        self.over_http = over_http
        self.seen: dict[str, Any] = {}

    def __call__(self, session: str) -> ScenarioWorld:
        world = self.worlds(session)
        if self.over_http:
            world = replace(world, clocks=None)
        close = world.engine.close

        def recorded_close() -> None:
            # the scenario may end while a message due at its last instant is still going out (its last `expect`
            # matched first): what is compared is what the systems hold once the engine has nothing due
            for _ in range(50):
                if not world.engine.has_work():
                    break
                world.engine.cycle()
            self.seen = self._what_was_recorded(world)
            close()

        world.engine.close = recorded_close  # type: ignore[method-assign]
        return world

    def _what_was_recorded(self, world: ScenarioWorld) -> dict[str, Any]:
        seen: dict[str, Any] = {"engine": without_uuids(repr(world.engine.outbox(None)))}
        systems = {"fbs": world.endpoints.fbs, "psrm": world.endpoints.psrm, PROFILE: world.endpoints.debtors[PROFILE]}
        for system, url in systems.items():
            answer = wire_client.control(url, "GET", "/journal", token=world.endpoints.token, session=world.session)
            entries = answer.raise_for_status().json()["entries"]
            # every call but the reads a scenario's `within` or the engine's cycles may make any number of times;
            # sorted, since the engine delivers concurrently: two calls at one virtual instant (a posting and a
            # status message of different claims) reach a system in either order, and each keeps its time
            calls = [
                (
                    e["at"],
                    e["direction"],
                    e["method"],
                    _path(e["path"]),
                    e["operation"],
                    e["status"],
                    _path(repr(e["requestBody"])),
                )
                for e in entries
                if not _polled(system, e)
            ]
            seen[system] = sorted(calls, key=repr)  # repr: a status may be None (a dropped connection)
        return seen


def _polled(system: str, entry: dict[str, Any]) -> bool:
    """A read the scenario's polling (the harness's `sim…` queries) or the engine's cycles (FBS) made."""
    reads = entry["method"] == "GET" and entry["direction"] == "in"
    return reads and (system == "fbs" or str(entry["operation"]).startswith("sim"))


def _path(url: str) -> str:
    """A path without ids or the host (each world's engine listens on a port of its own)."""
    return without_uuids(re.sub(r"https?://[^/]+", "", url))


def _run(worlds: SimulatedWorlds, file: Path, *, over_http: bool = False) -> tuple[dict[str, Any], int, int]:
    """Run one scenario; what the systems recorded, how many times a simulator's clock was moved, and how
    many of those moves (the scenario's start included) were `PUT /_sim/clock` requests."""
    recording = _Recording(worlds, over_http=over_http)
    bus = EventBus()
    puts: list[HttpExchange] = []
    bus.subscribe(
        lambda e: (
            puts.append(e)
            if isinstance(e, HttpExchange) and e.method == "PUT" and e.url.endswith("/_sim/clock")
            else None
        )
    )
    moves = 0
    set_clock = clock_faults.set_clock

    def counted(*args: Any) -> Any:
        nonlocal moves
        moves += 1
        return set_clock(*args)

    clock_faults.set_clock = counted  # type: ignore[assignment]
    try:
        result = run_scenario(load_scenario(file), PROFILE, recording, bus)
    finally:
        clock_faults.set_clock = set_clock  # type: ignore[assignment]
    assert result.passed, result.message
    return recording.seen, moves, len(puts)


def _step_by_step(_ctx: Any, _current: datetime, step: timedelta, *_: Any) -> timedelta:
    return step


@pytest.fixture
def a_day_in_hours(tmp_path: Path) -> Path:
    file = tmp_path / "a-day-in-hours.scenario.yaml"
    file.write_text(_A_DAY_IN_HOURS, "utf-8")
    return file


@pytest.mark.parametrize(
    "scenario",
    [
        "resilience/debtor-outage.scenario.yaml",
        "callbacks/out-of-order-callbacks.scenario.yaml",
        "psrm/slow-receipt-beyond-answer-time.scenario.yaml",
        "a-day-in-hours",
    ],
)
def test_jumping_over_quiet_steps_changes_nothing_any_system_recorded(
    worlds: SimulatedWorlds, monkeypatch: pytest.MonkeyPatch, a_day_in_hours: Path, scenario: str
) -> None:
    file = a_day_in_hours if scenario == "a-day-in-hours" else SUITES / scenario
    jumping, jumping_moves, _ = _run(worlds, file)
    with monkeypatch.context() as patch:
        patch.setattr(clock_faults, "_next_small_step", _step_by_step)
        walking, walking_moves, _ = _run(worlds, file)
    assert jumping == walking
    assert any(len(entries) > 3 for entries in jumping.values())  # there was something to compare
    assert jumping_moves < walking_moves, (jumping_moves, walking_moves)


def _debtor_late(monkeypatch: pytest.MonkeyPatch) -> None:
    promised = SimRuntime.next_call

    def late(self: SimRuntime, session: Any) -> datetime | None:
        instant = promised(self, session)
        return (
            instant + timedelta(minutes=7) if instant is not None and self.spec.name.startswith("debtor") else instant
        )

    monkeypatch.setattr(SimRuntime, "next_call", late)


def _engine_late(monkeypatch: pytest.MonkeyPatch) -> None:
    promised = InProcessEngine.next_work_at

    def late(self: InProcessEngine) -> datetime | None:
        instant = promised(self)
        return instant + timedelta(minutes=7) if instant is not None else instant

    monkeypatch.setattr(InProcessEngine, "next_work_at", late)


@pytest.mark.parametrize(
    ("scenario", "late", "differs"),
    [
        # the receipt fetched later than the debtor said finds PSRM on a later step
        ("psrm/slow-receipt-beyond-answer-time.scenario.yaml", _debtor_late, "psrm"),
        # the registration retried later than the engine said finds the debtor on a later step
        ("resilience/debtor-outage.scenario.yaml", _engine_late, PROFILE),
    ],
)
def test_a_promise_broken_by_minutes_is_seen(
    worlds: SimulatedWorlds, monkeypatch: pytest.MonkeyPatch, scenario: str, late: Any, differs: str
) -> None:
    """The comparison above is not blind: where a debtor's `nextCallAt`, or the engine's next work, is
    seven minutes late, the jumping world records its calls at other virtual times than the walking one."""
    with monkeypatch.context() as patch:
        patch.setattr(clock_faults, "_next_small_step", _step_by_step)
        walking, _, _ = _run(worlds, SUITES / scenario)
    late(monkeypatch)
    broken, _, _ = _run(worlds, SUITES / scenario)
    assert broken[differs] != walking[differs]


@pytest.mark.parametrize(
    "scenario",
    [
        "resilience/debtor-outage.scenario.yaml",
        "psrm/slow-receipt-beyond-answer-time.scenario.yaml",
        "calendar/business-days-over-christmas.scenario.yaml",
        "a-day-in-hours",
    ],
)
def test_clocks_moved_in_process_change_nothing_any_system_recorded(
    worlds: SimulatedWorlds, a_day_in_hours: Path, scenario: str
) -> None:
    """Each simulator's jobs run on its own loop as the request's handler would run them: a world whose
    clocks move in process records what one moving them over HTTP does, and sends no `PUT /_sim/clock`."""
    file = a_day_in_hours if scenario == "a-day-in-hours" else SUITES / scenario
    in_process, moves, puts = _run(worlds, file)
    over_http, http_moves, http_puts = _run(worlds, file, over_http=True)
    assert in_process == over_http
    assert any(len(entries) > 3 for entries in in_process.values())  # there was something to compare
    assert moves == http_moves > 0
    assert puts == 0
    assert http_puts >= http_moves  # every move a request (the scenario's start too, where it sets one)


def test_a_clock_moved_in_process_backwards_is_refused_as_the_control_plane_refuses_it(
    worlds: SimulatedWorlds,
) -> None:
    world = worlds("backwards-in-process")
    try:
        assert world.clocks is not None and world.clocks.holds("psrm") and not world.clocks.holds("nowhere")
        ahead = world.clocks.move("psrm", world.session, datetime(2031, 1, 2, tzinfo=UTC))
        assert ahead.jobs >= 0
        with pytest.raises(
            ScenarioRunError, match=r"psrm control plane refused PUT /_sim/clock: .*OIR-409-CLOCK-BACKWARDS"
        ):
            world.clocks.move("psrm", world.session, datetime(2031, 1, 1, tzinfo=UTC))
        now = wire_client.control(
            world.endpoints.psrm, "GET", "/clock", token=world.endpoints.token, session=world.session
        )
        assert datetime.fromisoformat(now.json()["now"]) == datetime(2031, 1, 2, tzinfo=UTC)  # not moved back
        assert world.clocks.now("psrm", world.session) == datetime(2031, 1, 2, tzinfo=UTC)
    finally:
        world.close()


def test_a_closed_world_leaves_no_session_behind_in_any_simulator(worlds: SimulatedWorlds) -> None:
    """A process runs hundreds of worlds: each one's sessions are dropped when it closes, in every
    simulator (the debtors it never used included), so memory and garbage collection stay flat."""
    file = SUITES / "resilience/debtor-outage.scenario.yaml"
    before = {name: set(server.app.state.sim.sessions.ids()) for name, server in worlds.world.servers.items()}
    _run(worlds, file)
    after = {name: set(server.app.state.sim.sessions.ids()) for name, server in worlds.world.servers.items()}
    assert after == before, {name: after[name] - before[name] for name in after}
    assert len(after) == 8  # FBS, PSRM, the payment solution and five debtors


def test_a_closed_world_leaves_no_engine_behind_in_the_process(worlds: SimulatedWorlds) -> None:
    """Nor its engine: FastAPI keeps every endpoint function it has seen in module-wide caches, so an
    engine API whose endpoints closed over their engine kept every world's engine, routing table and
    compiled statements alive (1,800 objects a run, each garbage collection walking them all)."""
    world = worlds("engine-left-behind")
    gone = weakref.ref(world.engine.engine)  # type: ignore[attr-defined]
    for path in ("/health", "/metrics", "/openapi.json"):
        assert httpx.get(world.engine.url + path, timeout=10).status_code == 200, path
    world.close()
    del world

    def freed() -> bool:  # the engine API's server thread winds down in the background
        gc.collect()
        return gone() is None

    try:
        wait_until(freed, timeout=5, what="the closed world's engine to be freed")
    except AssertionError as exc:
        engine = gone()
        held_by = [type(r).__name__ for r in gc.get_referrers(engine)] if engine is not None else []
        raise AssertionError(f"{exc}; still referred to by {held_by}") from None
