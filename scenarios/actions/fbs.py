"""Actor `fbs`: the library desk (borrowers, claims, write-downs, annulments, CPR changes) and views."""

from __future__ import annotations

from typing import Any

from ..context import Response, RunContext
from ..fields import Returns
from ..vocabulary import Arg, action
from .common import MONEY, REF, claim_id_of, cvr_of, must, settings

CLAIM_TYPES = ("GEBYR", "ERSTATNING", "ERSTATNING_ANERKENDT")
DISPUTE_OUTCOMES = ("MEDHOLD", "AFVIST")
WRITE_DOWN_REASONS = ("DIREKTE_BETALING", "FEJLAGTIG_OVERSENDELSE", "AENDRET_GRUNDLAG", "ANDET")


@action(
    "fbs.new_borrower",
    args={
        "municipality": Arg("str", doc="first (default), second, other-vendor, a code, a CVR or a name"),
        "cpr": Arg("str", doc="default: a synthetic CPR from the scenario's seed"),
        "name": Arg("str"),
    },
)
def new_borrower(ctx: RunContext, municipality: str | None = None, cpr: str | None = None, name: str | None = None):
    """Register a borrower at a municipality's library."""
    place = ctx.municipality(municipality)
    person = ctx.people.person()
    cpr = cpr if cpr is not None else person.cpr
    response = ctx.call("fbs", "POST", "/laanere", body={"cpr": cpr, "navn": name or person.name}, cvr=place.cvr)
    if response.status < 300 and isinstance(response.body, dict):
        borrower = {**response.body, "cpr": cpr, "cprs": [cpr], "kommuneCvr": place.cvr, "kommune": place.name}
        ctx.borrowers[borrower["laanerId"]] = borrower
        ctx.debtor_for(place.cvr)
        return Response(response.status, borrower, response.method, response.url)
    return response


@action(
    "fbs.new_claim",
    args={
        "borrower": REF,
        "type": Arg("str", required=True, choices=CLAIM_TYPES),
        "amount": MONEY,
        "handling_fee": Arg("money"),
        "text": Arg("str"),
        "due": Arg("date", doc="default: today"),
    },
)
def new_claim(
    ctx: RunContext,
    borrower: dict[str, Any],
    type: str,
    amount: int,
    handling_fee: int | None = None,
    text: str | None = None,
    due: str | None = None,
) -> Response:
    """The library makes a claim (fee, replacement, or acknowledged replacement)."""
    body: dict[str, Any] = {
        "laanerId": borrower["laanerId"],
        "type": type,
        "beloebOere": amount,
        "tekst": text or {"GEBYR": "Gebyr for sen aflevering", "ERSTATNING": "Erstatning"}.get(type, "Erstatningskrav"),
    }
    if handling_fee is not None:
        body["haandteringsgebyrOere"] = handling_fee
    if due is not None:
        body["forfaldsdato"] = due
    return ctx.call("fbs", "POST", "/fordringer", body=body, cvr=cvr_of(borrower))


def _on_claim(ctx: RunContext, claim: dict[str, Any], what: str, body: dict[str, Any]) -> Response:
    """The library desk's POST on one claim (`/fordringer/{id}/<what>`), as the claim's municipality."""
    return ctx.call("fbs", "POST", f"/fordringer/{claim_id_of(claim)}/{what}", body=body, cvr=cvr_of(claim))


@action(
    "fbs.write_down",
    args={
        "claim": REF,
        "amount": MONEY,
        "effective": Arg("date", doc="virkningsdato; default today"),
        "reason": Arg("str", choices=WRITE_DOWN_REASONS, doc="default DIREKTE_BETALING"),
    },
)
def write_down(
    ctx: RunContext, claim: dict[str, Any], amount: int, effective: str | None = None, reason: str | None = None
) -> Response:
    """Write a claim down (nedskrivning) with an effective date."""
    body = {
        "beloebOere": amount,
        "virkningsdato": effective or ctx.virtual_now().date().isoformat(),
        "aarsag": reason or "DIREKTE_BETALING",
    }
    return _on_claim(ctx, claim, "nedskrivninger", body)


