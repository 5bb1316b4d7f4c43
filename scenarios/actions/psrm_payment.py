"""Actors `psrm` (Gældsstyrelsen's debt collection) and `payment` (the citizen payment solution)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from contracts.municipalities import for_vendor

from ..context import Response, RunContext, StepFailure
from ..fields import Returns
from ..vocabulary import Arg, action
from .common import MONEY, REF, cvr_of, must, settings
from .debtor import find_claim


def _psrm_id(ctx: RunContext, claim: dict[str, Any]) -> str | None:
    view = find_claim(ctx, claim)
    return view.get("psrmFordringId") if view else None


def _psrm_id_or_fail(ctx: RunContext, claim: dict[str, Any]) -> str:
    psrm_id = _psrm_id(ctx, claim)
    if not psrm_id:
        raise StepFailure(f"claim {claim.get('fordringId')} has no PSRM claim id (not handed over)", None)
    return psrm_id


@action(
    "psrm.claim",
    "query",
    args={"claim": REF},
    primary="claim",
    simulated=True,
    response=Returns("psrm-fordringshaver#/components/schemas/PsrmFordringOut"),
)
def psrm_claim(ctx: RunContext, claim: dict[str, Any]) -> dict[str, Any] | None:
    """PSRM's view of a handed-over claim (status, balance, history), or None before the handover."""
    psrm_id = _psrm_id(ctx, claim)
    if not psrm_id:
        return None
    return must(ctx.call("psrm", "GET", f"/fordringer/{psrm_id}", cvr=cvr_of(claim)), "PSRM claim")  # type: ignore[no-any-return]


@action(
    "psrm.coverage",
    args={
        "claim": REF,
        "amount": MONEY,
        "source": Arg("str", choices=("MODREGNING", "LOENINDEHOLDELSE", "INDBETALING")),
    },
    simulated=True,
)
def coverage(ctx: RunContext, claim: dict[str, Any], amount: int, source: str | None = None) -> Response:
    """PSRM collects money on a claim (offsetting, wage deduction, payment)."""
    body = {"psrmFordringId": _psrm_id_or_fail(ctx, claim), "beloebOere": amount, "kilde": source or "LOENINDEHOLDELSE"}
    return ctx.call("psrm", "POST", "/simulering/daekninger", body=body, cvr=cvr_of(claim))


@action(
    "psrm.return",
    args={"claim": REF, "return_code": Arg("str", required=True, choices=("AFTL", "ANDN", "KLAG")), "text": Arg("str")},
    simulated=True,
)
def give_back(ctx: RunContext, claim: dict[str, Any], return_code: str, text: str | None = None) -> Response:
    """PSRM returns a claim to the creditor (AFTL agreement, ANDN other, KLAG complaint)."""
    body = {
        "psrmFordringId": _psrm_id_or_fail(ctx, claim),
        "returKode": return_code,
        "tekst": text or f"Retur {return_code}",
    }
    return ctx.call("psrm", "POST", "/simulering/returneringer", body=body, cvr=cvr_of(claim))


@action(
    "psrm.hearing_answer",
    args={
        "claim": REF,
        "answer": Arg("str", required=True, choices=("BEGRUNDET", "TILBAGETRUKKET")),
        "reason": Arg("str"),
    },
)
def hearing_answer(ctx: RunContext, claim: dict[str, Any], answer: str, reason: str | None = None) -> Response:
    """The creditor answers a hearing (HØRING): justified, or withdrawn."""
    body = {"svar": answer, "begrundelse": reason or "Fordringen er korrekt opgjort"}
    path = f"/hoeringer/{_psrm_id_or_fail(ctx, claim)}/svar"
    return ctx.call("psrm", "POST", path, body=body, cvr=cvr_of(claim))


def _action_defaults(ctx: RunContext, given: dict[str, Any]) -> dict[str, Any]:
    today = ctx.virtual_now().date()
    kind = given.get("aktion", "OPRETFORDRING")
    base: dict[str, Any] = {"aktion": kind, "mfAktionId": f"A-{uuid.uuid4().hex[:12]}"}
    if kind in ("OPRETFORDRING", "GENINDSENDFORDRING"):
        base |= {
            "fordringshaverReference": f"R-{uuid.uuid4().hex[:10]}",
            "fordringsart": "HOVEDFORDRING",
            "fordringstype": "BIB-ERSTATNING-ANERKENDT",
            "beloebOere": 45000,
            "stiftelsesdato": (today - timedelta(days=200)).isoformat(),
            "forfaldsdato": (today - timedelta(days=200)).isoformat(),
            "sidsteRettidigeBetalingsdato": (today - timedelta(days=170)).isoformat(),
            "periodeFra": (today - timedelta(days=200)).isoformat(),
            "periodeTil": (today - timedelta(days=200)).isoformat(),
            "haeftere": [{"cpr": ctx.people.cpr(), "foraeldelsesdato": (today + timedelta(days=3 * 365)).isoformat()}],
            "varselDato": (today - timedelta(days=30)).isoformat(),
            "rykkerForloebGennemfoert": True,
        }
    return base | given


