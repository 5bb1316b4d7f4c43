"""HTTP routes of the FBS simulator: the `fbs` contract (library desk and integration side)."""

from __future__ import annotations

import json
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from contracts.municipalities import Municipality, by_cvr
from contracts.wire import ID_PATTERN, IsoDateTime, UuidStr
from simulators.kernel import CallDep, HeaderBlockDep, KommuneCvr, Problem, ensure_may_act, problem_responses
from simulators.kernel.runtime import Call

from .library import Borrower, Library, LibraryClaim
from .models import (
    AfgoerelseIn,
    AfvisningIn,
    AfvisningOut,
    AnerkendelseIn,
    AnnulleringIn,
    Antal,
    CprIn,
    DelpostOut,
    FordringIn,
    FordringOut,
    HaendelserOut,
    IndsigelseIn,
    IndsigelseOut,
    KvitteringOut,
    LaanerIn,
    LaanerOut,
    LaanerStatusOut,
    NedskrivningIn,
    NotifikationOut,
    OpskrivningIn,
    PosteringIn,
    PosteringOut,
    RettelseIn,
    SaldoopgoerelserOut,
    StatusIn,
    UdtraekOut,
)

router = APIRouter()
IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
_DESK = problem_responses(400, 401, 403, 404, 409, 422)
_INTAKE = problem_responses(400, 401, 403, 404, 409, 422)


def _library(call: Call) -> Library:
    return call.state


def _municipality(call: Call, block_cvr: str) -> Municipality:
    municipality = by_cvr(block_cvr)
    assert municipality is not None
    return municipality


def _after(call: Call, borrower: Borrower) -> None:
    _library(call).review_exclusion(borrower, call.now, int(call.setting("exclusion_limit_oere")))


def claim_out(library: Library, claim: LibraryClaim) -> FordringOut:
    return FordringOut(
        fordringId=claim.id,
        laanerId=claim.borrower_id,
        kommuneKode=claim.municipality.code,
        kommuneCvr=claim.municipality.cvr,
        type=cast(Any, claim.kind),
        tekst=claim.text,
        version=claim.version,
        stiftelsesdato=claim.created_on,
        forfaldsdato=claim.due_on,
        beloebOere=claim.amount,
        saldoOere=claim.balance,
        tilbagebetalingOere=claim.refund_due,
        status=cast(Any, claim.status),
        inddrivelse=cast(Any, claim.collection),
        kontoLukket=claim.account_closed,
        delposter=[DelpostOut(**p) for p in claim.parts],
        posteringer=[
            PosteringOut(**{k: v for k, v in p.items() if k in PosteringOut.model_fields}) for p in claim.postings
        ],
        afvisninger=[AfvisningOut(**r) for r in claim.rejections],
        indsigelse=IndsigelseOut(**claim.dispute) if claim.dispute else None,
    )


# ---- library desk ----------------------------------------------------------------------------------
@router.post(
    "/laanere",
    operation_id="opretLaaner",
    tags=["bibliotek"],
    response_model=LaanerOut,
    status_code=201,
    responses={
        200: {"description": "The borrower existed", "model": LaanerOut},
        **problem_responses(400, 401, 403, 409),
    },
)
async def opret_laaner(body: LaanerIn, call: CallDep, block: HeaderBlockDep, response: Response) -> LaanerOut:
    """Register a borrower at a municipality's library (the same CPR again: the same borrower)."""
    ensure_may_act(call.principal, block)
    borrower, created = _library(call).add_borrower(
        body.cpr, body.navn, block.municipality, str(call.setting("id_series"))
    )
    response.status_code = 201 if created else 200
    return LaanerOut(laanerId=borrower.id, navn=borrower.name, kommuneKode=borrower.municipality.code)


@router.post(
    "/fordringer",
    operation_id="opretFordring",
    tags=["bibliotek"],
    response_model=FordringOut,
    status_code=201,
    responses=_DESK,
)
async def opret_fordring(body: FordringIn, call: CallDep, block: HeaderBlockDep) -> FordringOut:
    """The library makes a claim: a fee, a replacement, or a replacement acknowledged in writing."""
    ensure_may_act(call.principal, block)
    library = _library(call)
    borrower = library.borrower(body.laanerId, block.municipality)
    claim = library.add_claim(
        borrower,
        body.type,
        body.beloebOere,
        body.haandteringsgebyrOere,
        body.tekst,
        body.forfaldsdato,
        call.now,
        str(call.setting("id_series")),
    )
    _after(call, borrower)
    return claim_out(library, claim)


