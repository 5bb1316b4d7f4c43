"""Test control (`oir-testkontrol-v1`): what a vendor's *test* environment may offer so that certification
can live through a debt's life there — the business date and moving it forward (the system's own jobs
run on each day that passes), a citizen's bank transfer, and what the system itself sent.

The debtor simulator is the reference implementation. It serves these operations beside its `/_sim/`
control plane, not through it, so a simulator wrapped as a vendor's real system (no `/_sim/`, no
sessions) still offers them. They reuse the simulator's own clock, job runner and ledger: moving the
business date is the kernel's `move_session_clock` (the same walk from event to event the control
plane does), a bank transfer is the same booking as the simulation-only `simBankPayment`, and what
was sent is read from the session's journal of outgoing calls (CPR masked).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from contracts.wire import WHOLE, IsoDate, IsoDateTime
from simulators.kernel import (
    CallDep,
    HeaderBlockDep,
    OutModel,
    Problem,
    Session,
    SimRuntime,
    StrictModel,
    move_session_clock,
    problem_responses,
)
from simulators.kernel.clock import COPENHAGEN

from . import misbehaviour
from .callbacks import CALLBACK_OPERATION
from .models import BankIndbetalingIn, BankIndbetalingOut
from .routes import book_bank_transfer

PREFIX = "/testkontrol"
TAG = "Testkontrol"
MAX_DAYS = 366  # one call moves the business date at most a year

router = APIRouter(prefix=PREFIX, tags=[TAG])


class ForretningsdatoOut(OutModel):
    forretningsdato: date
    tidspunkt: datetime


class FremrykningIn(StrictModel):
    dage: Annotated[int, Field(ge=1, le=MAX_DAYS), WHOLE] | None = None
    tilDato: IsoDate | None = None
    til: IsoDateTime | None = None


class FremrykningOut(OutModel):
    fra: datetime
    tidspunkt: datetime
    forretningsdato: date
    dage: int = Field(description="Business dates that began while the date moved (midnights passed)")
    jobKoert: int = Field(description="Jobs the system ran on the way")


class AfsendtMeddelelse(OutModel):
    loebenummer: int
    tidspunkt: datetime
    modtager: Literal["PSRM", "FAGSYSTEM"]
    operation: str
    transaktionId: str | None = None
    status: int | None = None
    krop: Any = None
    bemaerkning: str | None = None


class AfsendtOut(OutModel):
    meddelelser: list[AfsendtMeddelelse]


def _target(body: FremrykningIn, now: datetime) -> datetime:
    given = sorted(body.model_fields_set)  # an explicit null counts as given: the contract has no nulls
    if len(given) != 1 or getattr(body, given[0]) is None:
        raise Problem(
            400,
            "OIR-400-VALIDATION",
            "Give exactly one of dage, tilDato and til",
            f"given: {', '.join(given) or 'none'}",
        )
    if body.dage is not None:
        return now + timedelta(days=body.dage)
    if body.tilDato is not None:
        return datetime.combine(body.tilDato, now.timetz())
    assert body.til is not None
    if body.til.tzinfo is None:
        raise Problem(400, "OIR-400-VALIDATION", "The instant must carry a UTC offset")
    return body.til.astimezone(COPENHAGEN)


@router.get(
    "/forretningsdato",
    operation_id="HentForretningsdato",
    response_model=ForretningsdatoOut,
    responses=problem_responses(400, 401),
)
async def hent_forretningsdato(call: CallDep) -> ForretningsdatoOut:
    now = call.now
    return ForretningsdatoOut(forretningsdato=now.date(), tidspunkt=now)


@router.post(
    "/forretningsdato/frem",
    operation_id="FremrykForretningsdato",
    response_model=FremrykningOut,
    responses=problem_responses(400, 401, 409, 422),
)
async def fremryk_forretningsdato(body: FremrykningIn, call: CallDep) -> FremrykningOut:
    start = call.now
    target = _target(body, start)
    if target < start:
        raise Problem(
            409,
            "OIR-409-DATE-BACKWARDS",
            "The business date only moves forward",
            f"{target.isoformat()} is before {start.isoformat()}",
        )
    if target - start > timedelta(days=MAX_DAYS):
        raise Problem(422, "OIR-422-DATE-TOO-FAR", f"Move the business date at most {MAX_DAYS} days at a time")
    if misbehaviour.active(call.session.settings, "advance_in_one_jump"):
        jobs = await _jump(call.runtime, call.session, target)
    else:
        jobs = await move_session_clock(call.runtime, call.session, target)
    now = call.now
    return FremrykningOut(
        fra=start, tidspunkt=now, forretningsdato=now.date(), dage=(now.date() - start.date()).days, jobKoert=jobs
    )


async def _jump(runtime: SimRuntime, session: Session[Any], target: datetime) -> int:
    """The `advance_in_one_jump` misbehaviour: the clock jumps to the target and the jobs run once, there."""
    async with session.lock:
        session.clock.set(target)
        return await runtime.run_clock(session, target, target)


@router.post(
    "/bankindbetalinger",
    operation_id="BogfoerBankindbetaling",
    response_model=BankIndbetalingOut,
    status_code=201,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def bogfoer_bankindbetaling(body: BankIndbetalingIn, call: CallDep, block: HeaderBlockDep) -> BankIndbetalingOut:
    return await book_bank_transfer(call, block, body)


def _mentions(body: Any, claim_id: str) -> bool:
    return json.dumps(body, ensure_ascii=False, default=str).find(json.dumps(claim_id)) >= 0


@router.get(
    "/afsendt",
    operation_id="HentAfsendteMeddelelser",
    response_model=AfsendtOut,
    responses=problem_responses(400, 401),
    response_model_exclude_none=True,
)
async def hent_afsendte(
    call: CallDep,
    modtager: Annotated[Literal["PSRM", "FAGSYSTEM"] | None, Query()] = None,
    operation: Annotated[str | None, Query(min_length=1, max_length=120)] = None,
    fordringId: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    efter: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0,
) -> AfsendtOut:
    found = []
    for entry in call.session.journal.entries(direction="out", operation=operation, since=efter):
        if entry.path.startswith("("):  # kept from the wire (a dropped callback): never sent
            continue
        exported = entry.export()  # CPR masked
        recipient: Literal["PSRM", "FAGSYSTEM"] = "FAGSYSTEM" if entry.operation == CALLBACK_OPERATION else "PSRM"
        if modtager is not None and recipient != modtager:
            continue
        if fordringId is not None and not _mentions(exported["requestBody"], fordringId):
            continue
        found.append(
            AfsendtMeddelelse(
                loebenummer=entry.seq,
                tidspunkt=entry.at,
                modtager=recipient,
                operation=entry.operation or "",
                transaktionId=entry.transaction_id,
                status=entry.status,
                krop=exported["requestBody"],
                bemaerkning=entry.note,
            )
        )
    return AfsendtOut(meddelelser=found)
