"""The debtor system as a client of PSRM (MFFordringIndberet, MFKvitteringHent, MFUnderretSamlingHent).

It speaks the `psrm-fordringshaver` contract over real HTTP, obeys PSRM's rules (only claims past SRB,
after reminders and notice, at least 100 kr, interest linked to its main claim, a fresh action id
per action) and treats a receipt that takes longer than the profile's answer-time limit as a timed-out
fetch to retry later, never as a lost claim.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx

from simulators.kernel import Session, SimRuntime

from ..errors import SimulatorError


class PsrmUnavailable(SimulatorError):
    """PSRM could not be reached or answered with a server error; try again on a later tick."""


@dataclass
class PsrmAnswer:
    status: int
    body: Any


def _headers(session: Session[Any], municipality_cvr: str) -> dict[str, str]:
    return SimRuntime.outgoing_headers(session, session.settings.get("psrm_token"), municipality_cvr, str(uuid.uuid4()))


async def _call(
    runtime: SimRuntime,
    session: Session[Any],
    method: str,
    path: str,
    municipality_cvr: str,
    operation: str,
    **kwargs: Any,
) -> PsrmAnswer:
    base = session.settings.get("psrm_url")
    if not base:
        raise PsrmUnavailable("no psrm_url configured")
    url = base.rstrip("/") + path
    headers = _headers(session, municipality_cvr)
    try:
        response = await runtime.client().request(method, url, headers=headers, timeout=10.0, **kwargs)
    except httpx.HTTPError as exc:
        session.journal.record(
            at=session.clock.now(),
            direction="out",
            method=method,
            path=url,
            operation=operation,
            status=None,
            transaction_id=headers["X-Transaktion-Id"],
            request_body=kwargs.get("json"),
            note=f"{type(exc).__name__}: {exc}",
        )
        raise PsrmUnavailable(str(exc)) from exc
    body = response.json() if response.content else None
    session.journal.record(
        at=session.clock.now(),
        direction="out",
        method=method,
        path=url,
        operation=operation,
        status=response.status_code,
        transaction_id=headers["X-Transaktion-Id"],
        request_body=kwargs.get("json"),
        response_body=body,
    )
    if response.status_code >= 500:
        raise PsrmUnavailable(f"PSRM answered {response.status_code}")
    return PsrmAnswer(response.status_code, body)


async def submit(
    runtime: SimRuntime, session: Session[Any], municipality_cvr: str, actions: list[dict[str, Any]]
) -> PsrmAnswer:
    return await _call(
        runtime,
        session,
        "POST",
        "/fordringsindberetninger",
        municipality_cvr,
        "MFFordringIndberet",
        json={"aktioner": actions},
    )


async def fetch_receipt(
    runtime: SimRuntime, session: Session[Any], municipality_cvr: str, delivery_id: str
) -> PsrmAnswer:
    return await _call(runtime, session, "GET", f"/kvitteringer/{delivery_id}", municipality_cvr, "MFKvitteringHent")


async def fetch_notifications(
    runtime: SimRuntime, session: Session[Any], municipality_cvr: str, since: date, until: date
) -> PsrmAnswer:
    return await _call(
        runtime,
        session,
        "GET",
        "/underretninger",
        municipality_cvr,
        "MFUnderretSamlingHent",
        params={"fra": since.isoformat(), "til": until.isoformat()},
    )


def new_action_id() -> str:
    return f"MFA-{uuid.uuid4()}"


def receipt_wait_exceeds(limit_s: int | None, now: datetime, ready_at: datetime) -> bool:
    """Whether a fetch now would outlast the debtor's answer-time limit (Opus: 300 s)."""
    return limit_s is not None and (ready_at - now).total_seconds() > limit_s
