"""Worlds for scenarios: the running simulators, and for each scenario a fresh session on all of them
plus a fresh, real integration engine (its own SQLite database, its own callback API on 127.0.0.1).

The engine runs in this process on a clock that follows the world's virtual time, so scenarios can
step it one cycle at a time; a crash is simulated where it hurts most — after the peer answered,
before the engine recorded the answer — and the engine is then rebuilt from its database alone.

A vendor's real debtor system can stand in for its profile's simulator (`VendorSystem`). It keeps
what every run registers and lives in real time, so then each world numbers FBS's borrowers and
claims in a series of its own, makes people of its own, puts the simulators' clocks at the real
time, and reaches the engine through the certification's callback relay — the one callback URL
the vendor configured — which forwards the world's messages to the world's engine.

A vendor whose test system offers test control (`oir-testkontrol-v1`) lives on its own business date
instead: each world starts at it (FBS, the payment solution, the other debtors and PSRM put there), and
the scenario's clock moves it, PSRM and the engine together. Its handovers reach PSRM without a session,
so the world looks at PSRM's default session, whose settings and faults each world resets.
"""

from __future__ import annotations

import gc
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import bindparam, func, select

from contracts import wire_client
from contracts.municipalities import for_vendor
from contracts.problems import Problem, problem_response
from contracts.profile import PROFILE_NAMES
from integration import Engine, EngineSettings
from integration.store import OutboxMessage, open_store
from scenarios.world import Endpoints, ScenarioWorld

from .callback_relay import CallbackRelay
from .servers import ServerThread
from .simulator_clocks import InProcessClocks
from .topology import SimulatedWorld, start_world


@dataclass(frozen=True)
class VendorSystem:
    """A vendor's own debtor system, in place of its profile's simulator in every world."""

    profile: str
    url: str
    token: str  # the engine's (and the payment solution's) credential there
    callback_token: str  # what the vendor's system sends with its callbacks
    psrm_url: str  # the PSRM it is configured to hand over to
    relay: CallbackRelay  # stands at the callback URL it is configured with
    timeout_s: float = 30.0  # how long the engine waits for its answers (certification: what the profile allows)
    test_control: bool = False  # its test system offers oir-testkontrol-v1 (the vendor declares it)

    def business_time(self) -> datetime:
        """The instant its business clock is at, read through its test control."""
        response = httpx.get(
            self.url + wire_client.TEST_CONTROL + "/forretningsdato",
            headers=wire_client.credentials(self.token),
            timeout=10,
        )
        response.raise_for_status()
        return datetime.fromisoformat(response.json()["tidspunkt"])


PSRM_SESSION = "default"  # the PSRM session a vendor's system, which sends none, is served from


class SimulatedCrash(BaseException):
    """The engine process 'dies' here: nothing after this point of the cycle happens.

    A BaseException, so no `except Exception` in the engine can swallow it, as none could swallow a SIGKILL.
    """


class _CrashingTransport(httpx.BaseTransport):
    """Lets `after` writes through, then lets the next one reach the peer and crashes on its answer."""

    def __init__(self, inner: httpx.BaseTransport, after: int) -> None:
        self.inner = inner
        self.after = after
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method != "GET":
            self.sent += 1
            if self.sent > self.after:
                response.read()  # the peer has answered; the engine never records it
                raise SimulatedCrash(f"simulated crash after {self.after} answered writes")
        return response


# What a closed world's engine answers: a debtor may still be delivering as the world ends, and the
# engine's database is being removed; a 503 is retried on the debtor's own schedule, never half-stored.
_ENGINE_STOPPED = Problem(503, "OIR-503-ENGINE-STOPPED", "The engine has stopped", "its scenario world has ended")


