"""HTTP routes of the debtor simulator: the `oir-debitor-v3` contract plus simulation-only operations.

Operations tagged `simulering` stand in for what happens inside a debtor system (a citizen's bank
transfer, a caseworker's write-off, the outbox's state); certification strips them before it fuzzes
a vendor, who never implements them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from contracts.profile import Profile
from contracts.wire import ID_PATTERN
from simulators.kernel import (
    CallDep,
    HeaderBlockDep,
    LeanRoute,
    Problem,
    ensure_may_act,
    ensure_valid_cvr,
    problem_responses,
)
from simulators.kernel.headers import HeaderBlock
from simulators.kernel.runtime import Call

from . import callbacks, jobs, misbehaviour, psrm_client, service, views
from .ledger import DebtorBooks
from .models import (
    AendrHaeftelseIn,
    AfskrivningIn,
    AnnulleringIn,
    BankIndbetalingIn,
    BankIndbetalingOut,
    BetalbarDelfordringOut,
    CallbackListOut,
    CallbackOut,
    DebitorForespoergselIn,
    DebitorForespoergselOut,
    DebitorkontoOut,
    FordringStatusOut,
    ForetagIndbetalingIn,
    ForetagIndbetalingOut,
    OpretDebitorkontoIn,
    OpretDebitorkontoOut,
    RetFordringTilstandIn,
    SoegDelfordringIn,
    SoegDelfordringOut,
    party,
)

# LeanRoute: an operation that answers with the Response it built (OpretDebitorkonto, the one the engine
# sends per claim) skips FastAPI's generic parameter solving when the call is well-formed (lean_route.py)
router = APIRouter(route_class=LeanRoute)
JSON = "application/json"
IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
_WRITE = problem_responses(400, 401, 403, 409, 422)
_WRITE_ON = problem_responses(400, 401, 403, 404, 409, 422)
_READ_ON = problem_responses(400, 401, 403, 404, 422)


def _profile(call: Call) -> Profile:
    return call.runtime.spec.profile  # type: ignore[attr-defined]


def _books(call: Call) -> DebtorBooks:
    return call.state


def _admit(call: Call, block: HeaderBlock) -> Profile:
    """Credentials, municipality and profile: may this caller act for this municipality here?"""
    ensure_may_act(call.principal, block)
    profile = _profile(call)
    if not call.setting("serve_all_municipalities") and block.municipality.vendor != profile.name:
        raise Problem(
            422,
            "OIR-422-MUNICIPALITY-NOT-SERVED",
            "This debtor system does not serve the municipality",
            f"{block.municipality.name} uses {block.municipality.vendor}, this system is {profile.name}",
        )
    return profile


def _after_change(call: Call, profile: Profile) -> None:
    callbacks.schedule_delivery(call.runtime, call.session, profile)


# ---- B_01 DebitorRegistreringAfsend -----------------------------------------------------------------
@router.post(
    "/debitorkonti",
    operation_id="OpretDebitorkonto",
    tags=["B_01 DebitorRegistrering"],
    response_model=OpretDebitorkontoOut,
    status_code=201,
    responses={
        200: {"description": "Account existed; claims registered or already known", "model": OpretDebitorkontoOut},
        **_WRITE,
    },
)
async def opret_debitorkonto(body: OpretDebitorkontoIn, call: CallDep, block: HeaderBlockDep) -> Response:
    profile = _admit(call, block)
    disabled = frozenset(p.strip() for p in str(call.setting("disabled_products") or "").split(",") if p.strip())
    account, created, results = service.register(
        _books(call),
        profile,
        block.municipality.cvr,
        body,
        call.now.date(),
        disabled,
        move_deadlines=not misbehaviour.active(call.session.settings, "deadlines_on_closed_days"),
        keep_history=not misbehaviour.active(call.session.settings, "ignore_claim_history"),
    )
    answer = OpretDebitorkontoOut(
        debitorkontoId=account.id,
        oprettet=created,
        fordringer=[
            FordringStatusOut(fordringId=c.id, status=c.status, saldoOere=c.remaining, ny=new) for c, new in results
        ],
    )
    # The busiest operation answers with its model serialised once: returned as a model, FastAPI would dump
    # it, validate the dump against the same model again and serialise that (a fifth of its time per call).
    # The contract still declares the model (response_model), and tests compare answers with it.
    return Response(answer.model_dump_json(by_alias=True), status_code=201 if created else 200, media_type=JSON)


@router.post(
    "/fordringer/{fordringId}/tilstand",
    operation_id="RetFordringTilstand",
    tags=["B_01 DebitorRegistrering"],
    response_model=FordringStatusOut,
    responses=_WRITE_ON,
)
async def ret_fordring_tilstand(
    fordringId: IdPath, body: RetFordringTilstandIn, call: CallDep, block: HeaderBlockDep
) -> FordringStatusOut:
    profile = _admit(call, block)
    books = _books(call)
    claim = books.claim(fordringId, block.municipality.cvr)
    if isinstance(body, AnnulleringIn) and misbehaviour.active(call.session.settings, "ignore_annulment"):
        return FordringStatusOut(fordringId=claim.id, status="ANNULLERET", saldoOere=0, ny=False)
    if body.handling == "NEDSKRIVNING" and misbehaviour.active(call.session.settings, "ignore_write_down"):
        return FordringStatusOut(fordringId=claim.id, status=claim.status, saldoOere=claim.remaining, ny=False)
    actions = service.change_state(books, profile, claim, body, call.now)
    await jobs.send_actions(call.runtime, call.session, claim, actions)
    _after_change(call, profile)
    return FordringStatusOut(fordringId=claim.id, status=claim.status, saldoOere=claim.remaining, ny=False)


@router.post(
    "/debitorkonti/{debitorkontoId}/haeftelse",
    operation_id="AendrHaeftelse",
    tags=["B_01 DebitorRegistrering"],
    response_model=DebitorkontoOut,
    responses=_WRITE_ON,
    response_model_exclude_none=True,
)
async def aendr_haeftelse(
    debitorkontoId: IdPath, body: AendrHaeftelseIn, call: CallDep, block: HeaderBlockDep
) -> DebitorkontoOut:
    _admit(call, block)
    books = _books(call)
    account = books.account(debitorkontoId, block.municipality.cvr)
    if not misbehaviour.active(call.session.settings, "ignore_liability_change"):
        service.change_liable(books, account, body)
    return views.account_out(books, account)


# ---- B_02 DebitorForespørgsel ------------------------------------------------------------------------
@router.post(
    "/debitorforespoergsel",
    operation_id="DebitorForespoergsel",
    tags=["B_02 DebitorForespoergsel"],
    response_model=DebitorForespoergselOut,
    responses=problem_responses(400, 401, 403, 409, 422),
)
async def debitor_forespoergsel(
    body: DebitorForespoergselIn, call: CallDep, block: HeaderBlockDep
) -> DebitorForespoergselOut:
    _admit(call, block)
    ensure_valid_cvr(party(body)[1])
    books = _books(call)
    accounts = [
        a
        for a in books.accounts.values()
        if a.municipality_cvr == block.municipality.cvr and (a.liable.cpr, a.liable.cvr) == party(body)
    ]
    return DebitorForespoergselOut(debitorkonti=[views.account_summary(books, a) for a in accounts])


@router.get(
    "/debitorkonti/{debitorkontoId}",
    operation_id="HentDebitorkonto",
    tags=["B_02 DebitorForespoergsel"],
    response_model=DebitorkontoOut,
    responses=_READ_ON,
    response_model_exclude_none=True,
)
async def hent_debitorkonto(debitorkontoId: IdPath, call: CallDep, block: HeaderBlockDep) -> DebitorkontoOut:
    _admit(call, block)
    books = _books(call)
    return views.account_out(books, books.account(debitorkontoId, block.municipality.cvr))


# ---- B_03 DebitorIndbetaling -------------------------------------------------------------------------
def _require_b03(profile: Profile) -> None:
    if not profile.capabilities.b03_payment:
        raise Problem(
            404,
            "OIR-404-NO-PAYMENT-SOLUTION",
            "This debtor system has no payment solution (B_03)",
            f"{profile.product}: citizens pay by bank transfer with the invoice's payment reference",
        )


@router.post(
    "/indbetaling/soeg",
    operation_id="SoegDelfordringTilIndbetaling",
    tags=["B_03 DebitorIndbetaling"],
    response_model=SoegDelfordringOut,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def soeg_delfordring(body: SoegDelfordringIn, call: CallDep, block: HeaderBlockDep) -> SoegDelfordringOut:
    profile = _admit(call, block)
    _require_b03(profile)
    books = _books(call)
    today = call.now.date()
    found = []
    for account in books.accounts.values():
        if account.municipality_cvr != block.municipality.cvr or account.liable.cpr != body.cpr:
            continue
        for claim_id in account.claim_ids:
            claim = books.claims[claim_id]
            if claim.status != "AKTIV" or claim.with_psrm:
                continue
            for sub in claim.subclaims:
                visible = (today - sub.registered).days >= profile.invoice.overview_delay_days
                if sub.remaining > 0 and visible:
                    found.append(
                        BetalbarDelfordringOut(
                            delfordringId=sub.id,
                            fordringId=claim.id,
                            debitorkontoId=account.id,
                            tekst=sub.text,
                            restOere=sub.remaining,
                            betalingsreference=sub.payment_reference,
                            forfaldsdato=claim.due_on,
                        )
                    )
    return SoegDelfordringOut(delfordringer=found)


@router.post(
    "/indbetalinger",
    operation_id="ForetagIndbetaling",
    tags=["B_03 DebitorIndbetaling"],
    response_model=ForetagIndbetalingOut,
    status_code=201,
    responses=_WRITE_ON,
)
async def foretag_indbetaling(
    body: ForetagIndbetalingIn, call: CallDep, block: HeaderBlockDep
) -> ForetagIndbetalingOut:
    profile = _admit(call, block)
    _require_b03(profile)
    receipt = service.pay(
        _books(call),
        profile,
        block.municipality.cvr,
        body,
        call.now,
        twice=misbehaviour.active(call.session.settings, "count_payment_twice"),
    )
    _after_change(call, profile)
    return ForetagIndbetalingOut(**receipt)


# ---- simulation only -----------------------------------------------------------------------------
@router.post(
    "/simulering/bankindbetalinger",
    operation_id="simBankPayment",
    tags=["simulering"],
    response_model=BankIndbetalingOut,
    status_code=201,
    responses=_WRITE_ON,
)
async def bank_payment(body: BankIndbetalingIn, call: CallDep, block: HeaderBlockDep) -> BankIndbetalingOut:
    """A citizen pays by bank transfer with the invoice's payment reference (every profile)."""
    return await book_bank_transfer(call, block, body)


