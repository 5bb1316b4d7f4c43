"""The FBS simulator app: the shared library system's side of the ØiR debtor integration."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from simulators.kernel import Principal, Session, SimRuntime, SimulatorSpec, create_simulator_app
from simulators.kernel.clock import COPENHAGEN, local_midnight

from .library import Library
from .routes import claim_out, router

SETTINGS_DEFAULTS: dict[str, Any] = {
    "exclusion_limit_oere": 25_000,  # the local limit above which a borrower is excluded (typically 200-300 kr)
    # Put into every borrower and claim id when set: a vendor's real system keeps the ids of earlier
    # sessions and runs, so each session that talks to one numbers in a series of its own.
    "id_series": "",
}


_SERIES = re.compile(r"[A-Za-z0-9]{0,16}")


def _series_problem(value: Any) -> str | None:
    """An id series stands inside borrower and claim ids: letters and digits only, at most 16."""
    return None if _SERIES.fullmatch(str(value)) else "use at most 16 letters and digits"


def _next_first(day: date) -> date:
    """The first day of the month after `day`'s."""
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


async def _statements(runtime: SimRuntime, session: Session[Any], old: datetime, new: datetime) -> int:
    """FBS's daily job on the virtual clock: on the first day of each month it makes the balance statements
    (saldoopgørelser, DOMAIN.md) — one per borrower with open claims — and journals each as sent."""
    library: Library = session.state
    made = 0
    last = new.astimezone(COPENHAGEN).date()
    day = _next_first(old.astimezone(COPENHAGEN).date())
    while day <= last:
        at = local_midnight(day)
        for statement in library.make_statements(day):
            session.journal.record(
                at=at,
                direction="out",
                method="POST",
                path=f"/laanere/{statement['laanerId']}/saldoopgoerelser",
                operation="Saldoopgoerelse",
                status=None,
                transaction_id=None,
                response_body=statement,
                note=f"balance statement {statement['opgoerelseId']}: {statement['saldoOere']} øre open",
            )
            made += 1
        day = _next_first(day)
    return made


def _export(session: Session[Any]) -> dict[str, Any]:
    library: Library = session.state
    return {
        "claims": [claim_out(library, c).model_dump(mode="json") for c in library.claims.values()],
        "borrowers": [{"laanerId": b.id, "cpr": b.cpr, "udelukket": b.excluded} for b in library.borrowers.values()],
        "events": len(library.events),
    }


def create_app(
    *,
    tokens: dict[str, Principal] | None = None,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    **settings: Any,
) -> FastAPI:
    spec = SimulatorSpec(
        name="fbs",
        title="FBS – Fælles Bibliotekssystem (simulated)",
        description="The library system: claims made at the desk, the claim-event feed the integration reads, "
        "and the intakes for postings, status notices and rejections.",
        contract="fbs",
        routers=[router],
        state_factory=Library,
        settings_defaults=SETTINGS_DEFAULTS,
        settings_checks={"id_series": _series_problem},
        export_state=_export,
        on_clock=_statements,
    )
    return create_simulator_app(spec, tokens=tokens, settings=settings, transports=transports)