class _CrashAtIntake:
    """ASGI wrapper of the engine's callback API for `engine.crash: {at: callback_intake}`: once armed, the
    next callback the engine accepts is taken in — stored and committed — and then the process 'dies'
    before its answer leaves (the debtor sees no 2xx and delivers again); the engine restarts from its
    database. The point where it hurts most: a naive engine would count the redelivery a second time.
    Once the world has closed, it answers every request `_ENGINE_STOPPED`."""

    def __init__(self, app: Any, owner: InProcessEngine) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.owner.closed:
            await problem_response(_ENGINE_STOPPED)(scope, receive, send)
            return
        if scope["type"] != "http" or scope["method"] != "POST" or not self.owner.intake_crash_armed:
            await self.app(scope, receive, send)
            return
        self.owner.intake_crash_armed = False  # one event loop: no other request sees it armed now
        held: list[dict[str, Any]] = []

        async def hold(message: dict[str, Any]) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        if not any(m["type"] == "http.response.start" and m["status"] == 202 for m in held):
            self.owner.intake_crash_armed = True  # a refusal is no intake: the crash waits for one
            for message in held:
                await send(message)
            return
        self.owner.restart_after_intake_crash()
        raise RuntimeError("simulated crash at callback intake: the answer never left")  # the debtor sees a 500


class _WorldClock:
    """The engine's clock in a scenario: it reads the world's virtual time.

    In a world with a vendor's real system, time also passes between the steps the scenario sets it
    (`follows_real_time`), as it does for that system: the engine's retry backoffs fall due.
    """

    def __init__(self, start: datetime, follows_real_time: bool = False) -> None:
        self._now = start
        self._follows = follows_real_time
        self._set_at = time.monotonic()  # real time: how long ago the world's time was set

    def now(self) -> datetime:
        if self._follows:
            return self._now + timedelta(seconds=time.monotonic() - self._set_at)
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = instant
        self._set_at = time.monotonic()


# A message the engine would send now (see InProcessEngine.has_work).
_DUE_MESSAGE = (
    select(OutboxMessage.id)
    .where(OutboxMessage.status == "PENDING", OutboxMessage.next_attempt_at <= bindparam("now"))
    .limit(1)
)
_FIRST_DUE = select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == "PENDING")


