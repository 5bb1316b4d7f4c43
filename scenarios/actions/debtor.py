"""Actor `debtor`: the debtor system of the claim's municipality (by default the scenario's profile).

Views go through the vendor-facing B_02 (DebitorForespoergsel by CPR, then HentDebitorkonto), so they
work on a real vendor's system. Bank transfers and what the system sent go through a vendor's test
control (`oir-testkontrol-v1`) where it offers one, else they are simulation-only, as caseworkers'
write-offs and the simulator's settings always are.
"""

from __future__ import annotations

import uuid
from typing import Any

from contracts.municipalities import for_vendor

from ..context import Response, RunContext, StepFailure
from ..errors import ScenarioRunError
from ..fields import Returns
from ..vocabulary import Arg, action
from .common import MONEY, REF, claim_id_of, cvr_of, must, settings

MISBEHAVIOURS_DOC = "a behaviour to break in this world (see simulators/debtor/misbehaviour.py)"

# What `debtor.claim` answers: a claim of HentDebitorkonto's account (its sub-claims and balance)
_CLAIM = "oir-debitor-v3#/components/schemas/DebitorkontoOut/properties/fordringer/items"


def find_claim(ctx: RunContext, claim: dict[str, Any]) -> dict[str, Any] | None:
    """The debtor's view of an FBS claim (with its account id), or None while it is not there."""
    cvr = cvr_of(claim)
    vendor = ctx.debtor_for(cvr)
    borrower = ctx.borrower_of(claim)
    for account_id in _account_ids(ctx, vendor, cvr, borrower):
        account = ctx.call(vendor, "GET", f"/debitorkonti/{account_id}", cvr=cvr)
        if account.status != 200:
            continue
        for found in account.body.get("fordringer", []):
            if found.get("fordringId") == claim_id_of(claim):
                return {
                    **found,
                    "debitorkontoId": account_id,
                    "kontoStatus": account.body["status"],
                    "haeftelse": account.body["haeftelse"],
                }
    return None


