"""The debtor system's books for one session: accounts, claims, sub-claims and what moved them.

Pure domain logic, no HTTP: routes and jobs call it, the B_02 answers are read from it, and every
money movement (payment, write-down, write-off, reminder fee, interest) is integer øre on a
sub-claim, so the account balance is always derived, never stored twice.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from simulators.kernel import Problem


@dataclass
class Movement:
    kind: str  # DAEKNING | NEDSKRIVNING | AFSKRIVNING
    amount: int
    on: date
    source: str | None = None
    reference: str | None = None
    refund: bool = False  # money on a claim that had gone: held for refund, never reduces what remains


@dataclass
class SubClaim:
    id: str
    claim_id: str
    kind: str  # HOVEDSTOL | RYKKERGEBYR | RENTE
    text: str
    original: int
    payment_reference: str
    registered: date
    movements: list[Movement] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.original - sum(m.amount for m in self.movements if not m.refund)

    @property
    def refundable(self) -> int:
        """What a payment on this sub-claim can still be once its claim has gone (annulled, written down):
        what the fagsystem took away, less what was paid or written off on it already (DOMAIN.md, "Money
        on a claim that has since gone")."""
        return self.original - self.total("DAEKNING") - self.total("AFSKRIVNING")

    def total(self, kind: str) -> int:
        return sum(m.amount for m in self.movements if m.kind == kind)


@dataclass
class PsrmCase:
    """Where a claim stands with PSRM, as the debtor system knows it."""

    state: str  # AFVENTER_KVITTERING | UNDER_INDDRIVELSE | AFVIST | HOERING | RETURNERET | TILBAGEKALDT
    delivery_id: str | None = None
    action_ids: list[str] = field(default_factory=list)
    psrm_claim_id: str | None = None
    next_receipt_fetch: datetime | None = None
    receipt_attempts: int = 0
    timed_out_fetches: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    return_code: str | None = None
    # PSRM actions the debtor owes PSRM (a write-down for direct payment) and has not yet delivered:
    # sent at once, and again on the next tick while PSRM cannot be reached, so none is lost
    pending_actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PaymentHold:
    """A payment hold (betalingsstandsning) on a claim: collection paused from `since` until `until`
    (None: until lifted)."""

    since: date
    until: date | None = None
    reason: str | None = None


@dataclass
class Claim:
    id: str
    account_id: str
    municipality_cvr: str
    product: str
    text: str
    created_on: date
    due_on: date
    last_timely_payment: date  # SRB
    acknowledged: bool
    fingerprint: str
    subclaims: list[SubClaim] = field(default_factory=list)
    status: str = "AKTIV"  # AKTIV | BETALT | ANNULLERET | AFSKREVET
    reminders: list[dict[str, Any]] = field(default_factory=list)
    interest_charged_until: date | None = None
    psrm: PsrmCase | None = None
    period_from: date | None = None
    period_to: date | None = None
    hold: PaymentHold | None = None
    # After a payment hold: the payment deadline it ended on (a bank day) and how many reminders had been
    # sent by then; the reminders not yet sent count from that deadline, not from SRB
    resumed: tuple[date, int] | None = None

    def held(self, today: date) -> bool:
        """Is collection paused today? A dated hold holds up to its payment deadline (`resumed`) and
        lapses after it; one without end date holds until lifted."""
        if self.hold is None:
            return False
        if self.hold.until is None:
            return True
        return self.resumed is None or today <= self.resumed[0]

    @property
    def remaining(self) -> int:
        return sum(s.remaining for s in self.subclaims)

    @property
    def principal_parts(self) -> list[SubClaim]:
        return [s for s in self.subclaims if s.kind == "HOVEDSTOL"]

    @property
    def principal_remaining(self) -> int:
        return sum(s.remaining for s in self.principal_parts)

    @property
    def collection_status(self) -> str:
        if self.psrm is None:
            return "IKKE_OVERDRAGET"
        return {
            "AFVENTER_KVITTERING": "OVERDRAGELSE_I_GANG",
            "UNDER_INDDRIVELSE": "OVERDRAGET",
            "HOERING": "HOERING",
            "AFVIST": "AFVIST_AF_PSRM",
            "RETURNERET": "RETURNERET",
            "TILBAGEKALDT": "TILBAGEKALDT",
        }[self.psrm.state]

    @property
    def with_psrm(self) -> bool:
        return self.psrm is not None and self.psrm.state in ("AFVENTER_KVITTERING", "UNDER_INDDRIVELSE", "HOERING")


@dataclass
class Liability:
    cpr: str | None
    cvr: str | None
    name: str | None
    from_date: date
    to_date: date | None = None


@dataclass
class Account:
    id: str
    municipality_cvr: str
    liabilities: list[Liability]
    created_on: date
    claim_ids: list[str] = field(default_factory=list)
    closed_on: date | None = None

    @property
    def liable(self) -> Liability:
        return self.liabilities[-1]


@dataclass
class Callback:
    message_id: str
    transaction_id: str
    municipality_cvr: str
    body: dict[str, Any]
    due_at: datetime
    attempts: int = 0
    delivered_at: datetime | None = None
    last_error: str | None = None


@dataclass
class DebtorBooks:
    accounts: dict[str, Account] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)
    subclaims: dict[str, SubClaim] = field(default_factory=dict)
    by_reference: dict[str, SubClaim] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    outbox: list[Callback] = field(default_factory=list)
    seen_notifications: set[str] = field(default_factory=set)
    notifications_fetched_until: date | None = None
    last_jobs_at: datetime | None = None
    delivery_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def next_number(self) -> int:
        return next(self._counter)

    # ---- lookups -------------------------------------------------------------------------------
    def account(self, account_id: str, municipality_cvr: str) -> Account:
        account = self.accounts.get(account_id)
        if account is None:
            raise Problem(404, "OIR-404-ACCOUNT-NOT-FOUND", "No such debtor account", account_id)
        if account.municipality_cvr != municipality_cvr:
            raise Problem(
                403,
                "OIR-403-NOT-OWN-ACCOUNT",
                "A fagsystem may only act on its own accounts",
                "the account belongs to another municipality",
            )
        return account

    def claim(self, claim_id: str, municipality_cvr: str) -> Claim:
        claim = self.claims.get(claim_id)
        if claim is None:
            raise Problem(404, "OIR-404-CLAIM-NOT-FOUND", "No such claim", claim_id)
        if claim.municipality_cvr != municipality_cvr:
            raise Problem(
                403,
                "OIR-403-NOT-OWN-ACCOUNT",
                "A fagsystem may only act on its own claims",
                "the claim belongs to another municipality",
            )
        return claim

    # ---- money ---------------------------------------------------------------------------------
    def add_subclaim(self, claim: Claim, sub_id: str, kind: str, text: str, amount: int, on: date) -> SubClaim:
        reference = f"+71<{self.next_number():015d}+85>"  # FI-kort 71-style payment reference (modelled)
        sub = SubClaim(
            id=sub_id,
            claim_id=claim.id,
            kind=kind,
            text=text,
            original=amount,
            payment_reference=reference,
            registered=on,
        )
        claim.subclaims.append(sub)
        self.subclaims[sub.id] = sub
        self.by_reference[reference] = sub
        return sub

    @staticmethod
    def apply(
        sub: SubClaim, kind: str, amount: int, on: date, source: str | None = None, reference: str | None = None
    ) -> None:
        if amount <= 0:
            raise Problem(400, "OIR-400-INVALID-AMOUNT", "An amount must be a positive whole number of øre")
        if amount > sub.remaining:
            raise Problem(
                422,
                "OIR-422-OVERPAYMENT",
                "The amount exceeds what remains on the sub-claim",
                f"{amount} øre > {sub.remaining} øre remaining on {sub.id}",
            )
        sub.movements.append(Movement(kind=kind, amount=amount, on=on, source=source, reference=reference))

    def spread(
        self, claim: Claim, kind: str, amount: int, on: date, source: str | None = None, reference: str | None = None
    ) -> list[tuple[SubClaim, int]]:
        """Apply an amount to a claim: fees and interest first, then the principal (modelled)."""
        if amount > claim.remaining:
            raise Problem(
                422,
                "OIR-422-OVERPAYMENT",
                "The amount exceeds the claim's balance",
                f"{amount} øre > {claim.remaining} øre",
            )
        order = sorted(claim.subclaims, key=lambda s: 0 if s.kind != "HOVEDSTOL" else 1)
        applied = []
        left = amount
        for sub in order:
            portion = min(left, sub.remaining)
            if portion > 0:
                self.apply(sub, kind, portion, on, source, reference)
                applied.append((sub, portion))
                left -= portion
        return applied

    def write_down_principal(self, claim: Claim, amount: int, on: date, reason: str) -> None:
        if amount > claim.principal_remaining:
            raise Problem(
                422,
                "OIR-422-WRITE-DOWN-EXCEEDS",
                "The write-down exceeds the remaining principal",
                f"{amount} øre > {claim.principal_remaining} øre",
            )
        left = amount
        for sub in claim.principal_parts:
            portion = min(left, sub.remaining)
            if portion:
                self.apply(sub, "NEDSKRIVNING", portion, on, source=reason)
                left -= portion

    def settle_status(self, claim: Claim) -> bool:
        """Mark a claim paid when nothing remains; True when this closed it."""
        if claim.status == "AKTIV" and claim.remaining == 0:
            claim.status = "BETALT"
            return True
        return False

    def account_settled(self, account: Account) -> bool:
        return all(self.claims[c].status != "AKTIV" for c in account.claim_ids)
