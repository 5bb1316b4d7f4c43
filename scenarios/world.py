"""What a scenario needs from the world it runs in, as a protocol the harness fulfils.

The scenario package reaches FBS, the debtor systems, PSRM and the payment solution over HTTP only,
so the same scenario can run against a vendor's real debtor system. The engine is reached through an
`EngineHandle` the harness provides: stepping it one cycle, reconciling, migrating, and simulating a
crash are operations on the real engine, on virtual time. The clocks of a world's own simulators (the
harness's servers, in its process) may be moved through `SimulatorClocks`: the same work as their
`PUT /_sim/clock`, without the round trip that was 43 % of a scenario's requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol


class EngineHandle(Protocol):
    """The integration engine of one scenario run (its own database, its own callback API)."""

    @property
    def url(self) -> str:
        """Where debtor systems deliver DækningAfskrivning callbacks."""

    def callback_token(self, profile: str) -> str: ...
    def set_clock(self, instant: datetime) -> None: ...
    def cycle(self) -> dict[str, Any]: ...
    def has_work(self) -> bool:
        """Could a cycle now do anything: did the last one do something (what it sent may have made more), or
        is a message due? False only where a cycle would read nothing new and send nothing."""

    def next_work_at(self) -> datetime | None:
        """The first instant `has_work` may be true: now while it is; else when the first pending message
        falls due; None when nothing is pending."""

    def crash_during_cycle(self, after_sends: int) -> dict[str, Any]: ...
    def crash_at_callback_intake(self) -> dict[str, Any]:
        """The next callback the engine accepts is stored, then the engine dies before answering and restarts."""

    def reconcile(self) -> dict[str, Any]: ...
    def migrate(
        self, lines: list[dict[str, Any]], *, dry_run: bool, feed_from: str | None = None
    ) -> dict[str, Any]: ...
    def outbox(self, claim_id: str | None) -> list[dict[str, Any]]: ...
    def go_down(self) -> None:
        """The engine process stops: its callback API refuses connections, it does not cycle."""

    def come_up(self) -> None:
        """The engine starts again on the same address, from its database."""

    @property
    def down(self) -> bool: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class ClockMoved:
    """What a simulator said as its clock moved (the fields of its `PUT /_sim/clock` answer)."""

    jobs: int  # the jobs that ran on the way
    quiet_until: date | None  # the first day its jobs may call another system; None: no promise
    next_call: datetime | None  # the first instant its jobs may call any system; None: no promise


class SimulatorClocks(Protocol):
    """Moves the clocks of the world's own simulators in process, in turn with the requests they serve
    (what `PUT /_sim/clock` does). A refusal (backwards, too far) or a simulator that is not running is a
    `ScenarioRunError`. Systems it does not hold, a vendor's above all, are moved over HTTP."""

    def holds(self, system: str) -> bool: ...
    def now(self, system: str, session: str) -> datetime:
        """The session's virtual time at `system` (what `GET /_sim/clock` answers)."""

    def move(self, system: str, session: str, instant: datetime) -> ClockMoved: ...


@dataclass
class Endpoints:
    """Base URLs of the systems around the engine, and the bearer tokens the harness holds."""

    fbs: str
    psrm: str
    payment: str
    debtors: dict[str, str]  # by vendor profile
    token: str = "oir-dev-token"  # for every system without a token of its own
    simulated: frozenset[str] = field(default_factory=frozenset)  # systems that are simulators
    tokens: dict[str, str] = field(default_factory=dict)  # by system ("fbs", a profile, …): a vendor's own
    timeout_s: float = 30.0  # how long a scenario's own calls wait for an answer (a vendor: what its profile allows)
    # Vendors' systems that offer test control (`oir-testkontrol-v1`): the clock, bank transfers and what
    # the system sent go through it, as the simulators' own do through `/_sim/` and `/simulering/`.
    test_control: frozenset[str] = field(default_factory=frozenset)
    # A simulator session other than the world's for a system: the PSRM a vendor's system hands over to
    # hears no session from it (its default one), so the world's steps at PSRM must look there too.
    sessions: dict[str, str] = field(default_factory=dict)

    def token_for(self, system: str) -> str:
        return self.tokens.get(system, self.token)

    def offers_test_control(self, system: str) -> bool:
        return system in self.test_control


@dataclass
class ScenarioWorld:
    """One isolated world: a fresh simulator session on every system and a fresh engine."""

    endpoints: Endpoints
    session: str
    engine: EngineHandle
    # Mixed into every scenario's seed for its people: 0 replays the same people each run; a vendor's
    # real system keeps what earlier runs registered, so a run against one needs people of its own.
    data_salt: int = 0
    # The composition pointed every simulated debtor's callbacks at this world's engine as it made the world
    # (in process, its own simulators); else the runner does, with `PATCH /_sim/settings` on each.
    callbacks_set: bool = False
    # The clocks of the world's own simulators, moved in process; None: every clock moves over HTTP.
    clocks: SimulatorClocks | None = None

    def close(self) -> None:
        self.engine.close()


class WorldFactory(Protocol):
    def __call__(self, session: str) -> ScenarioWorld: ...


class WorldProvider(Protocol):
    """What the pytest plugin and `oir run` need from the composition: profiles, their
    capabilities, and worlds (started lazily, once per process)."""

    profiles: tuple[str, ...]

    def capabilities(self, profile: str) -> frozenset[str]: ...
    def factory(self) -> WorldFactory: ...
    def stop(self) -> None: ...
