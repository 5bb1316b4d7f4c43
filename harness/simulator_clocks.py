"""The clocks of a scenario world's own simulators, moved in process (`scenarios.world.SimulatorClocks`).

A scenario moves the simulators' clocks at every step of virtual time: 790 of the 1,852 requests of a run
of eg's bundled suite were `PUT /_sim/clock`, each through the HTTP client, uvicorn and FastAPI on both
sides. The simulators of a world the harness starts itself are servers in its own process, so it moves
their clocks directly: on each server's event loop, in turn with the requests that server is handling,
as the handler would run, doing the same work (`clock_moved`). A vendor's system, and a PSRM the harness
did not start, still move over HTTP. These moves are not HTTP exchanges, so a run's HAR evidence no
longer lists them (the simulators never journaled their control plane either).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

from contracts.problems import Problem
from scenarios.errors import ScenarioRunError
from scenarios.world import ClockMoved
from simulators.kernel.control import clock_moved
from simulators.kernel.runtime import SimRuntime

from .servers import ServerError, ServerThread
from .topology import SimulatedWorld

T = TypeVar("T")


class InProcessClocks:
    """The clocks of `world`'s simulators, by the name a scenario gives the system (fbs, psrm, payment,
    a debtor's profile); each move waits at most `timeout_s` for the simulator's jobs to run."""

    def __init__(self, world: SimulatedWorld, timeout_s: float = 30.0) -> None:
        names = {"fbs": "fbs", "psrm": "psrm", "payment": "payment"}
        names.update({profile: f"debtor-{profile}" for profile in world.debtor_urls})
        self._servers: dict[str, ServerThread] = {
            system: world.servers[name] for system, name in names.items() if name in world.servers
        }
        self.timeout_s = timeout_s

    def holds(self, system: str) -> bool:
        return system in self._servers

    def now(self, system: str, session: str) -> datetime:
        async def read(runtime: SimRuntime) -> datetime:
            return runtime.sessions.get(session).clock.now()

        return self._on_loop(system, read, "did not tell its clock")

    def move(self, system: str, session: str, instant: datetime) -> ClockMoved:
        async def move(runtime: SimRuntime) -> ClockMoved:
            answer = await clock_moved(runtime, runtime.sessions.get(session), instant)
            return ClockMoved(answer.jobsRun, answer.quietUntil, answer.nextCallAt)

        try:
            return self._on_loop(system, move, f"did not move its clock to {instant.isoformat()}")
        except Problem as exc:
            raise ScenarioRunError(f"{system} control plane refused PUT /_sim/clock: {exc.body()}") from exc

    def _on_loop(self, system: str, work: Callable[[SimRuntime], Coroutine[Any, Any, T]], failing: str) -> T:
        """`work` on the simulator's runtime, run on its server's loop (the session is looked up, or made,
        there too); a server that is not running or does not finish in time is a ScenarioRunError."""
        server = self._servers[system]
        try:
            return server.run_in_loop(work(server.app.state.sim), self.timeout_s)
        except ServerError as exc:
            raise ScenarioRunError(f"{system} {failing}: {exc}") from exc