@router.post(
    "/fordringer/{fordringId}/nedskrivninger",
    operation_id="nedskrivFordring",
    tags=["bibliotek"],
    response_model=FordringOut,
    responses=_DESK,
)
async def nedskriv(fordringId: IdPath, body: NedskrivningIn, call: CallDep, block: HeaderBlockDep) -> FordringOut:
    ensure_may_act(call.principal, block)
    library = _library(call)
    claim = library.claim(fordringId, block.municipality)
    library.write_down(claim, body.beloebOere, body.virkningsdato, body.aarsag, call.now)
    _after(call, library.borrowers[claim.borrower_id])
    return claim_out(library, claim)


@router.post(
    "/fordringer/{fordringId}/annullering",
    operation_id="annullerFordring",
    tags=["bibliotek"],
    response_model=FordringOut,
    responses=_DESK,
)
async def annuller(fordringId: IdPath, body: AnnulleringIn, call: CallDep, block: HeaderBlockDep) -> FordringOut:
    ensure_may_act(call.principal, block)
    library = _library(call)
    claim = library.claim(fordringId, block.municipality)
    library.annul(claim, body.aarsag, call.now)
    _after(call, library.borrowers[claim.borrower_id])
    return claim_out(library, claim)


@router.post(
    "/fordringer/{fordringId}/opskrivninger",
    operation_id="opskrivFordring",
    tags=["bibliotek"],
    response_model=FordringOut,
    responses=_DESK,
)
async def opskriv(fordringId: IdPath, body: OpskrivningIn, call: CallDep, block: HeaderBlockDep) -> FordringOut:
    """Write an open claim up (opskrivning): a new part; 409 once it is closed or with PSRM."""
    ensure_may_act(call.principal, block)
    library = _library(call)
    claim = library.claim(fordringId, block.municipality)
    library.write_up(claim, body.beloebOere, body.virkningsdato or call.now.date(), body.tekst, call.now)
    _after(call, library.borrowers[claim.borrower_id])
    return claim_out(library, claim)


@router.post(
    "/fordringer/{fordringId}/anerkendelse",
    operation_id="anerkendFordring",
    tags=["bibliotek"],
    response_model=FordringOut,
    responses=_DESK,
)
async def anerkend(fordringId: IdPath, body: AnerkendelseIn, call: CallDep, block: HeaderBlockDep) -> FordringOut:
    """The borrower acknowledged an open replacement claim in writing after it was raised."""
    ensure_may_act(call.principal, block)
    library = _library(call)
    claim = library.claim(fordringId, block.municipality)
    library.acknowledge(claim, body.dato or call.now.date(), call.now)
    return claim_out(library, claim)


@router.post(
    "/fordringer/{fordringId}/indsigelse",
    operation_id="modtagIndsigelse",
    tags=["bibliotek"],
    response_model=FordringOut,
    response_model_exclude_none=True,
    responses=_DESK,
)
async def indsigelse(fordringId: IdPath, body: IndsigelseIn, call: CallDep, block: HeaderBlockDep) -> FordringOut:
    """The borrower disputes an open claim (indsigelse): collection pauses until the library decides; 409
    when the claim is closed, already disputed, or with PSRM (disputes go to Gældsstyrelsen then)."""
    ensure_may_act(call.principal, block)
    library = _library(call)
    claim = library.claim(fordringId, block.municipality)
    library.dispute(claim, body.begrundelse, call.now)
    return claim_out(library, claim)


@router.post(
    "/fordringer/{fordringId}/indsigelse/afgoerelse",
    operation_id="afgoerIndsigelse",
    tags=["bibliotek"],
    response_model=FordringOut,
    response_model_exclude_none=True,
    responses=_DESK,
)
async def afgoerelse(fordringId: IdPath, body: AfgoerelseIn, call: CallDep, block: HeaderBlockDep) -> FordringOut:
    """The library decides the open dispute: MEDHOLD annuls the claim, AFVIST resumes its collection."""
    ensure_may_act(call.principal, block)
    library = _library(call)
    claim = library.claim(fordringId, block.municipality)
    library.resolve_dispute(claim, body.udfald, call.now)
    _after(call, library.borrowers[claim.borrower_id])
    return claim_out(library, claim)


@router.get(
    "/laanere/{laanerId}/saldoopgoerelser",
    operation_id="hentSaldoopgoerelser",
    tags=["bibliotek"],
    response_model=SaldoopgoerelserOut,
    responses=problem_responses(400, 401, 403, 404),
)
async def saldoopgoerelser(laanerId: IdPath, call: CallDep, block: HeaderBlockDep) -> SaldoopgoerelserOut:
    """The borrower's balance statements (saldoopgørelser), oldest first: FBS makes one on the first day of
    each month to every borrower with open claims."""
    ensure_may_act(call.principal, block)
    borrower = _library(call).borrower(laanerId, block.municipality)
    return SaldoopgoerelserOut.model_validate({"saldoopgoerelser": borrower.statements})