class InProcessEngine:
    """The real engine for one scenario, with a database of its own."""

    def __init__(
        self,
        folder: Path,
        template: Path,
        endpoints: Endpoints,
        session: str,
        *,
        callback_tokens: dict[str, str] | None = None,
        on_close: Callable[[], None] | None = None,
        real_time: bool = False,
        route_overrides: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.folder = folder
        self.database = folder / "engine.sqlite"
        shutil.copyfile(template, self.database)  # an already-migrated schema: no Alembic run per scenario
        self.url_db = f"sqlite:///{self.database}"
        self.tokens = {profile: f"callback-{profile}-{session[-8:]}" for profile in endpoints.debtors}
        self.tokens.update(callback_tokens or {})  # a vendor's system sends the token it was configured with
        self.on_close = on_close
        self.clock = _WorldClock(datetime.fromisoformat("2026-01-05T09:00:00+01:00"), follows_real_time=real_time)
        self.settings = EngineSettings(
            fbs_url=endpoints.fbs,
            debtor_urls=dict(endpoints.debtors),
            database_url=self.url_db,
            token=endpoints.token,
            tokens={profile: endpoints.token_for(profile) for profile in endpoints.debtors},
            callback_tokens=self.tokens,
            extra_headers={wire_client.SESSION: session},
            worker=f"scenario-{session[-8:]}",
            route_overrides=dict(route_overrides or {}),
        )
        self.store = open_store(self.url_db)  # shared by the engine and its restart after a crash
        self._down = False
        self.closed = False  # the world ended: its callback API refuses what still arrives (_CrashAtIntake)
        self.intake_crash_armed = False
        self.intake_crashes = 0
        self._retired: list[Engine] = []  # engines that 'died' at intake, closed from the scenario's thread
        self._last_cycle_idle = False  # the last cycle read nothing and sent nothing (has_work)
        self.engine = self._build()
        self.app = self.engine.api()
        self.api = self._serve()

    def _serve(self, port: int = 0) -> ServerThread:
        served = _CrashAtIntake(self.app, self)
        return ServerThread(served, name="engine-api", log_level="critical", port=port).start()  # see start()

    def _build(self, http: httpx.Client | None = None) -> Engine:
        return Engine(self.settings, clock=self.clock, store=self.store, http=http, seed=7)

    @property
    def url(self) -> str:
        return self.api.url

    def callback_token(self, profile: str) -> str:
        return self.tokens[profile]

    @property
    def down(self) -> bool:
        return self._down

    def go_down(self) -> None:
        """The engine process stops: its callback API no longer accepts connections, and it does not cycle."""
        if not self._down:
            self.api.stop()
            self.engine.close()
            self._down = True

    def come_up(self) -> None:
        """The engine starts again on the same address; everything it knows comes from its database."""
        self._last_cycle_idle = False  # what it does may give a cycle work
        if self._down:
            self.engine = self._build()
            self.app.state.engine = self.engine
            self.api = self._serve(self.api.port)
            self._down = False

    def set_clock(self, instant: datetime) -> None:
        self.clock.set(instant)

    def cycle(self) -> dict[str, Any]:
        self._close_retired()
        report = dict(self.engine.cycle().__dict__)
        self._last_cycle_idle = not any(report.values())
        return report

    def has_work(self) -> bool:
        """Could a cycle now do anything? Unless the last one was idle and no message is due, yes. New
        FBS events come from a scenario's steps or from what the engine sent FBS; a callback taken in
        queues its posting, due at once; a retry or a held message is due at its time."""
        if not self._last_cycle_idle:
            return True
        now = self.clock.now().astimezone(UTC)
        with self.store() as session:
            return session.scalars(_DUE_MESSAGE, {"now": now}).first() is not None

    def next_work_at(self) -> datetime | None:
        """The first instant a cycle may do anything (`has_work`): now unless the last cycle was idle, else
        when the first pending message falls due; None when none is pending and the last cycle was idle."""
        if not self._last_cycle_idle:
            return self.clock.now()
        with self.store() as session:
            return session.scalar(_FIRST_DUE)

    def crash_at_callback_intake(self) -> dict[str, Any]:
        """Arm the crash at the next callback the engine accepts (`_CrashAtIntake`)."""
        self.intake_crash_armed = True
        return {"armed": True, "crashedAtIntake": self.intake_crashes}

    def restart_after_intake_crash(self) -> None:
        """The restart after a crash at intake: a new engine from the database serves the callback API."""
        self._last_cycle_idle = False  # what it does may give a cycle work
        self.intake_crashes += 1
        self._retired.append(self.engine)
        self.engine = self._build()
        self.app.state.engine = self.engine

    def _close_retired(self) -> None:
        while self._retired:
            self._retired.pop().close()

    def crash_during_cycle(self, after_sends: int) -> dict[str, Any]:
        self._last_cycle_idle = False  # what it does may give a cycle work
        transport = _CrashingTransport(httpx.HTTPTransport(verify=wire_client.tls()), after_sends)
        doomed = self._build(httpx.Client(transport=transport, timeout=30.0, verify=wire_client.tls()))
        crashed = False
        try:
            doomed.cycle()
        except SimulatedCrash:
            crashed = True
        finally:
            doomed.http.close()
        self.engine.close()
        self.engine = self._build()  # the restart: everything it knows comes from the database
        self.app.state.engine = self.engine  # the callback API serves the restarted engine
        return {"crashed": crashed, "answeredBeforeCrash": transport.sent}

    def reconcile(self) -> dict[str, Any]:
        self._last_cycle_idle = False  # what it does may give a cycle work
        result = self.engine.reconcile()
        self.engine.cycle()  # deliver the repairs
        return result.as_json()

    def migrate(self, lines: list[dict[str, Any]], *, dry_run: bool, feed_from: str | None = None) -> dict[str, Any]:
        self._last_cycle_idle = False  # what it does may give a cycle work
        extract = self.folder / "extract.jsonl"
        extract.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
        return self.engine.migrate(extract, dry_run=dry_run, feed_from=feed_from).as_json()

    def outbox(self, claim_id: str | None) -> list[dict[str, Any]]:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if claim_id is not None:
            query = query.where(OutboxMessage.claim_id == claim_id)
        with self.store() as session:
            return [
                {
                    "kind": m.kind,
                    "target": m.target,
                    "claim": m.claim_id,
                    "status": m.status,
                    "attempts": m.attempts,
                    "lastStatus": m.last_status,
                    "code": (m.answer or {}).get("code") if isinstance(m.answer, dict) else None,
                    "transactionId": m.transaction_id,
                }
                for m in session.scalars(query)
            ]

    def close(self) -> None:
        self.closed = True
        self._close_retired()
        if self.on_close:
            self.on_close()
        if not self._down:
            self.api.stop(wait=False)  # its own port, never reused: the world need not wait for it to close
            self.engine.close()
        self.store.kw["bind"].dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


class SimulatedWorlds:
    """The simulators of one process (or pytest worker); a fresh scenario world on each call."""

    def __init__(
        self,
        world: SimulatedWorld,
        folder: Path,
        debtor_settings: dict[str, Any] | None = None,
        vendor: VendorSystem | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),  # real time: a vendor lives in it
    ) -> None:
        self.world = world
        self.folder = folder
        self.debtor_settings = dict(debtor_settings or {})  # e.g. {"misbehaviour": …} in every new world
        self.vendor = vendor
        self.now = now  # the real clock, for worlds that meet a vendor's system (which lives in real time)
        self.template = folder / "template.sqlite"
        open_store(f"sqlite:///{self.template}").kw["bind"].dispose()  # Alembic once per process
        debtors = dict(world.debtor_urls)
        if vendor:
            debtors[vendor.profile] = vendor.url
        test_control = vendor is not None and vendor.test_control
        self.endpoints = Endpoints(
            fbs=world.url("fbs"),
            psrm=world.psrm_url,
            payment=world.url("payment"),
            debtors=debtors,
            simulated=frozenset({"fbs", "psrm", "payment", *world.debtor_urls}),
            tokens={vendor.profile: vendor.token} if vendor else {},
            timeout_s=vendor.timeout_s if vendor else 30.0,
            test_control=frozenset({vendor.profile}) if vendor and test_control else frozenset(),
            # the vendor hands over to PSRM without a session: its default one is where the world looks
            sessions={"psrm": PSRM_SESSION} if test_control else {},
        )
        self._http = httpx.Client(timeout=10, verify=wire_client.tls())  # kept alive: a world's set-up calls
        # a world of this process's simulators alone moves their clocks in process (a vendor's world over HTTP)
        self.clocks = InProcessClocks(world, self.endpoints.timeout_s) if vendor is None else None
        self.psrm_defaults: dict[str, Any] = {}
        if test_control:  # what every world's PSRM starts from, whatever an earlier scenario changed
            self.psrm_defaults = self._read(world.psrm_url, PSRM_SESSION, "/settings")["settings"]

    @classmethod
    def start(
        cls, debtor_settings: dict[str, Any] | None = None, vendor: VendorSystem | None = None
    ) -> SimulatedWorlds:
        """Start the simulators; with a `vendor`, every profile's but the vendor's, PSRM being the vendor's."""
        # A scenario's evidence is its events and the systems' journals; the engine's log lines and the
        # servers' tracebacks for faults injected on purpose would only bury the console.
        logging.getLogger("oir.engine").addHandler(logging.NullHandler())  # still propagates to any handler set up
        folder = Path(tempfile.mkdtemp(prefix="oir-scenarios-"))
        profiles = tuple(p for p in PROFILE_NAMES if vendor is None or p != vendor.profile)
        world = start_world(
            profiles=profiles,
            log_level="critical",
            psrm_url=vendor.psrm_url if vendor else None,
            vendor_debtors={vendor.profile: (vendor.url, vendor.token)} if vendor else None,
        )
        worlds = cls(world, folder, debtor_settings, vendor)
        # What is alive now (modules, apps, schemas, the servers) lives as long as the process: out of the
        # garbage collector's sight, each collection walks only what the scenarios make. Garbage is
        # collected first, so nothing that is garbage now is kept.
        gc.collect()
        gc.freeze()
        return worlds

    def _control(self, system_url: str, session: str, method: str, path: str, body: Any) -> None:
        self._http.request(
            method,
            system_url.rstrip("/") + wire_client.control_path(path),
            json=body,
            headers=wire_client.credentials(self.endpoints.token, session),
        ).raise_for_status()

    def _read(self, system_url: str, session: str, path: str) -> Any:
        response = wire_client.control(system_url, "GET", path, token=self.endpoints.token, session=session)
        response.raise_for_status()
        return response.json()

    def _follow_vendor_date(self, vendor: VendorSystem) -> datetime:
        """The vendor's business time; PSRM's default session (where the vendor hands over) is put at it,
        with its own settings and no fault rules, as every world of this run finds it."""
        now = vendor.business_time().replace(microsecond=0)
        psrm = self.endpoints.psrm
        self._control(psrm, PSRM_SESSION, "PATCH", "/settings", self.psrm_defaults)
        self._control(psrm, PSRM_SESSION, "DELETE", "/faults", None)
        if datetime.fromisoformat(self._read(psrm, PSRM_SESSION, "/clock")["now"]) < now:
            self._control(psrm, PSRM_SESSION, "PUT", "/clock", {"now": now.isoformat()})
        return now

    def __call__(self, session: str) -> ScenarioWorld:
        if self.debtor_settings:
            for url in self.world.debtor_urls.values():
                self._control(url, session, "PATCH", "/settings", self.debtor_settings)
        folder = Path(tempfile.mkdtemp(prefix=f"{session[:40]}-", dir=self.folder))
        if self.vendor is None:
            engine = InProcessEngine(
                folder, self.template, self.endpoints, session, on_close=lambda: self._forget(session)
            )
            for profile in self.world.debtor_urls:  # the debtors' callbacks go to this world's engine
                self.world.set_session(
                    f"debtor-{profile}",
                    session,
                    {"callback_url": engine.url, "callback_token": engine.callback_token(profile)},
                )
            return ScenarioWorld(self.endpoints, session, engine, callbacks_set=True, clocks=self.clocks)
        return self._vendor_world(session, folder, self.vendor)

    def _forget(self, session: str) -> None:
        """A closed world's sessions are dropped from the simulators (its evidence was taken before it
        closed): a process that runs hundreds of worlds would otherwise keep every one of them, and each
        garbage collection walks them all (most of the memory and a tenth of the time of a suite run). The
        simulators are this process's own servers: their registries are told directly, not over HTTP."""
        names = ["fbs", "payment", *(f"debtor-{p}" for p in self.world.debtor_urls)]
        if self.endpoints.sessions.get("psrm", session) == session and "psrm" in self.world.servers:
            names.append("psrm")  # never PSRM's default (a vendor's)
        for name in names:
            self.world.drop_session(name, session)

    def _vendor_world(self, session: str, folder: Path, vendor: VendorSystem) -> ScenarioWorld:
        series = session[-8:]  # the session's own random tail: FBS ids no earlier run has used
        self._control(self.endpoints.fbs, session, "PATCH", "/settings", {"id_series": series})
        # with test control the world lives on the vendor's business date; else in real time, as the vendor does
        now = (
            self._follow_vendor_date(vendor) if vendor.test_control else self.now().replace(microsecond=0)
        ).isoformat()
        for url in (self.endpoints.fbs, self.endpoints.payment, self.endpoints.psrm, *self.world.debtor_urls.values()):
            self._control(url, session, "PUT", "/clock", {"now": now})

        def close() -> None:
            vendor.relay.detach(series)
            self._forget(session)

        engine = InProcessEngine(
            folder,
            self.template,
            self.endpoints,
            session,
            callback_tokens={vendor.profile: vendor.callback_token},
            on_close=close,
            real_time=True,
            route_overrides={m.code: {"timeout_s": vendor.timeout_s} for m in for_vendor(vendor.profile)},
        )
        vendor.relay.attach(series, engine.url)
        return ScenarioWorld(self.endpoints, session, engine, data_salt=int(series, 16))

    def stop(self) -> None:
        self._http.close()
        self.world.stop()
        gc.unfreeze()  # what was frozen at the start may be garbage now (a process may start worlds again)
        shutil.rmtree(self.folder, ignore_errors=True)
