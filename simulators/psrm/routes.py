"""HTTP routes of the PSRM simulator: the `psrm-fordringshaver` contract.

Operations tagged `simulering` stand in for what happens inside PSRM (coverage by offsetting or wage
deduction, a return to the creditor, a claim's own page); debtor systems never call them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, cast

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from contracts.wire import ID_PATTERN
from simulators.kernel import CallDep, HeaderBlockDep, IsoDate, Problem, ensure_may_act, problem_responses
from simulators.kernel.runtime import Call

from .models import (
    AktionSvar,
    DaekningIn,
    HistorikOut,
    HoeringSvarIn,
    IndberetningIn,
    IndberetningOut,
    Kvittering,
    KvitteringOut,
    KvitteringVenter,
    PsrmFordringOut,
    ReturneringIn,
    Underretning,
    UnderretningerOut,
)
from .register import NOTIFICATION_MONTHS, PsrmClaim, PsrmRegister, months_back

router = APIRouter()
IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


def _register(call: Call) -> PsrmRegister:
    register: PsrmRegister = call.state
    register.run_due(call.now.date())
    return register


def _claim(register: PsrmRegister, claim_id: str, creditor: str) -> PsrmClaim:
    claim = register.claims.get(claim_id)
    if claim is None or claim.creditor != creditor:
        raise Problem(404, "OIR-404-PSRM-CLAIM-NOT-FOUND", "PSRM knows no such claim of this creditor", claim_id)
    return claim


@router.post(
    "/fordringsindberetninger",
    operation_id="MFFordringIndberet",
    tags=["fordringshaver"],
    response_model=IndberetningOut,
    responses=problem_responses(400, 401, 403, 409),
)
async def indberet(body: IndberetningIn, call: CallDep, block: HeaderBlockDep) -> IndberetningOut:
    """Submit a delivery of actions; each is answered MODTAGET or AFVIST (with a code) at once."""
    ensure_may_act(call.principal, block)
    delay = timedelta(minutes=int(call.setting("receipt_delay_minutes")))
    delivery = _register(call).submit(block.municipality.cvr, body.aktioner, call.now, delay)
    return IndberetningOut(
        leveranceId=delivery.id,
        modtaget=delivery.received,
        aktioner=[
            AktionSvar.model_validate(
                {"mfAktionId": r.action_id, "status": "MODTAGET" if r.accepted else "AFVIST", "fejl": r.errors}
            )
            for r in delivery.results
        ],
    )


@router.get(
    "/kvitteringer/{leveranceId}",
    operation_id="MFKvitteringHent",
    tags=["fordringshaver"],
    response_model=KvitteringOut,
    response_model_exclude_none=True,
    responses={
        202: {"description": "The receipt is not built yet", "model": KvitteringVenter},
        **problem_responses(400, 401, 403, 404),
    },
)
async def kvittering(leveranceId: IdPath, call: CallDep, block: HeaderBlockDep) -> KvitteringOut | JSONResponse:
    """Receipts of a delivery: UDFOERT, AFVIST or HOERING per action, once PSRM has built them."""
    ensure_may_act(call.principal, block)
    register = _register(call)
    delivery = register.deliveries.get(leveranceId)
    if delivery is None or delivery.creditor != block.municipality.cvr:
        raise Problem(404, "OIR-404-DELIVERY-NOT-FOUND", "No such delivery from this creditor", leveranceId)
    if call.now < delivery.ready_at:
        waiting = KvitteringVenter(leveranceId=delivery.id, klar=False, forventetKlar=delivery.ready_at)
        return JSONResponse(waiting.model_dump(mode="json"), status_code=202)
    receipts = register.build_receipts(delivery, call.now.date(), int(call.setting("hoering_above_oere")))
    return KvitteringOut(
        leveranceId=delivery.id, klar=True, kvitteringer=[Kvittering.model_validate(r) for r in receipts]
    )


@router.post(
    "/hoeringer/{psrmFordringId}/svar",
    operation_id="MFHoeringSvar",
    tags=["fordringshaver"],
    response_model=PsrmFordringOut,
    response_model_exclude_none=True,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def hoering_svar(
    psrmFordringId: IdPath, body: HoeringSvarIn, call: CallDep, block: HeaderBlockDep
) -> PsrmFordringOut:
    """Justify (BEGRUNDET) or withdraw (TILBAGETRUKKET) a claim in hearing, within its 14 days."""
    ensure_may_act(call.principal, block)
    register = _register(call)
    claim = _claim(register, psrmFordringId, block.municipality.cvr)
    if claim.status == "AFVIST" and any(h["haendelse"] == "HOERING UDLOEBET" for h in claim.history):
        raise Problem(422, "OIR-422-HOERING-EXPIRED", "The 14 days of the hearing have passed; the claim was rejected")
    if claim.status != "HOERING":
        raise Problem(422, "OIR-422-NOT-IN-HEARING", "The claim is not in hearing", claim.status)
    register.answer_hearing(claim, body.svar == "BEGRUNDET", call.now.date())
    return _claim_out(claim)


@router.get(
    "/underretninger",
    operation_id="MFUnderretSamlingHent",
    tags=["fordringshaver"],
    response_model=UnderretningerOut,
    response_model_exclude_none=True,
    responses=problem_responses(400, 401, 403, 422),
)
async def underretninger(
    call: CallDep,
    block: HeaderBlockDep,
    fra: Annotated[IsoDate, Query(description="First day (at most 3 months back)")],
    til: Annotated[IsoDate | None, Query(description="Last day; default today")] = None,
) -> UnderretningerOut:
    """Settlements, offsetting, allocation and returns for the creditor, at most three months back."""
    ensure_may_act(call.principal, block)
    today = call.now.date()
    last = til or today
    oldest = months_back(today, NOTIFICATION_MONTHS)
    if fra < oldest:
        raise Problem(
            422,
            "OIR-422-NOTIFICATION-WINDOW",
            "Notifications older than 3 months cannot be fetched",
            f"fra must be {oldest.isoformat()} or later",
        )
    if fra > last:
        raise Problem(422, "OIR-422-PERIOD", "fra lies after til")
    register = _register(call)
    found = [n for n in register.notifications if n.creditor == block.municipality.cvr and fra <= n.on <= last]
    return UnderretningerOut(
        underretninger=[
            Underretning(
                underretningId=n.id,
                type=cast(Any, n.kind),
                dato=n.on,
                fordringshaverReference=n.reference,
                psrmFordringId=n.claim_id,
                beloebOere=n.amount,
                returKode=cast(Any, n.return_code),
                tekst=n.text,
            )
            for n in found
        ]
    )


# ---- simulation only ---------------------------------------------------------------------------
@router.post(
    "/simulering/daekninger",
    operation_id="simPsrmCoverage",
    tags=["simulering"],
    response_model=PsrmFordringOut,
    status_code=201,
    response_model_exclude_none=True,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def coverage(body: DaekningIn, call: CallDep, block: HeaderBlockDep) -> PsrmFordringOut:
    """Money reaches a claim under collection: offsetting (UDLIGNING) or wage deduction/payment (ALLOKERING)."""
    ensure_may_act(call.principal, block)
    register = _register(call)
    claim = _claim(register, body.psrmFordringId, block.municipality.cvr)
    if claim.status != "UNDER_INDDRIVELSE":
        raise Problem(422, "OIR-422-NOT-UNDER-COLLECTION", "Only a claim under collection can be covered", claim.status)
    if body.beloebOere > claim.balance:
        raise Problem(
            422,
            "OIR-422-OVERPAYMENT",
            "The amount exceeds the claim's balance",
            f"{body.beloebOere} øre > {claim.balance} øre",
        )
    register.cover(claim, body.beloebOere, body.kilde, call.now.date())
    return _claim_out(claim)


@router.post(
    "/simulering/returneringer",
    operation_id="simPsrmReturn",
    tags=["simulering"],
    response_model=PsrmFordringOut,
    status_code=201,
    response_model_exclude_none=True,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def give_back(body: ReturneringIn, call: CallDep, block: HeaderBlockDep) -> PsrmFordringOut:
    """PSRM returns a claim to the creditor (AFTL, ANDN, KLAG)."""
    ensure_may_act(call.principal, block)
    register = _register(call)
    claim = _claim(register, body.psrmFordringId, block.municipality.cvr)
    if claim.status not in ("UNDER_INDDRIVELSE", "HOERING"):
        raise Problem(422, "OIR-422-NOT-UNDER-COLLECTION", "Only a claim with PSRM can be returned", claim.status)
    register.give_back(claim, body.returKode, body.tekst, call.now.date())
    return _claim_out(claim)


@router.get(
    "/fordringer/{psrmFordringId}",
    operation_id="simPsrmClaim",
    tags=["simulering"],
    response_model=PsrmFordringOut,
    response_model_exclude_none=True,
    responses=problem_responses(400, 401, 403, 404),
)
async def claim_page(psrmFordringId: IdPath, call: CallDep, block: HeaderBlockDep) -> PsrmFordringOut:
    ensure_may_act(call.principal, block)
    return _claim_out(_claim(_register(call), psrmFordringId, block.municipality.cvr))


def _claim_out(claim: PsrmClaim) -> PsrmFordringOut:
    return PsrmFordringOut(
        psrmFordringId=claim.id,
        fordringshaverReference=claim.reference,
        kommuneCvr=claim.creditor,
        fordringsart=cast(Any, claim.kind),
        status=cast(Any, claim.status),
        oprindeligtBeloebOere=claim.original,
        saldoOere=claim.balance,
        hovedfordringReference=claim.main_reference,
        hoeringFrist=claim.hearing_deadline,
        historik=[
            HistorikOut(dato=h["dato"], haendelse=h["haendelse"], beloebOere=h.get("beloebOere")) for h in claim.history
        ],
    )