@action("fbs.annul", args={"claim": REF, "reason": Arg("str")}, primary="claim")
def annul(ctx: RunContext, claim: dict[str, Any], reason: str | None = None) -> Response:
    """Annul a claim."""
    body = {"aarsag": reason or "Fejlagtigt oprettet"}
    return _on_claim(ctx, claim, "annullering", body)


@action(
    "fbs.write_up",
    args={
        "claim": REF,
        "amount": MONEY,
        "text": Arg("str", doc="the new part's text; default Opskrivning"),
        "effective": Arg("date", doc="virkningsdato; default today"),
    },
)
def write_up(
    ctx: RunContext, claim: dict[str, Any], amount: int, text: str | None = None, effective: str | None = None
) -> Response:
    """Write an open claim up (opskrivning): a new part of it. The engine registers it at the debtor
    system as a further claim on the account, `<claim>-OP<version>` (the ØiR messages cannot raise a
    registered claim); its payments post to this claim. 409 once the claim is closed or with PSRM."""
    body: dict[str, Any] = {"beloebOere": amount, "tekst": text or "Opskrivning"}
    if effective is not None:
        body["virkningsdato"] = effective
    return _on_claim(ctx, claim, "opskrivninger", body)


@action("fbs.acknowledge", args={"claim": REF, "on": Arg("date", doc="when the borrower signed; default today")})
def acknowledge(ctx: RunContext, claim: dict[str, Any], on: str | None = None) -> Response:
    """The borrower acknowledges a replacement claim in writing after it was raised (ERSTATNING becomes
    ERSTATNING_ANERKENDT, the kind PSRM collects). The engine registers what is open as an acknowledged
    claim `<claim>-A<version>` (a fresh invoice: its reminders and notice are given for it) and annuls
    the debtor claims before it; their payments post to this claim."""
    body = {"dato": on} if on is not None else {}
    return _on_claim(ctx, claim, "anerkendelse", body)


@action("fbs.dispute", args={"claim": REF, "reason": Arg("str", doc="what the borrower says (begrundelse)")})
def dispute(ctx: RunContext, claim: dict[str, Any], reason: str | None = None) -> Response:
    """The borrower disputes an open claim (indsigelse): collection pauses at the debtor until it is decided.

    FORDRING_INDSIGELSE in the feed; the engine puts the claim on a payment hold without end date at the
    debtor system: no reminders, fees or handover until the library decides. 409 when closed, already
    disputed, or with PSRM (Gældsstyrelsen's)."""
    body = {"begrundelse": reason or "Materialet er afleveret"}
    return _on_claim(ctx, claim, "indsigelse", body)


@action(
    "fbs.resolve_dispute",
    args={
        "claim": REF,
        "outcome": Arg("str", required=True, choices=DISPUTE_OUTCOMES, doc="MEDHOLD: upheld; AFVIST: rejected"),
        "reason": Arg("str"),
    },
)
def resolve_dispute(ctx: RunContext, claim: dict[str, Any], outcome: str, reason: str | None = None) -> Response:
    """The library decides the open dispute: MEDHOLD annuls the claim, AFVIST resumes its collection.

    MEDHOLD: the claim is annulled at the debtor system the usual way. AFVIST: the engine lifts the payment
    hold; the payment deadline is that day (or the next bank day) and the reminders count from it. 409
    without an open dispute."""
    body: dict[str, Any] = {"udfald": outcome}
    if reason is not None:
        body["begrundelse"] = reason
    return _on_claim(ctx, claim, "indsigelse/afgoerelse", body)


@action("fbs.change_cpr", args={"borrower": REF, "cpr": Arg("str", doc="default: a new synthetic CPR")})
def change_cpr(ctx: RunContext, borrower: dict[str, Any], cpr: str | None = None) -> Response:
    """The borrower's CPR number changed (one CPR_AENDRET event per open claim); the borrower's `cprs` lists
    every CPR it had, oldest first (`${anna.cprs.0}` is the one before the first change)."""
    new = cpr or ctx.people.cpr()
    response = ctx.call("fbs", "PUT", f"/laanere/{borrower['laanerId']}/cpr", body={"cpr": new}, cvr=cvr_of(borrower))
    if response.status < 300:
        known = ctx.borrowers.get(borrower["laanerId"], borrower)
        known.setdefault("cprs", [known["cpr"]]).append(new)  # every CPR it had, oldest first: ${x.cprs.0}
        known["cpr"] = new
        if isinstance(response.body, dict):
            return Response(response.status, {**response.body, **known}, response.method, response.url)
    return response