@router.put(
    "/laanere/{laanerId}/cpr", operation_id="aendrCpr", tags=["bibliotek"], response_model=LaanerOut, responses=_DESK
)
async def aendr_cpr(laanerId: IdPath, body: CprIn, call: CallDep, block: HeaderBlockDep) -> LaanerOut:
    """The borrower's CPR changed: one CPR_AENDRET event per open claim."""
    ensure_may_act(call.principal, block)
    library = _library(call)
    borrower = library.borrower(laanerId, block.municipality)
    library.change_cpr(borrower, body.cpr, call.now)
    return LaanerOut(laanerId=borrower.id, navn=borrower.name, kommuneKode=borrower.municipality.code)


@router.post(
    "/fordringer/{fordringId}/rettelse",
    operation_id="retAfvistFordring",
    tags=["bibliotek"],
    response_model=FordringOut,
    responses=_DESK,
)
async def ret(fordringId: IdPath, body: RettelseIn, call: CallDep, block: HeaderBlockDep) -> FordringOut:
    """Correct a claim a debtor system rejected, and send it again (a new version)."""
    ensure_may_act(call.principal, block)
    library = _library(call)
    claim = library.claim(fordringId, block.municipality)
    library.correct(claim, body.beloebOere, body.tekst, body.type, call.now)
    _after(call, library.borrowers[claim.borrower_id])
    return claim_out(library, claim)


@router.get(
    "/fordringer/{fordringId}",
    operation_id="hentFordring",
    tags=["bibliotek"],
    response_model=FordringOut,
    response_model_exclude_none=True,
    responses=problem_responses(400, 401, 403, 404),
)
async def hent_fordring(fordringId: IdPath, call: CallDep, block: HeaderBlockDep) -> FordringOut:
    ensure_may_act(call.principal, block)
    library = _library(call)
    return claim_out(library, library.claim(fordringId, block.municipality))


# ---- integration side --------------------------------------------------------------------------
async def _feed_headers(
    x_transaktion_id: Annotated[UuidStr, Header(alias="X-Transaktion-Id", description="Transaction id")],
    x_transaktion_tid: Annotated[IsoDateTime, Header(alias="X-Transaktion-Tid", description="When the reader asked")],
    # Not `| None`: a header is absent or a CVR; a literal "null" is no municipality.
    x_kommune_cvr: Annotated[
        KommuneCvr,
        Header(
            alias="X-Kommune-Cvr",
            description="Only this municipality's events",
        ),
    ] = None,  # type: ignore[assignment]
) -> str | None:
    """The feed spans all 98 municipalities: the header block without a required municipality."""
    return x_kommune_cvr


@router.get(
    "/haendelser",
    operation_id="hentHaendelser",
    tags=["integration"],
    response_model=HaendelserOut,
    response_model_exclude_none=True,
    responses=problem_responses(400, 401),
)
async def haendelser(
    call: CallDep,
    municipality_cvr: Annotated[str | None, Depends(_feed_headers)],
    efter: Annotated[str | None, Query(pattern=r"^c-[0-9]{8}$", description="Cursor to read after")] = None,
    antal: Annotated[Antal, Query(description="At most this many events")] = 100,
) -> HaendelserOut:
    """Claim events in order, from a cursor: reading consumes nothing, so a reader that crashed reads again."""
    events, next_cursor = _library(call).read(efter, antal, municipality_cvr)
    return HaendelserOut.model_validate({"haendelser": events, "naesteCursor": next_cursor})


def _fingerprint(body: object) -> str:
    return json.dumps(body.model_dump(mode="json"), sort_keys=True)  # type: ignore[attr-defined]


def _intake(
    call: Call, block_cvr: str, intake_id: str, claim_id: str, body: object
) -> tuple[Library, LibraryClaim, bool]:
    library = _library(call)
    claim = library.claim(claim_id, _municipality(call, block_cvr))
    earlier = library.seen(intake_id, _fingerprint(body))
    return library, claim, earlier is not None


@router.post(
    "/posteringer",
    operation_id="modtagPostering",
    tags=["integration"],
    response_model=KvitteringOut,
    status_code=201,
    responses={200: {"description": "Received before under the same id", "model": KvitteringOut}, **_INTAKE},
)
async def postering(body: PosteringIn, call: CallDep, block: HeaderBlockDep, response: Response) -> KvitteringOut:
    """A payment (DAEKNING) or write-off (AFSKRIVNING) on a claim, exactly once per posteringId."""
    ensure_may_act(call.principal, block)
    library, claim, duplicate = _intake(call, block.municipality.cvr, body.posteringId, body.fordringId, body)
    if not duplicate:
        library.post(claim, body.model_dump())
        library.received[body.posteringId] = (_fingerprint(body), claim.id)
        _after(call, library.borrowers[claim.borrower_id])
    response.status_code = 200 if duplicate else 201
    return KvitteringOut(id=body.posteringId, dublet=duplicate, fordring=claim_out(library, claim))