async def book_bank_transfer(call: Call, block: HeaderBlock, body: BankIndbetalingIn) -> BankIndbetalingOut:
    """Book a citizen's bank transfer against a payment reference, as the bank's file would; the
    simulation-only operation and test control's `BogfoerBankindbetaling` both book through here.

    Money is never turned away because of where the claim stands (DOMAIN.md): on a claim handed over
    to PSRM it is a direct payment, reported to the fagsystem and written down at PSRM for direct
    payment on the payment date; on a claim the fagsystem has annulled or written down it is held for
    refund and reported, so FBS records the overpayment.
    """
    profile = _admit(call, block)
    books = _books(call)
    sub = books.by_reference.get(body.betalingsreference)
    if sub is None or books.claims[sub.claim_id].municipality_cvr != block.municipality.cvr:
        raise Problem(404, "OIR-404-PAYMENT-REFERENCE", "No sub-claim has this payment reference")
    claim = books.claims[sub.claim_id]
    settings = call.session.settings
    today = call.now.date()
    owed_to_psrm = None
    gone = claim.status != "AKTIV"  # annulled, written down or paid: the money is the citizen's, to refund
    if not gone:
        books.apply(sub, "DAEKNING", body.beloebOere, today, source="BANK", reference=body.betalingsreference)
        if claim.with_psrm and not misbehaviour.active(settings, "no_psrm_write_down_after_direct_payment"):
            owed_to_psrm = service.direct_payment_write_down(claim, sub, body.beloebOere, today)
    else:
        service.book_on_gone_claim(claim, sub, body.beloebOere, today, "BANK", body.betalingsreference)
    if not (gone and misbehaviour.active(settings, "drop_payment_on_gone_claim")):
        service.record_payment(
            books,
            profile,
            claim,
            [(sub.id, body.beloebOere)],
            call.now,
            "BANK",
            body.betalingsreference,
            twice=misbehaviour.active(settings, "count_payment_twice"),
        )
    if owed_to_psrm is not None and claim.psrm is not None:
        claim.psrm.pending_actions.append({"mfAktionId": psrm_client.new_action_id(), **owed_to_psrm})
        await jobs.send_pending(call.runtime, call.session, claim)
    _after_change(call, profile)
    return BankIndbetalingOut(
        betalingsreference=body.betalingsreference,
        delfordringId=sub.id,
        beloebOere=body.beloebOere,
        restOere=sub.remaining,
    )


