"""PSRM's register for one session: what each creditor municipality submitted, and PSRM's rules.

Every rule from the domain brief is applied here, per action, with a stable numeric code: SRB must
have passed, notice given after the usual reminders, at least 100 kr, interest linked to a main
claim that PSRM knows and never sent as a main claim, no second claim under one reference (no
merging), write-downs only for the three allowed reasons and never beyond the balance, and every
action id used once (code 600). Receipts, hearings, coverage and settlement run on the virtual clock.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from contracts.identity import is_valid_cvr
from simulators.kernel.calendar import last_bank_day_of_month

from .models import Aktion, GenindsendFordring, Nedskriv, OpretFordring, Opskriv, Tilbagekald

MIN_OERE = 10_000  # claims under 100 kr cannot be handed over
HEARING_DAYS = 14
NOTIFICATION_MONTHS = 3

# Stable rejection codes, documented in the contract.
CODES: dict[int, str] = {
    600: "MFAktionID findes allerede (action id already used)",
    410: "Sidste rettidige betalingsdato er ikke passeret (SRB not passed)",
    411: "Varsel ikke givet eller rykkerforløb ikke gennemført (notice not given)",
    412: "Fordringen er under 100 kr",
    413: "Rente uden kendt hovedfordring (interest not linked to a known main claim)",
    414: "Hovedfordring med hovedfordringsreference (interest sent as a main claim)",
    415: "Ukendt fordring (unknown reference)",
    416: "Fordringen findes allerede; brug GENINDSENDFORDRING (claims must not be merged)",
    417: "Nedskrivning overstiger saldo",
    418: "Fordringen kan ikke genindsendes i sin nuværende tilstand",
    419: "Datoer er indbyrdes uforenelige",
    421: "Ugyldigt CVR-nummer (modulus 11)",
    422: "Fordringen kan ikke ændres i sin nuværende tilstand",
}
_OPEN = ("MODTAGET", "UNDER_INDDRIVELSE", "HOERING")


@dataclass
class PsrmClaim:
    id: str
    creditor: str
    reference: str
    kind: str
    original: int
    balance: int
    main_reference: str | None
    status: str = "MODTAGET"
    hearing_deadline: date | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ActionResult:
    action_id: str
    accepted: bool
    errors: list[dict[str, Any]]
    claim_id: str | None = None


@dataclass
class Delivery:
    id: str
    creditor: str
    received: datetime
    ready_at: datetime
    results: list[ActionResult]
    receipts: list[dict[str, Any]] | None = None


@dataclass
class Notification:
    id: str
    creditor: str
    kind: str
    on: date
    reference: str | None = None
    claim_id: str | None = None
    amount: int | None = None
    return_code: str | None = None
    text: str | None = None


@dataclass
class PsrmRegister:
    claims: dict[str, PsrmClaim] = field(default_factory=dict)
    by_reference: dict[tuple[str, str], str] = field(default_factory=dict)
    action_ids: dict[str, set[str]] = field(default_factory=dict)
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    notifications: list[Notification] = field(default_factory=list)
    settlements: dict[tuple[str, date], int] = field(default_factory=dict)  # (creditor, settle day) -> øre
    settled: set[tuple[str, date]] = field(default_factory=set)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._seq):08d}"

    def claim_of(self, creditor: str, reference: str) -> PsrmClaim | None:
        claim_id = self.by_reference.get((creditor, reference))
        return self.claims.get(claim_id) if claim_id else None

    # ---- MFFordringIndberet ----------------------------------------------------------------------
    def submit(self, creditor: str, actions: list[Aktion], now: datetime, delay: timedelta) -> Delivery:
        used = self.action_ids.setdefault(creditor, set())
        results = []
        for action in actions:
            if action.mfAktionId in used:
                results.append(_reject(action.mfAktionId, 600))
                continue
            used.add(action.mfAktionId)
            results.append(self._apply(creditor, action, now.date()))
        delivery = Delivery(
            id=self.next_id("LEV"), creditor=creditor, received=now, ready_at=now + delay, results=results
        )
        self.deliveries[delivery.id] = delivery
        return delivery

    def _apply(self, creditor: str, action: Aktion, today: date) -> ActionResult:
        if isinstance(action, (OpretFordring, GenindsendFordring)):
            return self._create(creditor, action, today)
        claim = self.claim_of(creditor, action.fordringshaverReference)
        if claim is None:
            return _reject(action.mfAktionId, 415)
        if claim.status not in _OPEN:
            return _reject(action.mfAktionId, 422)
        if isinstance(action, Nedskriv):
            if action.beloebOere > claim.balance:
                return _reject(action.mfAktionId, 417)
            claim.balance -= action.beloebOere
            claim.history.append(
                {
                    "dato": action.virkningsdato,
                    "haendelse": f"NEDSKRIV {action.aarsag}",
                    "beloebOere": action.beloebOere,
                }
            )
        elif isinstance(action, Opskriv):
            claim.balance += action.beloebOere
            claim.history.append(
                {"dato": action.virkningsdato, "haendelse": "OPSKRIVNINGREGULERING", "beloebOere": action.beloebOere}
            )
        elif isinstance(action, Tilbagekald):
            claim.status = "TILBAGEKALDT"
            claim.history.append({"dato": today, "haendelse": "TILBAGEKALD"})
        return ActionResult(action.mfAktionId, True, [], claim.id)

    def _create(self, creditor: str, action: OpretFordring | GenindsendFordring, today: date) -> ActionResult:
        code = self._creation_error(creditor, action, today)
        if code is not None:
            return _reject(action.mfAktionId, code)
        claim = PsrmClaim(
            id=self.next_id("PSRM"),
            creditor=creditor,
            reference=action.fordringshaverReference,
            kind=action.fordringsart,
            original=action.beloebOere,
            balance=action.beloebOere,
            main_reference=action.hovedfordringReference,
        )
        claim.history.append({"dato": today, "haendelse": action.aktion, "beloebOere": action.beloebOere})
        self.claims[claim.id] = claim
        self.by_reference[(creditor, claim.reference)] = claim.id
        return ActionResult(action.mfAktionId, True, [], claim.id)

    def _creation_error(self, creditor: str, action: OpretFordring | GenindsendFordring, today: date) -> int | None:
        existing = self.claim_of(creditor, action.fordringshaverReference)
        if isinstance(action, OpretFordring) and existing is not None:
            return 416
        if isinstance(action, GenindsendFordring) and (existing is None or existing.status in (*_OPEN, "INDFRIET")):
            return 418
        if any(not is_valid_cvr(cvr) for h in action.haeftere if (cvr := getattr(h, "cvr", None)) is not None):
            return 421
        if (
            action.forfaldsdato < action.stiftelsesdato
            or action.sidsteRettidigeBetalingsdato < action.forfaldsdato
            or action.periodeTil < action.periodeFra
        ):
            return 419
        if action.sidsteRettidigeBetalingsdato >= today:
            return 410
        if not action.rykkerForloebGennemfoert or action.varselDato is None or action.varselDato > today:
            return 411
        if action.fordringsart == "HOVEDFORDRING":
            if action.hovedfordringReference is not None:
                return 414
            if action.beloebOere < MIN_OERE:
                return 412
        else:
            main = self.claim_of(creditor, action.hovedfordringReference) if action.hovedfordringReference else None
            if main is None or main.kind != "HOVEDFORDRING" or main.status not in _OPEN:
                return 413
        return None

    # ---- receipts and hearings -------------------------------------------------------------------
    def build_receipts(self, delivery: Delivery, today: date, hearing_above: int) -> list[dict[str, Any]]:
        if delivery.receipts is None:
            receipts: list[dict[str, Any]] = []
            for result in delivery.results:
                claim = self.claims.get(result.claim_id) if result.claim_id else None
                if not result.accepted:
                    receipts.append({"mfAktionId": result.action_id, "status": "AFVIST", "fejl": result.errors})
                elif claim is not None and claim.status == "MODTAGET" and claim.original > hearing_above:
                    claim.status = "HOERING"
                    claim.hearing_deadline = today + timedelta(days=HEARING_DAYS)
                    claim.history.append({"dato": today, "haendelse": "HOERING"})
                    receipts.append(
                        {
                            "mfAktionId": result.action_id,
                            "status": "HOERING",
                            "psrmFordringId": claim.id,
                            "fejl": [],
                            "hoeringFrist": claim.hearing_deadline,
                        }
                    )
                else:
                    if claim is not None and claim.status == "MODTAGET":
                        claim.status = "UNDER_INDDRIVELSE"
                        claim.history.append({"dato": today, "haendelse": "UNDER_INDDRIVELSE"})
                    receipts.append(
                        {
                            "mfAktionId": result.action_id,
                            "status": "UDFOERT",
                            "psrmFordringId": result.claim_id,
                            "fejl": [],
                        }
                    )
            delivery.receipts = receipts
        return delivery.receipts

    def answer_hearing(self, claim: PsrmClaim, justified: bool, today: date) -> None:
        claim.status = "UNDER_INDDRIVELSE" if justified else "TILBAGEKALDT"
        claim.hearing_deadline = None
        claim.history.append(
            {"dato": today, "haendelse": "HOERING BEGRUNDET" if justified else "HOERING TILBAGETRUKKET"}
        )

    # ---- coverage, returns, settlement ------------------------------------------------------------
    def cover(self, claim: PsrmClaim, amount: int, source: str, today: date) -> Notification:
        claim.balance -= amount
        claim.history.append({"dato": today, "haendelse": f"DAEKNING {source}", "beloebOere": amount})
        if claim.balance == 0:
            claim.status = "INDFRIET"
        kind = "UDLIGNING" if source == "MODREGNING" else "ALLOKERING"
        settle_on = last_bank_day_of_month(today.year, today.month)
        if today > settle_on:
            nxt = today.replace(day=28) + timedelta(days=4)
            settle_on = last_bank_day_of_month(nxt.year, nxt.month)
        key = (claim.creditor, settle_on)
        self.settlements[key] = self.settlements.get(key, 0) + amount
        return self.notify(claim.creditor, kind, today, claim=claim, amount=amount, text=source)

    def give_back(self, claim: PsrmClaim, code: str, text: str, today: date) -> Notification:
        claim.status = "RETURNERET"
        claim.history.append({"dato": today, "haendelse": f"RETURNERET {code}"})
        return self.notify(claim.creditor, "RETURNERING", today, claim=claim, return_code=code, text=text)

    def notify(
        self,
        creditor: str,
        kind: str,
        on: date,
        *,
        claim: PsrmClaim | None = None,
        amount: int | None = None,
        return_code: str | None = None,
        text: str | None = None,
    ) -> Notification:
        notice = Notification(
            id=self.next_id("UND"),
            creditor=creditor,
            kind=kind,
            on=on,
            reference=claim.reference if claim else None,
            claim_id=claim.id if claim else None,
            amount=amount,
            return_code=return_code,
            text=text,
        )
        self.notifications.append(notice)
        return notice

    def next_job_day(self, today: date) -> date | None:
        """The first day `run_due` has something to do (a hearing's deadline passed, a month to settle)."""
        days = [
            c.hearing_deadline + timedelta(days=1)
            for c in self.claims.values()
            if c.status == "HOERING" and c.hearing_deadline
        ]
        days += [settle_on for creditor, settle_on in self.settlements if (creditor, settle_on) not in self.settled]
        return max(min(days), today) if days else None

    def run_due(self, today: date) -> int:
        """Expire hearings past their deadline and settle months whose last bank day has come."""
        ran = 0
        for claim in self.claims.values():
            if claim.status == "HOERING" and claim.hearing_deadline and today > claim.hearing_deadline:
                claim.status = "AFVIST"
                claim.history.append({"dato": claim.hearing_deadline, "haendelse": "HOERING UDLOEBET"})
                ran += 1
        for (creditor, settle_on), amount in sorted(self.settlements.items()):
            if settle_on <= today and (creditor, settle_on) not in self.settled:
                self.settled.add((creditor, settle_on))
                self.notify(creditor, "AFREGNING", settle_on, amount=amount, text="Månedlig afregning")
                ran += 1
        return ran


def _reject(action_id: str, code: int) -> ActionResult:
    return ActionResult(action_id, False, [{"kode": code, "tekst": CODES[code]}])


def months_back(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (clamped to the month's last day)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)