@router.post(
    "/statusmeddelelser",
    operation_id="modtagStatusmeddelelse",
    tags=["integration"],
    response_model=KvitteringOut,
    status_code=201,
    responses={200: {"description": "Received before under the same id", "model": KvitteringOut}, **_INTAKE},
)
async def statusmeddelelse(body: StatusIn, call: CallDep, block: HeaderBlockDep, response: Response) -> KvitteringOut:
    """Handed over to collection, returned from it, or the debtor account closed."""
    ensure_may_act(call.principal, block)
    library, claim, duplicate = _intake(call, block.municipality.cvr, body.meddelelseId, body.fordringId, body)
    if not duplicate:
        if body.status == "OVERDRAGET_TIL_INDDRIVELSE":
            claim.collection = "OVERDRAGET"
        elif body.status == "RETUR_FRA_INDDRIVELSE":
            claim.collection = "RETURNERET"
        else:
            claim.account_closed = True
        library.received[body.meddelelseId] = (_fingerprint(body), claim.id)
    response.status_code = 200 if duplicate else 201
    return KvitteringOut(id=body.meddelelseId, dublet=duplicate, fordring=claim_out(library, claim))


@router.post(
    "/afvisninger",
    operation_id="modtagAfvisning",
    tags=["integration"],
    response_model=KvitteringOut,
    status_code=201,
    responses={200: {"description": "Received before under the same id", "model": KvitteringOut}, **_INTAKE},
)
async def afvisning(body: AfvisningIn, call: CallDep, block: HeaderBlockDep, response: Response) -> KvitteringOut:
    """A debtor system rejected a claim: it waits for the library's correction; nothing is lost."""
    ensure_may_act(call.principal, block)
    library, claim, duplicate = _intake(call, block.municipality.cvr, body.afvisningId, body.fordringId, body)
    if not duplicate:
        if claim.status not in ("AABEN", "AFVIST"):
            raise Problem(
                422, "OIR-422-CLAIM-CLOSED", "The claim is closed; a rejection no longer applies", claim.status
            )
        claim.status = "AFVIST"
        claim.rejections.append(
            {"afvisningId": body.afvisningId, "kode": body.kode, "tekst": body.tekst, "modtaget": call.now}
        )
        library.received[body.afvisningId] = (_fingerprint(body), claim.id)
    response.status_code = 200 if duplicate else 201
    return KvitteringOut(id=body.afvisningId, dublet=duplicate, fordring=claim_out(library, claim))


@router.get(
    "/migrering/udtraek",
    operation_id="hentMigreringsudtraek",
    tags=["integration"],
    response_model=UdtraekOut,
    response_model_exclude_none=True,
    responses=problem_responses(400, 401, 403),
)
async def migreringsudtraek(call: CallDep, block: HeaderBlockDep) -> UdtraekOut:
    """The municipality's go-live extract: each open claim as it stands now — original parts, what was paid
    at the library or written down, the feed events it includes — and the feed cursor of this cut-off."""
    ensure_may_act(call.principal, block)
    lines, cutoff = _library(call).extract(block.municipality)
    return UdtraekOut.model_validate({"afskaeringsCursor": cutoff, "fordringer": lines})


@router.get(
    "/laanere/{laanerId}/status",
    operation_id="hentLaanerStatus",
    tags=["integration"],
    response_model=LaanerStatusOut,
    responses=problem_responses(400, 401, 403, 404),
)
async def laaner_status(laanerId: IdPath, call: CallDep, block: HeaderBlockDep) -> LaanerStatusOut:
    """The borrower's balance, the local limit, and whether they are excluded from borrowing."""
    ensure_may_act(call.principal, block)
    library = _library(call)
    borrower = library.borrower(laanerId, block.municipality)
    limit = int(call.setting("exclusion_limit_oere"))
    _after(call, borrower)  # a changed limit applies at once
    open_claims = [
        c for c in library.claims.values() if c.borrower_id == borrower.id and c.status in ("AABEN", "AFVIST")
    ]
    return LaanerStatusOut(
        laanerId=borrower.id,
        kommuneKode=borrower.municipality.code,
        saldoOere=library.balance(borrower),
        graenseOere=limit,
        udelukket=borrower.excluded,
        aabneFordringer=len(open_claims),
        notifikationer=[NotifikationOut(**n) for n in borrower.notices],
    )