def _account_ids(ctx: RunContext, vendor: str, cvr: str, borrower: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    for cpr in reversed(borrower.get("cprs") or [borrower["cpr"]]):
        answer = ctx.call(vendor, "POST", "/debitorforespoergsel", body={"cpr": cpr}, cvr=cvr)
        if answer.status == 200:
            ids += [a["debitorkontoId"] for a in answer.body["debitorkonti"] if a["debitorkontoId"] not in ids]
    return ids


def _claim_or_fail(ctx: RunContext, claim: dict[str, Any]) -> dict[str, Any]:
    found = find_claim(ctx, claim)
    if found is None:
        raise StepFailure(f"claim {claim_id_of(claim)} is not registered at the debtor system", None)
    return found


@action(
    "debtor.claim",
    "query",
    args={"claim": REF},
    primary="claim",
    response=Returns(_CLAIM, extra=("debitorkontoId", "kontoStatus", "haeftelse"), name="a claim of DebitorkontoOut"),
)
def claim_view(ctx: RunContext, claim: dict[str, Any]) -> dict[str, Any] | None:
    """The debtor system's view of a claim: product, balance, reminders, interest, collection, sub-claims."""
    return find_claim(ctx, claim)


@action(
    "debtor.accounts",
    "query",
    args={"borrower": REF},
    primary="borrower",
    response=Returns("oir-debitor-v3#/components/schemas/DebitorkontoOut", many=True),
)
def accounts(ctx: RunContext, borrower: dict[str, Any]) -> list[dict[str, Any]]:
    """B_02: the borrower's debtor accounts at their municipality's debtor system, in full."""
    cvr = cvr_of(borrower)
    vendor = ctx.debtor_for(cvr)
    return [
        must(ctx.call(vendor, "GET", f"/debitorkonti/{account_id}", cvr=cvr), "HentDebitorkonto")
        for account_id in _account_ids(ctx, vendor, cvr, borrower)
    ]


@action(
    "debtor.lookup",
    "query",
    args={
        "borrower": Arg("ref", doc="whose CPR and municipality (default for cpr and municipality)"),
        "cpr": Arg("str", doc="ask for this CPR instead, e.g. the old one after a change"),
        "municipality": Arg("str", doc="ask as this municipality (its CVR in the header block), e.g. second"),
    },
    primary="borrower",
)
def lookup(
    ctx: RunContext, borrower: dict[str, Any] | None = None, cpr: str | None = None, municipality: str | None = None
) -> dict[str, Any]:
    """B_02 DebitorForespoergsel as it is answered, refusals included: `{status, code, debitorkonti}` —
    for a CPR of your choice, or asked as another municipality than the borrower's."""
    if borrower is None and (cpr is None or municipality is None):
        raise StepFailure("debtor.lookup needs a borrower, or both cpr and municipality")
    asker = ctx.municipality(municipality) if municipality is not None else None
    cvr = asker.cvr if asker is not None else cvr_of(borrower or {})
    owner_cvr = cvr_of(borrower) if borrower is not None else cvr
    answer = ctx.call(
        ctx.debtor_for(owner_cvr),
        "POST",
        "/debitorforespoergsel",
        body={"cpr": cpr or (borrower or {})["cpr"]},
        cvr=cvr,
    )
    body = answer.body if isinstance(answer.body, dict) else {}
    return {"status": answer.status, "code": body.get("code"), "debitorkonti": body.get("debitorkonti", [])}


@action(
    "debtor.bank_payment",
    args={
        "claim": REF,
        "amount": MONEY,
        "part": Arg("int", doc="which sub-claim (default 0, the principal)"),
        "sub_claim": Arg(
            "str",
            doc="pay this sub-claim (delfordringId) wherever the claim's account holds it, e.g. a write-up's part",
        ),
    },
    simulated=True,
    test_control=True,
)
def bank_payment(
    ctx: RunContext, claim: dict[str, Any], amount: int, part: int = 0, sub_claim: str | None = None
) -> Response:
    """The citizen pays by bank transfer with the sub-claim's payment reference."""
    view = _claim_or_fail(ctx, claim)
    if sub_claim is None:
        reference = view["delfordringer"][part]["betalingsreference"]
    else:
        reference = _reference_of(ctx, claim, view["debitorkontoId"], sub_claim)
    body = {"betalingsreference": reference, "beloebOere": amount}
    vendor = ctx.debtor_for(cvr_of(claim))
    # a vendor's test system books it through its test control; the simulator, as a simulated operation
    path = "/testkontrol/bankindbetalinger" if ctx.world.endpoints.offers_test_control(vendor) else None
    return ctx.call(vendor, "POST", path or "/simulering/bankindbetalinger", body=body, cvr=cvr_of(claim))


def _reference_of(ctx: RunContext, claim: dict[str, Any], account_id: str, sub_claim: str) -> str:
    """The payment reference of a sub-claim on the claim's debtor account (any of its claims)."""
    cvr = cvr_of(claim)
    account = must(ctx.call(ctx.debtor_for(cvr), "GET", f"/debitorkonti/{account_id}", cvr=cvr), "debtor account")
    for found in account.get("fordringer", []):
        for part in found.get("delfordringer", []):
            if part.get("delfordringId") == sub_claim:
                return str(part["betalingsreference"])
    raise StepFailure(f"no claim on debtor account {account_id} has sub-claim {sub_claim}", account)


HOLD_REASONS = ("INDSIGELSE", "AFTALE", "ANDET")


@action(
    "debtor.payment_hold",
    args={
        "claim": REF,
        "until": Arg("date", doc="collection resumes on this day; default: until lifted (debtor.lift_payment_hold)"),
        "reason": Arg("str", choices=HOLD_REASONS),
    },
)
def payment_hold(ctx: RunContext, claim: dict[str, Any], until: str | None = None, reason: str | None = None):
    """Put the claim on a payment hold (betalingsstandsning) at its debtor system: collection pauses.

    As its fagsystem would (RetFordringTilstand): no reminders, fees or handover to PSRM while it holds; when
    it ends, the payment deadline is its end moved to the next bank day, and the reminders count from there."""
    body: dict[str, Any] = {"handling": "BETALINGSSTANDSNING"}
    if until is not None:
        body["tilDato"] = until
    if reason is not None:
        body["aarsag"] = reason
    return _change_state(ctx, claim, body)


@action("debtor.lift_payment_hold", args={"claim": REF}, primary="claim")
def lift_payment_hold(ctx: RunContext, claim: dict[str, Any]) -> Response:
    """Lift the claim's payment hold today: its payment deadline is today (or the next bank day).

    RetFordringTilstand OPHAEV_BETALINGSSTANDSNING; 409 OIR-409-NO-PAYMENT-HOLD when it has none."""
    return _change_state(ctx, claim, {"handling": "OPHAEV_BETALINGSSTANDSNING"})


def _change_state(ctx: RunContext, claim: dict[str, Any], body: dict[str, Any]) -> Response:
    cvr = cvr_of(claim)
    return ctx.call(ctx.debtor_for(cvr), "POST", f"/fordringer/{claim_id_of(claim)}/tilstand", body=body, cvr=cvr)


@action("debtor.write_off", args={"claim": REF, "amount": MONEY, "reason": Arg("str")}, simulated=True)
def write_off(ctx: RunContext, claim: dict[str, Any], amount: int, reason: str | None = None) -> Response:
    """A caseworker at the debtor system writes (part of) a claim off."""
    body = {"fordringId": claim_id_of(claim), "beloebOere": amount, "aarsag": reason or "Uerholdelig"}
    return ctx.call(ctx.debtor_for(cvr_of(claim)), "POST", "/simulering/afskrivninger", body=body, cvr=cvr_of(claim))


@action(
    "debtor.register",
    args={
        "account": Arg("mapping", required=True, doc="an OpretDebitorkonto body, as written"),
        "municipality": Arg("str", doc="whose header block (default: the profile's first)"),
        "transaction_id": Arg(
            "str",
            doc="a label for the X-Transaktion-Id: the same label twice in a run is the same id, so one "
            "registration (a new UUID every run: a vendor's real system remembers earlier runs' ids)",
        ),
        "token": Arg("str", doc="bearer token (default: the harness's)"),
    },
)
def register(
    ctx: RunContext,
    account: dict[str, Any],
    municipality: str | None = None,
    transaction_id: str | None = None,
    token: str | None = None,
) -> Response:
    """Send an OpretDebitorkonto straight to the profile's debtor system (as a fagsystem would)."""
    place = ctx.municipality(municipality)
    transaction = (
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.world.session}/{transaction_id}")) if transaction_id else None
    )
    return ctx.call(
        ctx.profile, "POST", "/debitorkonti", body=account, cvr=place.cvr, transaction_id=transaction, token=token
    )


