"""The citizen payment solution: find what you owe your municipality and pay it through B_03.

A citizen logged in with MitID (simulated: the CPR arrives in the request) sees the payable
sub-claims of the municipality's debtor system and pays some of them. Where the municipality's
debtor system has no payment solution (Prisme 2015 without the add-on, Prisme 2009, EG), it says so
plainly — no pay button, only the text telling the citizen to pay by bank transfer.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, FastAPI
from pydantic import Field

from contracts.municipalities import Municipality
from contracts.profile import PROFILE_NAMES, load_profile
from simulators.kernel import (
    CallDep,
    Cpr,
    HeaderBlockDep,
    Ident,
    Oere,
    OutModel,
    Principal,
    Problem,
    SimulatorSpec,
    StrictModel,
    create_simulator_app,
    ensure_may_act,
    problem_responses,
)
from simulators.kernel.runtime import Call

router = APIRouter()
NO_PAYMENT_TEXT = (
    "Din kommunes debitorsystem har ingen betalingsløsning. Betal via bankoverførsel eller "
    "girokort med betalingsreferencen på din faktura."
)


def _setting_key(profile: str, what: str = "url") -> str:
    return f"debtor_{what}_" + profile.replace("-", "_")


SETTINGS_DEFAULTS: dict[str, Any] = {
    **{_setting_key(p): None for p in PROFILE_NAMES},
    "debtor_token": "oir-dev-token",
    # a vendor's own system takes its own credentials: debtor_token_<profile> replaces debtor_token there
    **{_setting_key(p, "token"): None for p in PROFILE_NAMES},
}


class OverblikIn(StrictModel):
    cpr: Cpr


class PostOut(OutModel):
    delfordringId: str
    fordringId: str
    tekst: str
    restOere: int
    betalingsreference: str
    forfaldsdato: str


class OverblikOut(OutModel):
    kommune: str
    betalingsloesning: bool = Field(description="false: no pay button; pay by bank transfer (see besked)")
    besked: str | None = None
    poster: list[PostOut]


class LinjeIn(StrictModel):
    delfordringId: Ident
    beloebOere: Oere


class BetalingIn(StrictModel):
    cpr: Cpr
    betalingId: Ident
    delfordringer: Annotated[list[LinjeIn], Field(min_length=1, max_length=50)]


class BetalingOut(OutModel):
    betalingId: str
    beloebOere: int
    kvittering: dict[str, Any]


def _debtor_url(call: Call, municipality: Municipality) -> str:
    url = call.setting(_setting_key(municipality.vendor))
    if not url:
        raise Problem(
            422,
            "OIR-422-DEBTOR-NOT-CONFIGURED",
            "No debtor system is configured for this municipality",
            f"set {_setting_key(municipality.vendor)}",
        )
    return str(url).rstrip("/")


async def _b03(call: Call, municipality: Municipality, path: str, body: dict[str, Any]) -> httpx.Response:
    token = call.setting(_setting_key(municipality.vendor, "token")) or call.setting("debtor_token")
    headers = call.runtime.outgoing_headers(call.session, token, municipality.cvr, str(uuid.uuid4()))
    url = _debtor_url(call, municipality) + path
    try:
        response = await call.runtime.client().post(url, json=body, headers=headers, timeout=10.0)
    except httpx.HTTPError as exc:
        raise Problem(
            503, "OIR-503-DEBTOR-UNAVAILABLE", "The debtor system did not answer", type(exc).__name__
        ) from exc
    call.session.journal.record(
        at=call.now,
        direction="out",
        method="POST",
        path=url,
        operation=path,
        status=response.status_code,
        transaction_id=headers["X-Transaktion-Id"],
        request_body=body,
        response_body=response.json() if response.content else None,
    )
    if response.status_code >= 500:
        raise Problem(503, "OIR-503-DEBTOR-UNAVAILABLE", "The debtor system failed", f"HTTP {response.status_code}")
    return response


def _pass_on(response: httpx.Response) -> Problem:
    body = response.json() if response.content else {}
    status = response.status_code if response.status_code in (403, 404, 409, 422) else 422
    return Problem(
        status,
        body.get("code", f"OIR-{status}-DEBTOR"),
        body.get("title", "Rejected by the debtor system"),
        body.get("detail"),
    )


@router.post(
    "/betalingsoverblik",
    operation_id="hentBetalingsoverblik",
    tags=["borger"],
    response_model=OverblikOut,
    response_model_exclude_none=True,
    responses=problem_responses(400, 401, 403, 409, 422, 503),
)
async def overblik(body: OverblikIn, call: CallDep, block: HeaderBlockDep) -> OverblikOut:
    """What the citizen owes the municipality, payable here if its debtor system has B_03."""
    ensure_may_act(call.principal, block)
    municipality = block.municipality
    if not load_profile(municipality.vendor).capabilities.b03_payment:
        return OverblikOut(kommune=municipality.name, betalingsloesning=False, besked=NO_PAYMENT_TEXT, poster=[])
    response = await _b03(call, municipality, "/indbetaling/soeg", {"cpr": body.cpr})
    if response.status_code != 200:
        raise _pass_on(response)
    poster = [PostOut(**{k: item[k] for k in PostOut.model_fields}) for item in response.json()["delfordringer"]]
    return OverblikOut(kommune=municipality.name, betalingsloesning=True, poster=poster)


@router.post(
    "/betalinger",
    operation_id="betal",
    tags=["borger"],
    response_model=BetalingOut,
    status_code=201,
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
)
async def betal(body: BetalingIn, call: CallDep, block: HeaderBlockDep) -> BetalingOut:
    """Pay sub-claims (ForetagIndbetaling). Without B_03 the answer is 422 OIR-422-NO-PAYMENT-SOLUTION."""
    ensure_may_act(call.principal, block)
    municipality = block.municipality
    if not load_profile(municipality.vendor).capabilities.b03_payment:
        raise Problem(
            422,
            "OIR-422-NO-PAYMENT-SOLUTION",
            "The municipality's debtor system has no payment solution",
            NO_PAYMENT_TEXT,
        )
    payable = await _b03(call, municipality, "/indbetaling/soeg", {"cpr": body.cpr})
    if payable.status_code != 200:
        raise _pass_on(payable)
    own = {item["delfordringId"] for item in payable.json()["delfordringer"]}
    foreign = [line.delfordringId for line in body.delfordringer if line.delfordringId not in own]
    if foreign:
        raise Problem(
            403, "OIR-403-NOT-YOUR-CLAIM", "A citizen can only pay their own payable sub-claims", ", ".join(foreign)
        )
    response = await _b03(
        call,
        municipality,
        "/indbetalinger",
        {
            "betalingId": body.betalingId,
            "betalingsmetode": "KORT",
            "delfordringer": [line.model_dump() for line in body.delfordringer],
        },
    )
    if response.status_code not in (200, 201):
        raise _pass_on(response)
    receipt = response.json()
    return BetalingOut(betalingId=body.betalingId, beloebOere=receipt["beloebOere"], kvittering=receipt)


def create_app(
    *,
    tokens: dict[str, Principal] | None = None,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    **settings: Any,
) -> FastAPI:
    spec = SimulatorSpec(
        name="payment",
        title="Betalingsløsning – Mit Betalingsoverblik (simulated)",
        description="A citizen payment solution that pays sub-claims through the debtor system's B_03.",
        contract="payment",
        routers=[router],
        state_factory=dict,
        settings_defaults=SETTINGS_DEFAULTS,
    )
    return create_simulator_app(spec, tokens=tokens, settings=settings, transports=transports)
