"""FBS's books for one session: borrowers, claims, the event feed, postings, rejections, exclusion.

Since ØiR v3 FBS takes no payments itself: a claim's balance moves only by the library's own
write-downs and annulments and by postings the integration delivers. Every intake is idempotent by
the sender's id, and a borrower is excluded while their balance is above the local limit.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from contracts.municipalities import Municipality
from simulators.kernel import Problem


@dataclass
class Borrower:
    id: str
    cpr: str
    name: str
    municipality: Municipality
    excluded: bool = False
    notices: list[dict[str, Any]] = field(default_factory=list)
    claim_ids: list[str] = field(default_factory=list)  # the borrower's claims, oldest first
    statements: list[dict[str, Any]] = field(default_factory=list)  # balance statements, oldest first


@dataclass
class LibraryClaim:
    id: str
    borrower_id: str
    municipality: Municipality
    kind: str
    text: str
    created_on: date
    due_on: date
    parts: list[dict[str, Any]]
    version: int = 1
    status: str = "AABEN"
    collection: str = "IKKE_OVERDRAGET"
    account_closed: bool = False
    written_down: int = 0
    postings: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    dispute: dict[str, Any] | None = None  # the latest indsigelse: modtaget, begrundelse, udfald, afgjort

    @property
    def amount(self) -> int:
        return sum(p["beloebOere"] for p in self.parts)

    @property
    def balance(self) -> int:
        if self.status == "ANNULLERET":
            return 0
        return self.amount - self.written_down - sum(p["beloebOere"] - p["overbetalingOere"] for p in self.postings)

    def posted(self, kind: str) -> int:
        """What postings of a kind (DAEKNING, AFSKRIVNING) took off the claim, overpayments left out."""
        return sum(p["beloebOere"] - p["overbetalingOere"] for p in self.postings if p["type"] == kind)

    @property
    def refund_due(self) -> int:
        """Money the citizen paid beyond what the claim asked (or on a claim that had gone): to refund."""
        return sum(p["overbetalingOere"] for p in self.postings if p["type"] == "DAEKNING")


@dataclass
class Library:
    borrowers: dict[str, Borrower] = field(default_factory=dict)
    by_cpr: dict[tuple[str, str], str] = field(default_factory=dict)  # (municipality code, cpr) -> id
    claims: dict[str, LibraryClaim] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    received: dict[str, tuple[str, str]] = field(default_factory=dict)  # intake id -> (fingerprint, claim id)
    _borrower_seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    _claim_seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    # ---- desk ----------------------------------------------------------------------------------
    def borrower(self, borrower_id: str, municipality: Municipality | None = None) -> Borrower:
        borrower = self.borrowers.get(borrower_id)
        if borrower is None:
            raise Problem(404, "OIR-404-BORROWER-NOT-FOUND", "No such borrower", borrower_id)
        if municipality is not None and borrower.municipality.cvr != municipality.cvr:
            raise Problem(403, "OIR-403-OTHER-MUNICIPALITY", "The borrower belongs to another municipality's library")
        return borrower

    def claim(self, claim_id: str, municipality: Municipality) -> LibraryClaim:
        claim = self.claims.get(claim_id)
        if claim is None:
            raise Problem(404, "OIR-404-CLAIM-NOT-FOUND", "No such claim", claim_id)
        if claim.municipality.cvr != municipality.cvr:
            raise Problem(403, "OIR-403-OTHER-MUNICIPALITY", "The claim belongs to another municipality")
        return claim

    def add_borrower(self, cpr: str, name: str, municipality: Municipality, series: str = "") -> tuple[Borrower, bool]:
        existing = self.by_cpr.get((municipality.code, cpr))
        if existing:
            return self.borrowers[existing], False
        number = f"{series}-{next(self._borrower_seq):06d}" if series else f"{next(self._borrower_seq):06d}"
        borrower = Borrower(id=f"L{municipality.code}{number}", cpr=cpr, name=name, municipality=municipality)
        self.borrowers[borrower.id] = borrower
        self.by_cpr[(municipality.code, cpr)] = borrower.id
        return borrower, True

    def add_claim(
        self,
        borrower: Borrower,
        kind: str,
        amount: int,
        handling: int | None,
        text: str,
        due_on: date | None,
        now: datetime,
        series: str = "",
    ) -> LibraryClaim:
        if handling is not None and kind == "GEBYR":
            raise Problem(422, "OIR-422-HANDLING-FEE-ON-FEE", "A handling fee belongs to a replacement claim")
        number = f"{series}-{next(self._claim_seq):07d}" if series else f"{next(self._claim_seq):07d}"
        claim_id = f"FBS-{borrower.municipality.code}-{number}"
        parts = [{"delpostId": f"{claim_id}-1", "beloebOere": amount, "tekst": text}]
        if handling:
            parts.append({"delpostId": f"{claim_id}-2", "beloebOere": handling, "tekst": "Håndteringsgebyr"})
        claim = LibraryClaim(
            id=claim_id,
            borrower_id=borrower.id,
            municipality=borrower.municipality,
            kind=kind,
            text=text,
            created_on=now.date(),
            due_on=due_on or now.date(),
            parts=parts,
        )
        if claim.due_on < claim.created_on:
            raise Problem(422, "OIR-422-DATES", "forfaldsdato lies before the claim is made")
        self.claims[claim.id] = claim
        borrower.claim_ids.append(claim.id)
        self.emit("FORDRING_OPRETTET", claim, now)
        return claim

    def write_down(self, claim: LibraryClaim, amount: int, effective: date, reason: str, now: datetime) -> None:
        self._require_open(claim)
        if amount > claim.balance:
            raise Problem(
                422,
                "OIR-422-WRITE-DOWN-EXCEEDS",
                "The write-down exceeds the balance",
                f"{amount} øre > {claim.balance} øre",
            )
        claim.written_down += amount
        if claim.balance == 0:
            # Nothing is left to collect: the claim is closed as written down (AFSKREVET), as the debtor
            # system closes it on the same write-down; it no longer counts as open (exclusion, go-live
            # extract), and money that still reaches it is an overpayment to refund (`post`).
            claim.status = "AFSKREVET"
        self.emit(
            "FORDRING_NEDSKREVET",
            claim,
            now,
            nedskrivning={"beloebOere": amount, "virkningsdato": effective, "aarsag": reason},
        )

    def annul(self, claim: LibraryClaim, reason: str, now: datetime) -> None:
        if claim.status == "ANNULLERET":
            raise Problem(409, "OIR-409-ALREADY-ANNULLED", "The claim is already annulled")
        self._require_open(claim)
        claim.status = "ANNULLERET"
        self.emit("FORDRING_ANNULLERET", claim, now, annulleringsaarsag=reason)

    def change_cpr(self, borrower: Borrower, cpr: str, now: datetime) -> int:
        if cpr == borrower.cpr:
            return 0
        taken = self.by_cpr.get((borrower.municipality.code, cpr))
        if taken and taken != borrower.id:
            raise Problem(409, "OIR-409-CPR-TAKEN", "Another borrower in this municipality has that CPR")
        old = borrower.cpr
        del self.by_cpr[(borrower.municipality.code, old)]
        borrower.cpr = cpr
        self.by_cpr[(borrower.municipality.code, cpr)] = borrower.id
        open_claims = [
            c for c in self.claims.values() if c.borrower_id == borrower.id and c.status in ("AABEN", "AFVIST")
        ]
        for claim in open_claims:
            self.emit("CPR_AENDRET", claim, now, cprAendring={"gammelCpr": old, "nyCpr": cpr})
        return len(open_claims)

    def correct(
        self, claim: LibraryClaim, amount: int | None, text: str | None, kind: str | None, now: datetime
    ) -> None:
        if claim.status != "AFVIST":
            raise Problem(409, "OIR-409-NOT-REJECTED", "Only a rejected claim is corrected and resent", claim.status)
        if amount is not None:
            claim.parts[0]["beloebOere"] = amount
        if text is not None:
            claim.text = text
            claim.parts[0]["tekst"] = text
        if kind is not None:
            claim.kind = kind
        claim.version += 1
        claim.status = "AABEN"
        self.emit("FORDRING_OPRETTET", claim, now)

    def write_up(self, claim: LibraryClaim, amount: int, effective: date, text: str, now: datetime) -> dict[str, Any]:
        """Write a live claim up (opskrivning): the amount is a new part of the claim, and the feed says so.

        Only a claim still with the library's debtor process: one handed over to PSRM is written up at
        PSRM by the debtor system (OPSKRIVNINGREGULERING), which the ØiR messages cannot ask of it."""
        if claim.status != "AABEN":
            raise Problem(
                409, "OIR-409-CLAIM-CLOSED", f"Only an open claim is written up; it is {claim.status.lower()}"
            )
        if claim.collection == "OVERDRAGET":
            raise Problem(
                409,
                "OIR-409-UNDER-COLLECTION",
                "The claim is with PSRM: a write-up cannot follow it there",
                claim.id,
            )
        part = {"delpostId": f"{claim.id}-{len(claim.parts) + 1}", "beloebOere": amount, "tekst": text}
        claim.parts.append(part)
        claim.version += 1
        self.emit(
            "FORDRING_OPSKREVET",
            claim,
            now,
            opskrivning={
                "delpostId": part["delpostId"],
                "beloebOere": amount,
                "virkningsdato": effective,
                "tekst": text,
            },
        )
        return part

    def acknowledge(self, claim: LibraryClaim, on: date, now: datetime) -> None:
        """The borrower acknowledged a replacement claim in writing after it was raised (erstatningskrav med
        anerkendelse): it becomes the kind PSRM can collect, and the feed says so with what is still open."""
        if claim.kind != "ERSTATNING":
            raise Problem(
                409,
                "OIR-409-NOT-AN-UNACKNOWLEDGED-REPLACEMENT",
                "Only a replacement claim not yet acknowledged can be acknowledged",
                claim.kind,
            )
        if claim.status != "AABEN":
            raise Problem(
                409, "OIR-409-CLAIM-CLOSED", f"Only an open claim is acknowledged; it is {claim.status.lower()}"
            )
        if on < claim.created_on or on > now.date():
            raise Problem(422, "OIR-422-DATES", "The acknowledgement lies between the claim's creation and today")
        claim.kind = "ERSTATNING_ANERKENDT"
        claim.version += 1
        self.emit("FORDRING_ANERKENDT", claim, now, anerkendelse={"dato": on, "saldoOere": claim.balance})

    def dispute(self, claim: LibraryClaim, reason: str, now: datetime) -> None:
        """The borrower disputes the claim (indsigelse) at the library: the feed says so, and the claim's
        collection is paused at the debtor system until the library decides (`resolve_dispute`). A claim
        handed over to PSRM is disputed with Gældsstyrelsen, not here."""
        if claim.status != "AABEN":
            raise Problem(409, "OIR-409-CLAIM-CLOSED", f"Only an open claim is disputed; it is {claim.status.lower()}")
        if claim.collection == "OVERDRAGET":
            raise Problem(
                409,
                "OIR-409-UNDER-COLLECTION",
                "The claim is with PSRM: disputes go to Gældsstyrelsen",
                claim.id,
            )
        if claim.dispute is not None and claim.dispute["udfald"] is None:
            raise Problem(409, "OIR-409-ALREADY-DISPUTED", "The claim has an open dispute", claim.id)
        claim.dispute = {"modtaget": now.date(), "begrundelse": reason, "udfald": None, "afgjort": None}
        self.emit("FORDRING_INDSIGELSE", claim, now, indsigelse={"dato": now.date(), "begrundelse": reason})

    def resolve_dispute(self, claim: LibraryClaim, outcome: str, now: datetime) -> None:
        """The library decides the dispute: MEDHOLD (the borrower is right) annuls the claim, the usual way;
        AFVIST lets collection resume. Either way the feed says so."""
        dispute = claim.dispute
        if dispute is None or dispute["udfald"] is not None:
            raise Problem(409, "OIR-409-NO-OPEN-DISPUTE", "The claim has no open dispute to decide", claim.id)
        dispute["udfald"], dispute["afgjort"] = outcome, now.date()
        self.emit(
            "FORDRING_INDSIGELSE_AFGJORT",
            claim,
            now,
            indsigelse={"dato": dispute["modtaget"], "begrundelse": dispute["begrundelse"], "udfald": outcome},
        )
        if outcome == "MEDHOLD" and claim.status in ("AABEN", "AFVIST"):
            self.annul(claim, "Indsigelse taget til følge", now)

    def make_statements(self, on: date) -> list[dict[str, Any]]:
        """The periodic balance statements (saldoopgørelser) of `on`: one to each borrower with open claims,
        each claim with what it was made for, what was paid, written down and written off, and what is open."""
        made = []
        for borrower in self.borrowers.values():
            claims = [self.claims[c] for c in borrower.claim_ids]
            open_claims = [c for c in claims if c.status in ("AABEN", "AFVIST") and c.balance > 0]
            if not open_claims:
                continue
            lines: list[dict[str, Any]] = [
                {
                    "fordringId": c.id,
                    "tekst": c.text,
                    "forfaldsdato": c.due_on,
                    "oprindeligtBeloebOere": c.amount,
                    "betaltOere": c.posted("DAEKNING"),
                    "nedskrevetOere": c.written_down,
                    "afskrevetOere": c.posted("AFSKRIVNING"),
                    "saldoOere": c.balance,
                    "inddrivelse": c.collection,
                }
                for c in open_claims
            ]
            statement: dict[str, Any] = {
                "opgoerelseId": f"SO-{borrower.id}-{on:%Y%m%d}",
                "laanerId": borrower.id,
                "dato": on,
                "fordringer": lines,
                "saldoOere": sum(c.balance for c in open_claims),
            }
            borrower.statements.append(statement)
            made.append(statement)
        return made

    @staticmethod
    def _require_open(claim: LibraryClaim) -> None:
        if claim.status not in ("AABEN", "AFVIST"):
            raise Problem(409, "OIR-409-CLAIM-CLOSED", f"The claim is {claim.status.lower()}")

    # ---- feed ----------------------------------------------------------------------------------
    def emit(self, kind: str, claim: LibraryClaim, now: datetime, **extra: Any) -> None:
        borrower = self.borrowers[claim.borrower_id]
        number = len(self.events) + 1
        self.events.append(
            {
                "haendelseId": f"H{number:08d}",
                "cursor": cursor(number),
                "type": kind,
                "tidspunkt": now,
                "kommuneKode": claim.municipality.code,
                "kommuneCvr": claim.municipality.cvr,
                "fordring": {
                    "fordringId": claim.id,
                    "laanerId": claim.borrower_id,
                    "type": claim.kind,
                    "beloebOere": claim.amount,
                    "tekst": claim.text,
                    "stiftelsesdato": claim.created_on,
                    "forfaldsdato": claim.due_on,
                    "version": claim.version,
                    "delposter": [dict(p) for p in claim.parts],
                },
                "laaner": {"laanerId": borrower.id, "cpr": borrower.cpr, "navn": borrower.name},
                **extra,
            }
        )

    def extract(self, municipality: Municipality) -> tuple[list[dict[str, Any]], str | None]:
        """The go-live extract of a municipality: each open claim as it stands now, with its write-downs,
        an open dispute, and the feed events it includes, and the feed cursor of this cut-off (DOMAIN.md,
        "Go-live")."""
        events_of: dict[str, list[dict[str, Any]]] = {}
        for event in self.events:
            events_of.setdefault(event["fordring"]["fordringId"], []).append(event)
        lines = []
        for claim in self.claims.values():
            if (
                claim.municipality.cvr != municipality.cvr
                or claim.status not in ("AABEN", "AFVIST")
                or not claim.balance
            ):
                continue
            borrower = self.borrowers[claim.borrower_id]
            history = events_of.get(claim.id, [])
            lines.append(
                {
                    "fordringId": claim.id,
                    "kommuneCvr": municipality.cvr,
                    "laaner": {"laanerId": borrower.id, "cpr": borrower.cpr, "navn": borrower.name},
                    "type": claim.kind,
                    "tekst": claim.text,
                    "stiftelsesdato": claim.created_on,
                    "forfaldsdato": claim.due_on,
                    "delposter": [dict(p) for p in claim.parts],
                    "nedskrivninger": [
                        {"haendelseId": e["haendelseId"], **e["nedskrivning"]}
                        for e in history
                        if e["type"] == "FORDRING_NEDSKREVET"
                    ],
                    "haendelser": [e["haendelseId"] for e in history],
                    **(
                        {"indsigelse": {"dato": claim.dispute["modtaget"], "begrundelse": claim.dispute["begrundelse"]}}
                        if claim.dispute is not None and claim.dispute["udfald"] is None
                        else {}
                    ),
                }
            )
        return lines, (self.events[-1]["cursor"] if self.events else None)

    def read(
        self, after: str | None, count: int, municipality_cvr: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        start = position(after) if after else 0
        picked, last = [], start
        for index in range(start, len(self.events)):  # a page costs its own events, not the rest of the feed
            event = self.events[index]
            last = position(event["cursor"])
            if municipality_cvr is None or event["kommuneCvr"] == municipality_cvr:
                picked.append(event)
                if len(picked) == count:
                    break
        next_cursor = cursor(last) if last else after
        return picked, next_cursor

    # ---- intakes -------------------------------------------------------------------------------
    def seen(self, intake_id: str, fingerprint: str) -> str | None:
        """The claim an intake id was used for, if the same message came before; 409 if another."""
        earlier = self.received.get(intake_id)
        if earlier is None:
            return None
        if earlier[0] != fingerprint:
            raise Problem(409, "OIR-409-ID-REUSED", "This id was already used for another message", intake_id)
        return earlier[1]

    def post(self, claim: LibraryClaim, posting: dict[str, Any]) -> None:
        """Book a payment or write-off the debtor system reports; never refuse money that was paid.

        A payment is the citizen's money whatever became of the claim meanwhile (DOMAIN.md, "Money
        on a claim that has since gone"): what exceeds the balance — all of it on an annulled, paid
        or written-off claim — is kept on the posting as an overpayment to refund. A write-off beyond
        the balance writes off only what is open.
        """
        open_now = claim.balance if claim.status in ("AABEN", "AFVIST") else 0
        excess = max(0, posting["beloebOere"] - open_now)
        claim.postings.append({**posting, "overbetalingOere": excess})
        if claim.status in ("AABEN", "AFVIST") and claim.balance == 0:
            claim.status = "BETALT" if posting["type"] == "DAEKNING" else "AFSKREVET"

    def review_exclusion(self, borrower: Borrower, now: datetime, limit: int) -> None:
        """Exclude a borrower above the local limit (udelukkelsesnotifikation); lift it below."""
        balance = self.balance(borrower)
        if balance > limit and not borrower.excluded:
            borrower.excluded = True
            borrower.notices.append({"type": "UDELUKKELSE", "tidspunkt": now, "saldoOere": balance})
        elif balance <= limit and borrower.excluded:
            borrower.excluded = False
            borrower.notices.append({"type": "UDELUKKELSE_OPHAEVET", "tidspunkt": now, "saldoOere": balance})

    def balance(self, borrower: Borrower) -> int:
        # By the borrower's own claims, not a scan of all: called on every claim made (100k in a benchmark).
        claims = (self.claims[claim_id] for claim_id in borrower.claim_ids)
        return sum(c.balance for c in claims if c.status in ("AABEN", "AFVIST"))


def cursor(number: int) -> str:
    return f"c-{number:08d}"


def position(value: str) -> int:
    return int(value[2:])
