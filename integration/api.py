"""The engine's HTTP API: the `oir-fagsystem-v3` callback intake, health, and the contract it serves.

A debtor system delivers DækningAfskrivning messages here. Each is authenticated by the callback
token of a route, accepted only for a municipality that route serves and a claim the engine
registered there, deduplicated by its message id, and turned into postings or status notices for FBS
in the same transaction — so a crash after the 202 loses nothing and a redelivery changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from starlette.routing import Match

from contracts.limits import CALLBACK_LIMITS, BearerGate, BodyLimitMiddleware, BodyLimits
from contracts.prebuilt_routes import build_routes_now, serve_routes
from contracts.problems import Problem, install_problem_handlers, problem_responses
from contracts.specs import load_spec
from contracts.wire import Ident, IsoDate, IsoDateTime, Oere, StrictModel, UuidStr

from .money import book_posting, check_money
from .routing import Route, RoutingError
from .store import ClaimRecord, ReceivedCallback, RepairedMovement
from .translate import callback_to_fbs

if TYPE_CHECKING:
    from .engine import Engine


class Delfordring(StrictModel):
    delfordringId: Ident
    beloebOere: Oere


class DaekningAfskrivning(StrictModel):
    meddelelseId: UuidStr
    debitorkontoId: Ident
    fordringId: Ident | None = None
    type: Literal["DAEKNING", "AFSKRIVNING", "KONTO_LUKKET", "OVERDRAGET_TIL_INDDRIVELSE", "RETUR_FRA_INDDRIVELSE"]
    beloebOere: Oere | None = None
    dato: IsoDate
    kilde: Annotated[str, Field(max_length=40)] | None = None
    reference: Annotated[str, Field(max_length=64)] | None = None
    returKode: Literal["AFTL", "ANDN", "KLAG"] | None = None
    delfordringer: list[Delfordring] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DaekningAfskrivning:
        if self.type in ("DAEKNING", "AFSKRIVNING") and (self.beloebOere is None or self.fordringId is None):
            raise ValueError(f"{self.type} needs fordringId and beloebOere")
        if self.type != "KONTO_LUKKET" and self.fordringId is None:
            raise ValueError(f"{self.type} needs fordringId")
        return self


class Kvittering(BaseModel):
    model_config = ConfigDict(extra="forbid")
    meddelelseId: str
    dublet: bool


_bearer = HTTPBearer(auto_error=False)
router = APIRouter()


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def authenticated_route(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    x_transaktion_id: Annotated[UuidStr, Header(alias="X-Transaktion-Id")],
    x_transaktion_tid: Annotated[IsoDateTime, Header(alias="X-Transaktion-Tid")],
    x_kommune_cvr: Annotated[str, Header(alias="X-Kommune-Cvr", pattern=r"^[0-9]{8}$")],
) -> Route:
    """The route whose debtor system may report for this municipality, by its callback token."""
    engine = _engine(request)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(
            401, "OIR-401-UNAUTHENTICATED", "Missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    if credentials.credentials not in engine.callback_tokens():
        raise Problem(
            401,
            "OIR-401-UNAUTHENTICATED",
            "The token is not a debtor system's callback token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        route = engine.route_for(x_kommune_cvr)
    except RoutingError as error:
        raise Problem(
            403, "OIR-403-WRONG-ROUTE", "No route of these credentials serves the municipality", error.text
        ) from error
    if route.callback_token != credentials.credentials:
        raise Problem(
            403,
            "OIR-403-WRONG-ROUTE",
            "Only the debtor system that owns the claim's route may report",
            f"{route.municipality.name} is served by another debtor system",
        )
    return route


async def no_duplicate_keys(request: Request) -> None:
    """Refuse (400) a body with a key twice in one object: which amount did the sender mean?

    Python's json keeps the last value silently; an overpayment hidden behind a second `beloebOere`
    would then be judged on a number the debtor system may not have meant.
    """
    try:
        json.loads(await request.body(), object_pairs_hook=_refuse_duplicates)
    except _DuplicateKey as error:
        raise Problem(400, "OIR-400-DUPLICATE-KEY", "A JSON object names the same key twice", str(error)) from error
    except ValueError:
        return  # not JSON at all: the body's own validation has answered that already


class _DuplicateKey(Exception):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise _DuplicateKey(", ".join(repeated))
    return dict(pairs)


@router.post(
    "/daekningafskrivning",
    operation_id="DaekningAfskrivningRegistrering",
    status_code=202,
    tags=["B_01 DaekningAfskrivning"],
    response_model=Kvittering,
    responses=problem_responses(400, 401, 403, 409, 422),
)
def receive(
    request: Request,
    body: DaekningAfskrivning,
    route: Annotated[Route, Depends(authenticated_route)],
    _: Annotated[None, Depends(no_duplicate_keys)],
) -> Kvittering:
    """Take in one message: postings or status notices for FBS are queued in the same transaction.

    A plain `def`: FastAPI runs it in its thread pool, so the database work never blocks the event
    loop (and with it every other callback and /health) while a transaction waits for a lock.
    """
    engine = _engine(request)
    message = body.model_dump(mode="json", exclude_none=True)
    fingerprint = hashlib.sha256(json.dumps(message, sort_keys=True).encode()).hexdigest()
    try:
        return _take_in(engine, body, message, fingerprint, route.municipality.cvr)
    except IntegrityError:
        # The same message arrived twice at once (these run in parallel threads) and the other copy
        # committed first: answer as a redelivery, never 500.
        with engine.transaction() as session:
            return _earlier(session, body.meddelelseId, fingerprint) or _never_stored(body.meddelelseId)


def _earlier(session: Any, message_id: str, fingerprint: str) -> Kvittering | None:
    """The answer to a message already taken in (409 if its id came with another message)."""
    earlier = session.get(ReceivedCallback, message_id)
    if earlier is None:
        return None
    if earlier.fingerprint != fingerprint:
        raise Problem(409, "OIR-409-MESSAGE-ID-REUSED", "This meddelelseId was used for another message")
    return Kvittering(meddelelseId=message_id, dublet=True)


def _never_stored(message_id: str) -> NoReturn:
    raise Problem(
        409, "OIR-409-CONFLICT", "The message conflicted with another being taken in; send it again", message_id
    )


def _take_in(
    engine: Engine, body: DaekningAfskrivning, message: dict[str, Any], fingerprint: str, cvr: str
) -> Kvittering:
    with engine.transaction() as session:
        duplicate = _earlier(session, body.meddelelseId, fingerprint)
        if duplicate is not None:
            return duplicate
        records = _claims_of(session, body, cvr)
        repaired = frozenset(
            session.scalars(
                select(RepairedMovement.signature).where(RepairedMovement.claim_id.in_(list(records)))
            ).all()
        )
        session.add(
            ReceivedCallback(
                message_id=body.meddelelseId,
                fingerprint=fingerprint,
                municipality_cvr=cvr,
                kind=body.type,
                received_at=engine.clock.now(),
            )
        )
        claims = {claim_id: list(record.subclaim_ids) for claim_id, record in records.items()}
        fbs_claims = {claim_id: record.fbs_id for claim_id, record in records.items() if record.fbs_claim_id}
        for claim_id, spec in callback_to_fbs(message, claims, repaired, fbs_claims):
            if spec.kind == "POSTING":
                book_posting(session, records[claim_id], spec.body["beloebOere"])
            # queued under the FBS claim, so it keeps its place among that claim's messages
            engine.queue(session, spec, cvr, spec.body["fordringId"], f"callback:{body.meddelelseId}")
    engine.metrics.callbacks.labels("accepted").inc()
    return Kvittering(meddelelseId=body.meddelelseId, dublet=False)


# What an operator and a deployment ask the engine. Module-level endpoints that find their engine on the
# app: FastAPI keeps every endpoint function it has seen in module-wide caches, so functions made per app
# and closing over its engine kept every engine ever made (a test process makes hundreds) alive.
_operations = APIRouter()


@_operations.get("/health", include_in_schema=False)
def health(request: Request) -> JSONResponse:  # a plain def: the database query runs in the thread pool
    engine: Engine = request.app.state.engine
    try:
        depth, quarantined = engine.outbox_counts()  # touches the database
    except SQLAlchemyError as error:
        return JSONResponse({"status": "unavailable", "error": type(error).__name__}, status_code=503)
    # Quarantined messages are money or a status FBS lacks: the engine runs, but needs a person.
    status = "attention" if quarantined else "ok"
    body: dict[str, Any] = {"status": status, "queueDepth": depth, "quarantined": quarantined}
    if engine.routes.development or engine.routes.warnings:  # trust an operator must know about
        body |= {"development": engine.routes.development, "warnings": engine.routes.warnings}
    return JSONResponse(body)


@_operations.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:  # a plain def, like /health
    engine: Engine = request.app.state.engine
    engine.queue_depth()
    return Response(generate_latest(engine.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@_operations.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.contract)


def create_engine_api(engine: Engine, *, limits: BodyLimits = CALLBACK_LIMITS) -> FastAPI:
    """The engine's API app; it serves its contract (`oir-fagsystem-v3`) at /openapi.json.

    A callback without a known token is refused (401) before its body is read; a body over `limits`
    or slower than its deadline is refused (413, 408) as it arrives (contracts/limits.py).
    """
    app = FastAPI(title="ØiR integration engine", version="3.0.0", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.engine = engine
    install_problem_handlers(app)
    serve_routes(app, router)
    app.add_middleware(BodyLimitMiddleware, limits=limits)
    app.add_middleware(  # added last, so outermost: authentication before the body limits
        BearerGate,
        tokens=engine.callback_tokens,
        protects=lambda scope: any(route.matches(scope)[0] is Match.FULL for route in router.routes),
    )
    app.state.contract = load_spec("oir-fagsystem-v3")
    serve_routes(app, _operations)
    return build_routes_now(app)  # here, not in a server thread on the first request (see the module)


def _claims_of(session: Any, body: DaekningAfskrivning, cvr: str) -> dict[str, ClaimRecord]:
    """The registered claims the message concerns (one claim, or every claim of a closed account).

    A claim must be this municipality's and on the account the message names, and money must fit
    it (`check_money`): what the engine can decide it decides here, before the 202, because a debtor
    never redelivers a message it was told was accepted.
    """
    if body.fordringId is not None:
        record = session.get(ClaimRecord, body.fordringId)
        if record is None or record.municipality_cvr != cvr:
            raise Problem(422, "OIR-422-UNKNOWN-CLAIM", "No claim of this municipality has that id", body.fordringId)
        if record.account_id != body.debitorkontoId:
            raise Problem(
                422,
                "OIR-422-ACCOUNT-MISMATCH",
                "The claim is not on the debtor account the message names",
                f"{body.fordringId} is not on {body.debitorkontoId}",
            )
        if body.type in ("DAEKNING", "AFSKRIVNING"):
            check_money(body, record)
        return {record.claim_id: record}
    records = session.scalars(
        select(ClaimRecord).where(ClaimRecord.account_id == body.debitorkontoId, ClaimRecord.municipality_cvr == cvr)
    ).all()
    if not records:
        raise Problem(
            422, "OIR-422-UNKNOWN-ACCOUNT", "No account of this municipality has that id", body.debitorkontoId
        )
    return {r.claim_id: r for r in records}