@action(
    "fbs.correct",
    args={"claim": REF, "amount": Arg("money"), "text": Arg("str"), "type": Arg("str", choices=CLAIM_TYPES)},
)
def correct(
    ctx: RunContext, claim: dict[str, Any], amount: int | None = None, text: str | None = None, type: str | None = None
) -> Response:
    """Correct a claim a debtor system rejected, and send it again."""
    body = {k: v for k, v in {"beloebOere": amount, "tekst": text, "type": type}.items() if v is not None}
    return _on_claim(ctx, claim, "rettelse", body)


@action(
    "fbs.claim", "query", args={"claim": REF}, primary="claim", response=Returns("fbs#/components/schemas/FordringOut")
)
def claim_view(ctx: RunContext, claim: dict[str, Any]) -> Any:
    """FBS's view of a claim: balance, status, postings, rejections, collection, account closed."""
    return must(ctx.call("fbs", "GET", f"/fordringer/{claim_id_of(claim)}", cvr=cvr_of(claim)), "FBS claim")


@action(
    "fbs.borrower",
    "query",
    args={"borrower": REF},
    primary="borrower",
    response=Returns("fbs#/components/schemas/LaanerStatusOut"),
)
def borrower_status(ctx: RunContext, borrower: dict[str, Any]) -> Any:
    """The borrower's balance, the local limit, exclusion and its notifications."""
    path = f"/laanere/{borrower['laanerId']}/status"
    return must(ctx.call("fbs", "GET", path, cvr=cvr_of(borrower)), "FBS borrower status")


@action(
    "fbs.balance_statements",
    "query",
    args={"borrower": REF},
    primary="borrower",
    response=Returns("fbs#/components/schemas/SaldoopgoerelseOut", many=True),
)
def balance_statements(ctx: RunContext, borrower: dict[str, Any]) -> Any:
    """The borrower's balance statements (saldoopgørelser), made on the first of each month; oldest first.

    FBS makes one as the clock passes the first of a month to every borrower with open claims: per claim what
    it was made for, what was paid (postings from the debtor system), written down and written off, and what
    is open. A payment reaches FBS when the engine cycles, at the end of a `clock.advance`: one made during
    the advance that passes the first of a month shows in the statement after."""
    path = f"/laanere/{borrower['laanerId']}/saldoopgoerelser"
    return must(ctx.call("fbs", "GET", path, cvr=cvr_of(borrower)), "FBS balance statements")["saldoopgoerelser"]


@action(
    "fbs.settings", args={"exclusion_limit": Arg("money", doc="the local limit above which borrowers are excluded")}
)
def fbs_settings(ctx: RunContext, exclusion_limit: int | None = None) -> dict[str, Any]:
    """Change FBS's settings in this world (the local exclusion limit)."""
    return settings(ctx, "fbs", {"exclusion_limit_oere": exclusion_limit})


@action(
    "fbs.new_claims",
    args={
        "count": Arg("int", required=True),
        "type": Arg("str", choices=CLAIM_TYPES, doc="default GEBYR"),
        "amount": Arg("money", doc="default 20 kr (the smallest Copenhagen fee)"),
    },
)
def new_claims(ctx: RunContext, count: int, type: str = "GEBYR", amount: int = 2000) -> dict[str, Any]:
    """Many borrowers, one claim each, spread round-robin over all 98 municipalities."""
    from contracts.municipalities import load_municipalities

    places = load_municipalities()
    claims = []
    for index in range(count):
        place = places[index % len(places)]
        borrower = must(new_borrower(ctx, municipality=place.code), f"borrower {index + 1}")
        claims.append(must(new_claim(ctx, borrower, type, amount), f"claim {index + 1}"))
    return {"count": len(claims), "municipalities": len({c["kommuneCvr"] for c in claims}), "claims": claims}