@router.post(
    "/simulering/afskrivninger",
    operation_id="simWriteOff",
    tags=["simulering"],
    response_model=FordringStatusOut,
    status_code=201,
    responses=_WRITE_ON,
)
async def write_off(body: AfskrivningIn, call: CallDep, block: HeaderBlockDep) -> FordringStatusOut:
    """A caseworker writes off part or all of a claim; the fagsystem hears of it by callback."""
    profile = _admit(call, block)
    books = _books(call)
    claim = books.claim(body.fordringId, block.municipality.cvr)
    if claim.with_psrm:
        raise Problem(422, "OIR-422-UNDER-COLLECTION", "The claim is with PSRM", claim.id)
    service.write_off(
        books,
        profile,
        claim,
        body.beloebOere,
        body.aarsag,
        call.now,
        report=not misbehaviour.active(call.session.settings, "unreported_write_offs"),
    )
    _after_change(call, profile)
    return FordringStatusOut(fordringId=claim.id, status=claim.status, saldoOere=claim.remaining, ny=False)


@router.get(
    "/simulering/callbacks",
    operation_id="simListCallbacks",
    tags=["simulering"],
    response_model=CallbackListOut,
    responses=problem_responses(400, 401),
    response_model_exclude_none=True,
)
async def list_callbacks(call: CallDep) -> CallbackListOut:
    """The outbox of DækningAfskrivning messages: queued, delivered, retried."""
    return CallbackListOut(
        callbacks=[
            CallbackOut(
                meddelelseId=c.message_id,
                type=c.body["type"],
                fordringId=c.body.get("fordringId"),
                forfaldAt=c.due_at,
                forsoeg=c.attempts,
                leveret=c.delivered_at,
                sidsteFejl=c.last_error,
            )
            for c in _books(call).outbox
        ]
    )