@action(
    "psrm.submit",
    args={
        "actions": Arg("list", required=True, doc="MFFordringIndberet actions; omitted fields get valid defaults"),
        "municipality": Arg("str"),
    },
)
def submit(ctx: RunContext, actions: list[dict[str, Any]], municipality: str | None = None) -> Response:
    """Submit a delivery to PSRM as a creditor (MFFordringIndberet); each action answers MODTAGET or AFVIST."""
    body = {"aktioner": [_action_defaults(ctx, dict(given)) for given in actions]}
    response = ctx.call("psrm", "POST", "/fordringsindberetninger", body=body, cvr=ctx.municipality(municipality).cvr)
    if isinstance(response.body, dict):
        response.body["sendt"] = body["aktioner"]
    return response


@action("psrm.receipts", "query", args={"delivery": REF, "municipality": Arg("str")}, primary="delivery")
def receipts(ctx: RunContext, delivery: dict[str, Any], municipality: str | None = None) -> Any:
    """MFKvitteringHent: the receipts of a delivery (UDFØRT, AFVIST, HØRING), once PSRM has built them."""
    answer = ctx.call("psrm", "GET", f"/kvitteringer/{delivery['leveranceId']}", cvr=ctx.municipality(municipality).cvr)
    return answer.body if answer.status == 200 else None


@action(
    "psrm.settings",
    args={"receipt_delay_minutes": Arg("int"), "hearing_above": Arg("money", doc="claims above this go to HØRING")},
    simulated=True,
)
def psrm_settings(ctx: RunContext, receipt_delay_minutes: int | None = None, hearing_above: int | None = None) -> Any:
    """Change PSRM's behaviour in this world (receipt delay, the creditor's agreed filter)."""
    return settings(ctx, "psrm", {"receipt_delay_minutes": receipt_delay_minutes, "hoering_above_oere": hearing_above})


@action("psrm.journal", "query", args={"operation": Arg("str")}, simulated=True)
def psrm_journal(ctx: RunContext, operation: str | None = None) -> list[dict[str, Any]]:
    """PSRM's request journal in this world (CPR masked)."""
    entries: list[dict[str, Any]] = ctx.control(
        "psrm", "GET", "/journal" + (f"?operation={operation}" if operation else "")
    )["entries"]
    if "psrm" in ctx.world.endpoints.sessions:  # a PSRM session shared with other worlds (a vendor's handovers):
        series = ctx.world.session[-8:]  # … only what concerns this world's claims, whose ids carry its series
        entries = [e for e in entries if series in json.dumps(e.get("requestBody"), ensure_ascii=False)]
    return entries


@action(
    "payment.overview",
    "query",
    args={
        "borrower": Arg("ref", doc="whose overview (their CPR at their municipality)"),
        "cpr": Arg("str", doc="the overview of this CPR instead, e.g. the old one after a change"),
        "municipality": Arg("str", doc="at this municipality (default: the borrower's, else the profile's first)"),
    },
    primary="borrower",
)
def overview(
    ctx: RunContext, borrower: dict[str, Any] | None = None, cpr: str | None = None, municipality: str | None = None
) -> Any:
    """What the citizen sees in the payment solution: a pay button (B_03) or only a text."""
    if borrower is None and cpr is None:
        raise StepFailure("payment.overview needs a borrower or a cpr")
    cvr = ctx.municipality(municipality).cvr if municipality or borrower is None else cvr_of(borrower)
    return must(
        ctx.call("payment", "POST", "/betalingsoverblik", body={"cpr": cpr or (borrower or {})["cpr"]}, cvr=cvr),
        "overview",
    )


@action("payment.pay", args={"claim": REF, "amount": MONEY, "part": Arg("int")})
def pay(ctx: RunContext, claim: dict[str, Any], amount: int, part: int = 0) -> Response:
    """The citizen pays (part of) a claim in the payment solution (ForetagIndbetaling through B_03)."""
    borrower = ctx.borrower_of(claim)
    view = find_claim(ctx, claim)
    sub_claim = view["delfordringer"][part]["delfordringId"] if view else f"{claim['fordringId']}-1"
    body = {
        "cpr": borrower["cpr"],
        "betalingId": f"B-{uuid.uuid4().hex[:12]}",
        "delfordringer": [{"delfordringId": sub_claim, "beloebOere": amount}],
    }
    return ctx.call("payment", "POST", "/betalinger", body=body, cvr=cvr_of(claim))


def first_cvr(profile: str) -> str:
    return for_vendor(profile)[0].cvr
