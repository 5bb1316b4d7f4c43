"""Does a payment or write-off fit its claim? Decided before the engine says 202, never after.

A debtor system never redelivers a DækningAfskrivning message once it was told "accepted", so money
the engine acknowledges and FBS later refuses would be gone from FBS's view. What the engine can
decide itself it decides synchronously, with a 422 and a stable code the debtor can act on:
- the parts must add up to the message's `beloebOere` (OIR-422-PARTS-SUM);
- a part on a registered sub-claim cannot be more than that sub-claim was registered with, and all
  that the engine has posted on a claim cannot exceed what it registered (OIR-422-AMOUNT-EXCEEDS-CLAIM).

The bound is what the debtor system itself was told, not FBS's balance of the moment: FBS may have
written the claim down or annulled it while the debtor was taking the citizen's money, and that money
is still the citizen's (FBS records any excess as an overpayment to refund, DOMAIN.md "Money on a
claim that has since gone"). The running total is booked with one conditional UPDATE, so two
callbacks racing on one claim cannot both squeeze under the bound.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from contracts.problems import Problem

from .store import ClaimRecord


class _Part(Protocol):
    delfordringId: str
    beloebOere: int


class MoneyMessage(Protocol):
    """What of a DækningAfskrivning message the money checks read."""

    fordringId: str | None
    beloebOere: int | None

    @property
    def delfordringer(self) -> Any: ...


def check_money(message: MoneyMessage, record: ClaimRecord) -> None:
    """Refuse (422) a payment or write-off whose amounts cannot be right for the registered claim."""
    parts: list[_Part] = list(message.delfordringer or [])
    if not parts:
        return
    ids = [part.delfordringId for part in parts]
    if len(set(ids)) != len(ids):
        raise Problem(422, "OIR-422-PARTS-SUM", "A sub-claim appears twice in one message", ", ".join(ids))
    total = sum(part.beloebOere for part in parts)
    if total != message.beloebOere:
        raise Problem(
            422,
            "OIR-422-PARTS-SUM",
            "The sub-claims' amounts do not add up to beloebOere",
            f"parts {total} øre, beloebOere {message.beloebOere} øre",
        )
    registered = record.part_amounts or {}
    for part in parts:
        limit = registered.get(part.delfordringId)
        if limit is not None and part.beloebOere > limit:
            raise Problem(
                422,
                "OIR-422-AMOUNT-EXCEEDS-CLAIM",
                "The amount on a sub-claim exceeds what was registered on it",
                f"{part.beloebOere} øre > {limit} øre on {part.delfordringId}",
            )


def book_posting(session: Session, record: ClaimRecord, amount: int) -> None:
    """Count `amount` as posted on the claim, or refuse (422) what would exceed its registered amount."""
    result = session.execute(
        update(ClaimRecord)
        .where(
            ClaimRecord.claim_id == record.claim_id,
            or_(ClaimRecord.amount_oere.is_(None), ClaimRecord.posted_oere + amount <= ClaimRecord.amount_oere),
        )
        .values(posted_oere=ClaimRecord.posted_oere + amount)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(record)
        raise Problem(
            422,
            "OIR-422-AMOUNT-EXCEEDS-CLAIM",
            "The amount exceeds what is open on the claim",
            f"{amount} øre > {(record.amount_oere or 0) - record.posted_oere} øre open on {record.claim_id}",
        )


def book_repair(session: Session, claim_id: str, amount: int) -> None:
    """Count a reconciliation repair as posted (the debtor's own books say the money moved)."""
    session.execute(
        update(ClaimRecord)
        .where(ClaimRecord.claim_id == claim_id)
        .values(posted_oere=ClaimRecord.posted_oere + amount)
        .execution_options(synchronize_session=False)
    )
