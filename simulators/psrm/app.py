"""The PSRM simulator app: Gældsstyrelsen's debt collection as a creditor (debtor system) sees it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import httpx
from fastapi import FastAPI

from simulators.kernel import Principal, Session, SimRuntime, SimulatorSpec, create_simulator_app
from simulators.kernel.clock import local_midnight

from .register import PsrmRegister
from .routes import router

SETTINGS_DEFAULTS: dict[str, Any] = {
    "receipt_delay_minutes": 5,  # how long PSRM takes to build a delivery's receipts (virtual time)
    "hoering_above_oere": 5_000_000,  # (modelled) claims above this fall outside the agreed filter: HØRING
}


async def _on_clock(_: SimRuntime, session: Session[Any], __: datetime, new: datetime) -> int:
    register: PsrmRegister = session.state
    return register.run_due(new.date())


def _quiet_until(session: Session[Any]) -> date | None:
    register: PsrmRegister = session.state
    return register.next_job_day(session.clock.today())


def _next_call(session: Session[Any]) -> datetime | None:
    """PSRM's jobs run once a day, at the first move of the clock onto their day; they call no one, but
    what they settle the debtor's jobs find: the start of that day."""
    day = _quiet_until(session)
    return None if day is None else local_midnight(day)


def _export(session: Session[Any]) -> dict[str, Any]:
    register: PsrmRegister = session.state
    return {
        "claims": [
            {
                "psrmFordringId": c.id,
                "reference": c.reference,
                "creditor": c.creditor,
                "status": c.status,
                "balance": c.balance,
            }
            for c in register.claims.values()
        ],
        "deliveries": [
            {"leveranceId": d.id, "actions": len(d.results), "readyAt": d.ready_at.isoformat()}
            for d in register.deliveries.values()
        ],
        "notifications": len(register.notifications),
    }


def create_app(
    *,
    tokens: dict[str, Principal] | None = None,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    **settings: Any,
) -> FastAPI:
    spec = SimulatorSpec(
        name="psrm",
        title="PSRM – fordringshaver (simulated)",
        description="Gældsstyrelsen's debt collection as a creditor sees it: deliveries, receipts, hearings, "
        "notifications.",
        contract="psrm-fordringshaver",
        routers=[router],
        state_factory=PsrmRegister,
        settings_defaults=SETTINGS_DEFAULTS,
        on_clock=_on_clock,
        quiet_until=_quiet_until,
        next_call=_next_call,
        export_state=_export,
    )
    return create_simulator_app(spec, tokens=tokens, settings=settings, transports=transports)