@action(
    "debtor.journal",
    "query",
    args={
        "operation": Arg("str", doc="operationId, e.g. OpretDebitorkonto or callback.DaekningAfskrivning"),
        "direction": Arg("str", choices=("in", "out")),
        "profile": Arg("str", doc="which debtor system (default: the scenario's profile)"),
    },
    simulated=True,
    test_control=True,
)
def journal(
    ctx: RunContext, operation: str | None = None, direction: str | None = None, profile: str | None = None
) -> list[dict[str, Any]]:
    """The debtor simulator's request journal in this world (CPR masked); a vendor's, what it sent."""
    system = profile or ctx.profile
    if ctx.world.endpoints.offers_test_control(system):
        return _sent_by_vendor(ctx, system, operation, direction)
    params = "&".join(f"{k}={v}" for k, v in {"operation": operation, "direction": direction}.items() if v)
    return ctx.control(profile or ctx.profile, "GET", "/journal" + (f"?{params}" if params else ""))["entries"]  # type: ignore[no-any-return]


def _sent_by_vendor(ctx: RunContext, system: str, operation: str | None, direction: str | None) -> list[dict[str, Any]]:
    """What a vendor's system sent, from its test control, as journal entries (`direction: out`)."""
    if direction == "in":
        raise ScenarioRunError(f"{system}'s test control lists what it sent, not what it received")
    params = {"operation": operation} if operation else None
    sent = ctx.test_control(system, "GET", "/afsendt", params=params)["meddelelser"]
    return [
        {
            "seq": m["loebenummer"],
            "at": m["tidspunkt"],
            "direction": "out",
            "operation": m["operation"],
            "status": m.get("status"),
            "transactionId": m.get("transaktionId"),
            "requestBody": m.get("krop"),
            "note": m.get("bemaerkning"),
        }
        for m in sent
    ]


@action("debtor.callbacks", "query", args={"profile": Arg("str")}, simulated=True)
def callbacks(ctx: RunContext, profile: str | None = None) -> list[dict[str, Any]]:
    """The debtor's outbox of DækningAfskrivning messages: queued, delivered, retried."""
    vendor = profile or ctx.profile
    answer = ctx.call(vendor, "GET", "/simulering/callbacks", cvr=for_vendor(vendor)[0].cvr)
    return must(answer, "callback outbox")["callbacks"]  # type: ignore[no-any-return]


@action(
    "debtor.settings",
    args={
        "misbehaviour": Arg("str", doc=MISBEHAVIOURS_DOC),
        "disabled_products": Arg("str", doc="product codes not (yet) set up in the sortiment, comma-separated"),
        "profile": Arg("str", doc="which debtor system (default: the scenario's profile)"),
    },
    simulated=True,
)
def debtor_settings(
    ctx: RunContext, misbehaviour: str | None = None, disabled_products: str | None = None, profile: str | None = None
) -> dict[str, Any]:
    """Change the debtor simulator's settings in this world (a misbehaviour, the sortiment)."""
    return settings(ctx, profile or ctx.profile, {"misbehaviour": misbehaviour, "disabled_products": disabled_products})


def new_transaction_id() -> str:
    return str(uuid.uuid4())
