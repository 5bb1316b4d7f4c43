"""What one running simulator app knows: its spec, sessions, tokens and outgoing HTTP client.

A request reaches its session and principal through `CallDep`, which also applies the session's
request faults for the matched operation, so every contract route gets authentication and fault
injection the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from contracts import wire_client
from contracts.problems import Problem

from ..errors import SimulatorError
from .auth import Principal, authenticate, bearer_scheme
from .faults import REQUEST_FAULTS, FaultKind
from .sessions import Session, SessionRegistry

JobRunner = Callable[["SimRuntime", Session[Any], datetime, datetime], Awaitable[int]]
# The first day on which a simulator's jobs may call another system (None: nothing planned); see
# `SimulatorSpec.quiet_until`.
QuietUntil = Callable[[Session[Any]], date | None]
# `SimulatorSpec.next_call`: the first instant its jobs may call any other system (None: nothing planned).
NextCall = Callable[[Session[Any]], datetime | None]
QUIET_HORIZON = timedelta(days=3660)  # the furthest one move of the clock may go


@dataclass
class SimulatorSpec:
    """Everything that makes one simulator differ from another; the kernel does the rest."""

    name: str
    title: str
    description: str
    contract: str  # file stem under contracts/openapi/
    routers: list[APIRouter]
    state_factory: Callable[[], Any]
    settings_defaults: dict[str, Any] = field(default_factory=dict)
    # a setting's value check beyond its type: the problem in words, or None when the value is fine
    settings_checks: dict[str, Callable[[Any], str | None]] = field(default_factory=dict)
    on_clock: JobRunner | None = None  # runs the jobs due between two instants
    # The first day whose jobs may call another system or change what another system's jobs find (None:
    # nothing planned). Up to that day a world may move this simulator's clock in one step instead of
    # day by day with the others (scenarios' `clock.advance`); without it the world promises nothing.
    quiet_until: QuietUntil | None = None
    # The first instant at which its jobs may call any other system, a callback to the fagsystem included
    # (None: nothing planned). Within a day a world may move this simulator's clock in one step up to the
    # step that reaches that instant instead of hour by hour; without it the world promises nothing.
    next_call: NextCall | None = None
    export_state: Callable[[Session[Any]], Any] | None = None
    version: str = "3.0.0"


class SimulatedConnectionDrop(SimulatorError):
    """Raised after the answer has started, so the server closes the connection mid-answer."""


class _DropRequested(Exception):
    def __init__(self, delay_s: float) -> None:
        super().__init__("simulated connection drop")
        self.delay_s = delay_s


@dataclass
class SimRuntime:
    spec: SimulatorSpec
    sessions: SessionRegistry[Any]
    tokens: dict[str, Principal]
    app_settings: dict[str, Any]
    transports: dict[str, httpx.AsyncBaseTransport] = field(default_factory=dict)
    _client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        """The client for outgoing calls (PSRM, callbacks); in-process apps can be mounted by URL."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                mounts=dict(self.transports) or None, timeout=10.0, verify=wire_client.tls()
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @staticmethod
    def outgoing_headers(
        session: Session[Any], token: str | None, municipality_cvr: str, transaction_id: str
    ) -> dict[str, str]:
        """Headers of a call this simulator makes: bearer token, header block, and its own session,
        so that the system called answers from the same namespace (the same virtual world)."""
        return wire_client.headers(
            token or "", session=session.id, transaction_id=transaction_id, at=session.clock.now(), cvr=municipality_cvr
        )

    def quiet_until(self, session: Session[Any]) -> date | None:
        """The first day this session's jobs may call another system: nothing planned within the furthest
        move of the clock is that far day; a simulator that cannot tell promises nothing (None)."""
        if self.spec.quiet_until is None:
            return None
        planned = self.spec.quiet_until(session)
        return planned if planned is not None else session.clock.today() + QUIET_HORIZON

    def next_call(self, session: Session[Any]) -> datetime | None:
        """The first instant this session's jobs may call another system: nothing planned within the
        furthest move of the clock is that far instant; a simulator that cannot tell promises nothing."""
        if self.spec.next_call is None:
            return None
        planned = self.spec.next_call(session)
        return planned if planned is not None else session.clock.now() + QUIET_HORIZON

    async def run_clock(self, session: Session[Any], old: datetime, new: datetime) -> int:
        if self.spec.on_clock is None:
            return 0
        return await self.spec.on_clock(self, session, old, new)


@dataclass
class Call:
    """One authenticated request in its session."""

    session: Session[Any]
    principal: Principal
    runtime: SimRuntime
    operation: str | None

    @property
    def state(self) -> Any:
        return self.session.state

    @property
    def now(self) -> datetime:
        return self.session.clock.now()

    def setting(self, key: str) -> Any:
        return self.session.settings.get(key)


def runtime_of(request: Request) -> SimRuntime:
    return request.app.state.sim


def session_of(request: Request) -> Session[Any]:
    return request.scope["state"]["sim_session"]


async def _call(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]
) -> Call:
    principal = await authenticate(request, credentials)
    session = session_of(request)
    route = request.scope.get("route")
    operation = getattr(route, "operation_id", None) or getattr(route, "name", None)
    rule = session.faults.take(operation or "", REQUEST_FAULTS)
    if rule is not None:
        if rule.kind is FaultKind.LATENCY:
            await asyncio.sleep(rule.latency_ms / 1000)
        elif rule.kind is FaultKind.ERROR:
            raise Problem(
                rule.status,
                f"OIR-{rule.status}-INJECTED-FAULT",
                "Injected fault",
                f"fault rule {rule.id} on {operation}",
            )
        elif rule.kind is FaultKind.DROP:
            raise _DropRequested(0.0)
        elif rule.kind is FaultKind.TIMEOUT:
            raise _DropRequested(rule.latency_ms / 1000 or 30.0)
    return Call(session=session, principal=principal, runtime=runtime_of(request), operation=operation)


CallDep = Annotated[Call, Depends(_call)]


async def _authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]
) -> Principal:
    return await authenticate(request, credentials)


PrincipalDep = Annotated[Principal, Depends(_authenticated)]
DropRequested = _DropRequested
