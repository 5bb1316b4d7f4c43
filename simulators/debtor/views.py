"""B_02 views: the debtor account as DebitorForespørgsel answers it, derived from the ledger."""

from __future__ import annotations

from typing import Any, cast

from .ledger import Account, Claim, DebtorBooks, Liability
from .models import (
    BetalingsstandsningOut,
    BevaegelseOut,
    DebitorkontoOut,
    DebitorkontoResumeOut,
    DelfordringOut,
    FordringOut,
    HaeftelseOut,
    RykkerOut,
)


def _liability(liability: Liability) -> HaeftelseOut:
    return HaeftelseOut(
        cpr=liability.cpr, cvr=liability.cvr, navn=liability.name, fra=liability.from_date, til=liability.to_date
    )


def claim_out(claim: Claim) -> FordringOut:
    subs = claim.subclaims
    return FordringOut(
        fordringId=claim.id,
        produktkode=claim.product,
        tekst=claim.text,
        status=cast(Any, claim.status),
        stiftelsesdato=claim.created_on,
        forfaldsdato=claim.due_on,
        sidsteRettidigeBetalingsdato=claim.last_timely_payment,
        saldoOere=claim.remaining,
        indbetaltOere=sum(s.total("DAEKNING") for s in subs),
        nedskrevetOere=sum(s.total("NEDSKRIVNING") for s in subs),
        afskrevetOere=sum(s.total("AFSKRIVNING") for s in subs),
        renterOere=sum(s.original for s in subs if s.kind == "RENTE"),
        rykkergebyrerOere=sum(s.original for s in subs if s.kind == "RYKKERGEBYR"),
        inddrivelse=cast(Any, claim.collection_status),
        psrmFordringId=claim.psrm.psrm_claim_id if claim.psrm else None,
        returKode=claim.psrm.return_code if claim.psrm else None,
        rykkere=[RykkerOut(nummer=r["nummer"], dato=r["dato"], gebyrOere=r["gebyrOere"]) for r in claim.reminders],
        delfordringer=[
            DelfordringOut(
                delfordringId=s.id,
                art=cast(Any, s.kind),
                tekst=s.text,
                oprindeligtBeloebOere=s.original,
                restOere=s.remaining,
                betalingsreference=s.payment_reference,
                bevaegelser=[
                    BevaegelseOut(type=m.kind, beloebOere=m.amount, dato=m.on, kilde=m.source) for m in s.movements
                ],
            )
            for s in subs
        ],
        betalingsstandsning=(
            BetalingsstandsningOut(fra=claim.hold.since, til=claim.hold.until, aarsag=claim.hold.reason)
            if claim.hold is not None and claim.status == "AKTIV"  # a claim that has gone is no longer held
            else None
        ),
    )


def account_out(books: DebtorBooks, account: Account) -> DebitorkontoOut:
    claims = [books.claims[c] for c in account.claim_ids]
    return DebitorkontoOut(
        debitorkontoId=account.id,
        kommuneCvr=account.municipality_cvr,
        status="LUKKET" if account.closed_on else "AABEN",
        saldoOere=sum(c.remaining for c in claims),
        haeftelse=_liability(account.liable),
        tidligereHaeftelser=[_liability(item) for item in account.liabilities[:-1]],
        fordringer=[claim_out(c) for c in claims],
    )


def account_summary(books: DebtorBooks, account: Account) -> DebitorkontoResumeOut:
    claims = [books.claims[c] for c in account.claim_ids]
    return DebitorkontoResumeOut(
        debitorkontoId=account.id,
        status="LUKKET" if account.closed_on else "AABEN",
        saldoOere=sum(c.remaining for c in claims),
        antalFordringer=len(claims),
    )


def export(books: DebtorBooks) -> dict[str, object]:
    return {
        "accounts": [account_out(books, a).model_dump(mode="json") for a in books.accounts.values()],
        "outbox": [
            {
                "meddelelseId": c.message_id,
                "type": c.body.get("type"),
                "due": c.due_at.isoformat(),
                "attempts": c.attempts,
                "delivered": c.delivered_at.isoformat() if c.delivered_at else None,
            }
            for c in books.outbox
        ],
    }
