"""ØiR v3 semantics of a debtor system: what each B_01 and B_03 message does to the books.

Routes translate HTTP to these calls; jobs call them too (PSRM coverage is a payment like any other).
Each effect that the fagsystem must hear about is queued as a DækningAfskrivning callback.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import date, datetime, timedelta
from typing import Any

from contracts.calendar import deadline_on_bank_day
from contracts.profile import Profile
from simulators.kernel import Problem, ensure_valid_cvr

from . import callbacks
from .ledger import Account, Claim, DebtorBooks, Liability, Movement, PaymentHold, SubClaim
from .models import (
    AendrHaeftelseIn,
    AnnulleringIn,
    BetalingsstandsningIn,
    FordringIn,
    ForetagIndbetalingIn,
    Haeftelse,
    NedskrivningIn,
    OphaevBetalingsstandsningIn,
    OpretDebitorkontoIn,
    party,
)


def _fingerprint(account: OpretDebitorkontoIn, claim: FordringIn) -> str:
    """The content a claim was registered with: pydantic's JSON of the models (fields in their declared
    order, no free-form dicts), without building Python dicts to sort and encode again."""
    text = "\0".join((account.debitorkontoId, account.haeftelse.model_dump_json(), claim.model_dump_json()))
    return hashlib.sha256(text.encode()).hexdigest()


def _liability(haeftelse: Haeftelse, on: date) -> Liability:
    cpr, cvr = party(haeftelse)
    ensure_valid_cvr(cvr)
    return Liability(cpr=cpr, cvr=cvr, name=haeftelse.navn, from_date=on)


def register(
    books: DebtorBooks,
    profile: Profile,
    municipality_cvr: str,
    body: OpretDebitorkontoIn,
    today: date,
    disabled: frozenset[str] = frozenset(),
    *,
    move_deadlines: bool = True,
    keep_history: bool = True,
) -> tuple[Account, bool, list[tuple[Claim, bool]]]:
    """OpretDebitorkonto: create the account if new and register each claim exactly once.

    `disabled`: product codes not (yet) set up in this municipality's sortiment. `move_deadlines=False`
    is the `deadlines_on_closed_days` misbehaviour: an SRB on a closed day stays there; `keep_history=False`
    is `ignore_claim_history`: a migrated claim's reminders already sent are dropped.
    """
    _validate_claims(books, profile, body, disabled)
    account = books.accounts.get(body.debitorkontoId)
    created = account is None
    if account is None:
        account = Account(
            id=body.debitorkontoId,
            municipality_cvr=municipality_cvr,
            liabilities=[_liability(body.haeftelse, today)],
            created_on=today,
        )
    elif account.municipality_cvr != municipality_cvr:
        raise Problem(
            403,
            "OIR-403-NOT-OWN-ACCOUNT",
            "A fagsystem may only act on its own accounts",
            "the account id is taken by another municipality",
        )
    elif (account.liable.cpr, account.liable.cvr) != party(body.haeftelse):
        raise Problem(
            422,
            "OIR-422-LIABLE-PARTY-DIFFERS",
            "The account has another liable party",
            "change the liable party with the haeftelse operation first",
        )
    results = []
    pending: list[FordringIn] = []
    for claim_in in body.fordringer:
        existing = books.claims.get(claim_in.fordringId)
        if existing is not None:
            if existing.fingerprint != _fingerprint(body, claim_in):
                raise Problem(
                    409, "OIR-409-CLAIM-EXISTS", "A claim with this id exists with other content", claim_in.fordringId
                )
            results.append((existing, False))
        else:
            pending.append(claim_in)
    if created:
        books.accounts[account.id] = account
    if account.closed_on is not None and pending:
        account.closed_on = None  # a new claim reopens a closed account
    for claim_in in pending:
        results.append((_new_claim(books, profile, account, body, claim_in, today, move_deadlines, keep_history), True))
    return account, created, results


def _validate_claims(
    books: DebtorBooks, profile: Profile, body: OpretDebitorkontoIn, disabled: frozenset[str] = frozenset()
) -> None:
    ids = [c.fordringId for c in body.fordringer]
    sub_ids = [s.delfordringId for c in body.fordringer for s in c.delfordringer]
    if len(set(ids)) != len(ids) or len(set(sub_ids)) != len(sub_ids):
        raise Problem(422, "OIR-422-DUPLICATE-ID", "Claim and sub-claim ids must be unique within a message")
    for claim in body.fordringer:
        if claim.produktkode not in profile.sortiment or claim.produktkode in disabled:
            raise Problem(
                422,
                "OIR-422-UNKNOWN-PRODUCT",
                "The product code is not in this debtor's sortiment",
                f"{claim.produktkode}; known: {', '.join(p for p in profile.sortiment if p not in disabled)}",
            )
        if claim.forfaldsdato < claim.stiftelsesdato:
            raise Problem(422, "OIR-422-DATES", "forfaldsdato lies before stiftelsesdato", claim.fordringId)
        if claim.sidsteRettidigeBetalingsdato and claim.sidsteRettidigeBetalingsdato < claim.forfaldsdato:
            raise Problem(
                422, "OIR-422-DATES", "sidsteRettidigeBetalingsdato lies before forfaldsdato", claim.fordringId
            )
        if claim.periodeFra and claim.periodeTil and claim.periodeTil < claim.periodeFra:
            raise Problem(422, "OIR-422-DATES", "periodeTil lies before periodeFra", claim.fordringId)
        reminders = claim.tidligereRykkere
        if [r.nummer for r in reminders] != list(range(1, len(reminders) + 1)) or any(
            later.dato <= earlier.dato for earlier, later in itertools.pairwise(reminders)
        ):
            raise Problem(
                422,
                "OIR-422-REMINDER-HISTORY",
                "tidligereRykkere are numbered 1, 2, … in the order they were sent, on rising dates",
                claim.fordringId,
            )
        if len(reminders) > len(profile.reminders):
            raise Problem(
                422,
                "OIR-422-REMINDER-HISTORY",
                f"more reminders than this debtor's process has ({len(profile.reminders)})",
                claim.fordringId,
            )
        existing = books.claims.get(claim.fordringId)
        for sub in claim.delfordringer:
            owner = books.subclaims.get(sub.delfordringId)
            if owner is not None and (existing is None or owner.claim_id != claim.fordringId):
                raise Problem(
                    409, "OIR-409-CLAIM-EXISTS", "A sub-claim with this id belongs to another claim", sub.delfordringId
                )


def _new_claim(
    books: DebtorBooks,
    profile: Profile,
    account: Account,
    body: OpretDebitorkontoIn,
    claim_in: FordringIn,
    today: date,
    move_deadlines: bool = True,
    keep_history: bool = True,
) -> Claim:
    srb = claim_in.sidsteRettidigeBetalingsdato or max(
        claim_in.forfaldsdato, today + timedelta(days=profile.invoice.payment_days)
    )
    if move_deadlines:  # an SRB on a closed day moves to the next bank day; reminders count from there
        srb = deadline_on_bank_day(srb)
    claim = Claim(
        id=claim_in.fordringId,
        account_id=account.id,
        municipality_cvr=account.municipality_cvr,
        product=claim_in.produktkode,
        text=claim_in.tekst,
        created_on=claim_in.stiftelsesdato,
        due_on=claim_in.forfaldsdato,
        last_timely_payment=srb,
        acknowledged=claim_in.anerkendt,
        fingerprint=_fingerprint(body, claim_in),
        period_from=claim_in.periodeFra,
        period_to=claim_in.periodeTil,
    )
    if keep_history:  # a migrated claim's reminders: none is sent again, the next counts from the last
        claim.reminders = [{"nummer": r.nummer, "dato": r.dato, "gebyrOere": 0} for r in claim_in.tidligereRykkere]
    books.claims[claim.id] = claim
    account.claim_ids.append(claim.id)
    for sub in claim_in.delfordringer:  # everything the fagsystem sends is principal
        books.add_subclaim(claim, sub.delfordringId, "HOVEDSTOL", sub.tekst, sub.beloebOere, today)
    return claim


def change_state(
    books: DebtorBooks,
    profile: Profile,
    claim: Claim,
    body: NedskrivningIn | AnnulleringIn | BetalingsstandsningIn | OphaevBetalingsstandsningIn,
    now: datetime,
) -> list[dict[str, Any]]:
    """RetFordringTilstand. Returns the PSRM actions it requires when the claim is with PSRM."""
    if claim.status != "AKTIV":
        raise Problem(409, "OIR-409-CLAIM-CLOSED", f"The claim is {claim.status.lower()}", claim.id)
    today = now.date()
    if isinstance(body, BetalingsstandsningIn | OphaevBetalingsstandsningIn):
        _payment_hold(claim, body, today)
        return []
    if isinstance(body, AnnulleringIn):
        for sub in claim.subclaims:
            if sub.remaining > 0:
                books.apply(sub, "NEDSKRIVNING", sub.remaining, today, source="ANNULLERING")
        claim.status = "ANNULLERET"
        recall: list[dict[str, Any]] = (
            [{"aktion": "TILBAGEKALD", "fordringshaverReference": claim.id, "aarsag": "FEJLAGTIG_OVERSENDELSE"}]
            if claim.with_psrm
            else []
        )
        _maybe_close_account(books, profile, claim, now)
        return recall
    amount = body.beloebOere
    if claim.with_psrm and body.aarsag == "ANDET":
        raise Problem(
            422,
            "OIR-422-WRITE-DOWN-REASON",
            "A claim under collection may only be written down for direct payment, sending in error or changed basis",
        )
    books.write_down_principal(claim, amount, body.virkningsdato, body.aarsag)
    actions: list[dict[str, Any]] = []
    if claim.with_psrm:
        actions.append(
            {
                "aktion": "NEDSKRIV",
                "fordringshaverReference": claim.id,
                "beloebOere": amount,
                "virkningsdato": body.virkningsdato.isoformat(),
                "aarsag": body.aarsag,
            }
        )
    if books.settle_status(claim):
        _maybe_close_account(books, profile, claim, now)
    return actions


def _payment_hold(claim: Claim, body: BetalingsstandsningIn | OphaevBetalingsstandsningIn, today: date) -> None:
    """Put a payment hold (betalingsstandsning) on a claim, or lift it. When a hold ends — on its date or
    lifted — the payment deadline is that day moved to the next bank day (DOMAIN.md, deadlines on closed
    days), and the reminders not yet sent count from it (`jobs._reminder_dates`)."""
    if isinstance(body, OphaevBetalingsstandsningIn):
        if not claim.held(today):
            raise Problem(409, "OIR-409-NO-PAYMENT-HOLD", "The claim has no payment hold to lift", claim.id)
        claim.hold = None
        claim.resumed = (deadline_on_bank_day(today), len(claim.reminders))
        return
    if claim.with_psrm:
        raise Problem(
            409,
            "OIR-409-UNDER-COLLECTION",
            "The claim is with PSRM: a payment hold (or a dispute) is for Gældsstyrelsen",
            claim.id,
        )
    if body.tilDato is not None and body.tilDato < today:
        raise Problem(422, "OIR-422-DATES", "tilDato lies before today", body.tilDato.isoformat())
    claim.hold = PaymentHold(since=today, until=body.tilDato, reason=body.aarsag)
    if body.tilDato is not None:
        claim.resumed = (deadline_on_bank_day(body.tilDato), len(claim.reminders))


def change_liable(books: DebtorBooks, account: Account, body: AendrHaeftelseIn) -> None:
    """AfslutHæftelse on the current liable party and a new liability from the effective date."""
    current = account.liable
    if (current.cpr, current.cvr) == party(body.nyHaeftelse):
        return
    if body.virkningsdato < current.from_date:
        raise Problem(422, "OIR-422-DATES", "The new liability cannot start before the current one")
    current.to_date = body.virkningsdato
    account.liabilities.append(_liability(body.nyHaeftelse, body.virkningsdato))


def record_payment(
    books: DebtorBooks,
    profile: Profile,
    claim: Claim,
    portions: list[tuple[str, int]],
    now: datetime,
    source: str,
    reference: str | None,
    *,
    twice: bool = False,
) -> None:
    """Queue the DAEKNING callback for money that reached a claim, and close what it settled.

    `twice` is the `count_payment_twice` misbehaviour: the payment is reported as two payments.
    """
    for _ in range(2 if twice else 1):
        _report_movement(books, profile, claim, "DAEKNING", portions, now, source, reference)
    if books.settle_status(claim):
        _maybe_close_account(books, profile, claim, now)


def book_on_gone_claim(claim: Claim, sub: SubClaim, amount: int, on: date, source: str, reference: str) -> None:
    """Money that reached a claim the fagsystem has since annulled or written down: the citizen's, held
    for refund (DOMAIN.md, "Money on a claim that has since gone"). It is booked on the sub-claim it
    names without reducing what remains (nothing does), up to what the fagsystem took away; a payment
    beyond that on a claim paid in full is still refused as an overpayment (the bank returns it)."""
    if amount > sub.refundable:
        raise Problem(
            422,
            "OIR-422-OVERPAYMENT",
            "The amount exceeds what the claim was registered with and not yet paid",
            f"{amount} øre > {sub.refundable} øre on {sub.id} ({claim.status.lower()})",
        )
    sub.movements.append(
        Movement(kind="DAEKNING", amount=amount, on=on, source=source, reference=reference, refund=True)
    )


def direct_payment_write_down(claim: Claim, sub: SubClaim, amount: int, on: date) -> dict[str, Any] | None:
    """The NEDSKRIV a direct payment after handover owes PSRM (DOMAIN.md, "Direct payment after handover"):
    for direct payment, effective on the payment date, on the PSRM claim the money covers — the main
    claim for principal, the interest claim for interest; a reminder fee was never handed over."""
    if sub.kind == "HOVEDSTOL":
        reference = claim.id
    elif sub.kind == "RENTE":
        reference = sub.id
    else:
        return None
    return {
        "aktion": "NEDSKRIV",
        "fordringshaverReference": reference,
        "beloebOere": amount,
        "virkningsdato": on.isoformat(),
        "aarsag": "DIREKTE_BETALING",
    }


def _report_movement(
    books: DebtorBooks,
    profile: Profile,
    claim: Claim,
    kind: str,
    portions: list[tuple[str, int]],
    now: datetime,
    source: str,
    reference: str | None,
) -> None:
    """Queue the DækningAfskrivning message for money that moved on a claim (payment or write-off)."""
    callbacks.enqueue(
        books,
        profile,
        now,
        claim.municipality_cvr,
        {
            "debitorkontoId": claim.account_id,
            "fordringId": claim.id,
            "type": kind,
            "beloebOere": sum(amount for _, amount in portions),
            "dato": now.date().isoformat(),
            "kilde": source,
            "delfordringer": [{"delfordringId": sub_id, "beloebOere": amount} for sub_id, amount in portions],
            **({"reference": reference} if reference else {}),
        },
    )


def pay(
    books: DebtorBooks,
    profile: Profile,
    municipality_cvr: str,
    body: ForetagIndbetalingIn,
    now: datetime,
    *,
    twice: bool = False,
) -> dict[str, Any]:
    """ForetagIndbetaling (B_03): pay sub-claims; the same betalingId again changes nothing."""
    fingerprint = body.model_dump_json()
    earlier = books.payments.get(body.betalingId)
    if earlier is not None:
        if earlier["fingerprint"] != fingerprint:
            raise Problem(
                409, "OIR-409-PAYMENT-EXISTS", "This betalingId was used for another payment", body.betalingId
            )
        return earlier["receipt"]
    targets = []
    for line in body.delfordringer:
        sub = books.subclaims.get(line.delfordringId)
        if sub is None:
            raise Problem(404, "OIR-404-SUBCLAIM-NOT-FOUND", "No such sub-claim", line.delfordringId)
        claim = books.claims[sub.claim_id]
        if claim.municipality_cvr != municipality_cvr:
            raise Problem(403, "OIR-403-NOT-OWN-ACCOUNT", "The sub-claim belongs to another municipality")
        if claim.with_psrm:
            raise Problem(
                422, "OIR-422-UNDER-COLLECTION", "The claim is with PSRM; pay Gældsstyrelsen instead", claim.id
            )
        if line.beloebOere > sub.remaining:
            raise Problem(
                422,
                "OIR-422-OVERPAYMENT",
                "The amount exceeds what remains on the sub-claim",
                f"{line.beloebOere} øre > {sub.remaining} øre on {sub.id}",
            )
        targets.append((sub, claim, line.beloebOere))
    if len({sub.id for sub, _, _ in targets}) != len(targets):
        raise Problem(422, "OIR-422-DUPLICATE-ID", "A sub-claim appears twice in one payment")
    by_claim: dict[str, list[tuple[str, int]]] = {}
    for sub, claim, amount in targets:
        books.apply(sub, "DAEKNING", amount, now.date(), source="B03", reference=body.betalingId)
        by_claim.setdefault(claim.id, []).append((sub.id, amount))
    for claim_id, portions in by_claim.items():
        record_payment(books, profile, books.claims[claim_id], portions, now, "B03", body.betalingId, twice=twice)
    receipt = {
        "betalingId": body.betalingId,
        "modtaget": now,
        "beloebOere": sum(a for _, _, a in targets),
        "delfordringer": [
            {"delfordringId": sub.id, "beloebOere": amount, "restOere": sub.remaining} for sub, _, amount in targets
        ],
    }
    books.payments[body.betalingId] = {"fingerprint": fingerprint, "receipt": receipt}
    return receipt


def write_off(
    books: DebtorBooks,
    profile: Profile,
    claim: Claim,
    amount: int,
    reason: str,
    now: datetime,
    *,
    report: bool = True,
) -> None:
    """A caseworker writes off (afskriver) part or all of a claim: the fagsystem is told (`report=False`
    is the `unreported_write_offs` misbehaviour: booked, never told)."""
    if claim.status != "AKTIV":
        raise Problem(409, "OIR-409-CLAIM-CLOSED", f"The claim is {claim.status.lower()}", claim.id)
    applied = books.spread(claim, "AFSKRIVNING", amount, now.date(), source=reason)
    if report:
        _report_movement(
            books, profile, claim, "AFSKRIVNING", [(sub.id, part) for sub, part in applied], now, "SAGSBEHANDLER", None
        )
    if claim.remaining == 0:
        claim.status = "AFSKREVET"
        _maybe_close_account(books, profile, claim, now)


def _maybe_close_account(books: DebtorBooks, profile: Profile, claim: Claim, now: datetime) -> None:
    account = books.accounts[claim.account_id]
    if account.closed_on is None and books.account_settled(account):
        account.closed_on = now.date()
        callbacks.enqueue(
            books,
            profile,
            now,
            account.municipality_cvr,
            {"debitorkontoId": account.id, "type": "KONTO_LUKKET", "dato": now.date().isoformat()},
        )


def status_notice(
    books: DebtorBooks, profile: Profile, claim: Claim, kind: str, now: datetime, return_code: str | None = None
) -> None:
    callbacks.enqueue(
        books,
        profile,
        now,
        claim.municipality_cvr,
        {
            "debitorkontoId": claim.account_id,
            "fordringId": claim.id,
            "type": kind,
            "dato": now.date().isoformat(),
            **({"returKode": return_code} if return_code else {}),
        },
    )
