"""Reconciliation: FBS's balances against the debtor systems' B_02 answers, repaired and reported.

For every claim the engine registered on a route, the debtor's movements on FBS's own sub-claims
(payments and write-offs; the debtor's fees and interest are not FBS's) are compared with the
postings FBS holds. What a lost callback left behind is posted to FBS under an id derived from the
movement, and the movement is remembered, so neither a second reconciliation nor the lost callback
turning up late can count it twice. Every difference and what was done about it goes in the report.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select

from .money import book_repair
from .paths import FbsPaths
from .routing import RoutingError
from .store import ClaimRecord, RepairedMovement, movement_signature
from .translate import MessageSpec

if TYPE_CHECKING:
    from .engine import Engine

_KINDS = ("DAEKNING", "AFSKRIVNING")


@dataclass
class Difference:
    claim_id: str
    municipality_code: str
    kind: str
    fbs_oere: int
    debtor_oere: int
    action: str


@dataclass
class ReconciliationReport:
    claims_checked: int = 0
    differences: list[Difference] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # what FBS refused, awaiting a replay

    def as_json(self) -> dict[str, Any]:
        return {
            "claimsChecked": self.claims_checked,
            "differences": [asdict(d) for d in self.differences],
            "unreachable": self.unreachable,
            "quarantined": self.quarantined,
        }


def reconcile(engine: Engine, *, route_cvr: str | None = None) -> ReconciliationReport:
    report = ReconciliationReport(quarantined=quarantine_listing(engine, route_cvr))
    with engine.session() as session:
        query = select(ClaimRecord)
        if route_cvr:
            query = query.where(ClaimRecord.municipality_cvr == route_cvr)
        records = session.scalars(query.order_by(ClaimRecord.claim_id)).all()
    by_account: dict[tuple[str, str], list[ClaimRecord]] = {}
    for record in records:
        by_account.setdefault((record.municipality_cvr, record.account_id), []).append(record)
    for (cvr, account_id), claims in by_account.items():
        account = _debtor_account(engine, cvr, account_id, report)
        if account is None:
            continue
        debtor_claims = {c["fordringId"]: c for c in account["fordringer"]}
        # An FBS claim may be carried by several debtor claims (a write-up, an acknowledgement): compared as one.
        by_fbs_claim: dict[str, list[ClaimRecord]] = {}
        for record in claims:
            by_fbs_claim.setdefault(record.fbs_id, []).append(record)
        for fbs_id, group in by_fbs_claim.items():
            report.claims_checked += 1
            fbs_claim = _fbs_claim(engine, cvr, fbs_id, report)
            present = [(r, debtor_claims[r.claim_id]) for r in group if r.claim_id in debtor_claims]
            if fbs_claim is None or not present:
                continue
            _compare(engine, fbs_id, present, fbs_claim, report)
    return report


def _compare(
    engine: Engine,
    fbs_id: str,
    present: list[tuple[ClaimRecord, dict[str, Any]]],
    fbs_claim: dict[str, Any],
    report: ReconciliationReport,
) -> None:
    code = engine.route_for(present[0][0].municipality_cvr).municipality.code
    for kind in _KINDS:
        movements = [
            (record, part["delfordringId"], m)
            for record, debtor_claim in present
            for part in debtor_claim["delfordringer"]
            if part["delfordringId"] in set(record.subclaim_ids)
            for m in part["bevaegelser"]
            if m["type"] == kind
        ]
        debtor_total = sum(m["beloebOere"] for _, _, m in movements)
        fbs_total = sum(p["beloebOere"] for p in fbs_claim["posteringer"] if p["type"] == kind)
        if debtor_total == fbs_total:
            continue
        if debtor_total < fbs_total:
            report.differences.append(
                Difference(
                    fbs_id,
                    code,
                    kind,
                    fbs_total,
                    debtor_total,
                    "reported: FBS holds more than the debtor system; not changed",
                )
            )
            continue
        repaired = _repair(engine, kind, movements, debtor_total - fbs_total)
        report.differences.append(
            Difference(fbs_id, code, kind, fbs_total, debtor_total, f"posted {repaired} øre to FBS")
        )


def _repair(engine: Engine, kind: str, movements: list[tuple[ClaimRecord, str, dict[str, Any]]], missing: int) -> int:
    """Queue postings for the newest movements that account for the missing amount."""
    posted = 0
    with engine.transaction() as session:
        for record, subclaim_id, movement in reversed(movements):
            if posted >= missing:
                break
            signature = movement_signature(subclaim_id, kind, movement["beloebOere"], movement["dato"])
            if session.get(RepairedMovement, signature) is not None:
                continue
            amount = min(movement["beloebOere"], missing - posted)
            posting_id = f"REC-{uuid.uuid5(uuid.NAMESPACE_URL, signature)}"
            engine.queue(
                session,
                MessageSpec(
                    "POSTING",
                    "fbs",
                    "POST",
                    FbsPaths.POSTINGS,
                    {
                        "posteringId": posting_id,
                        "fordringId": record.fbs_id,
                        "type": kind,
                        "beloebOere": amount,
                        "dato": movement["dato"],
                        "kilde": "AFSTEMNING",
                    },
                ),
                record.municipality_cvr,
                record.fbs_id,
                f"reconcile:{signature}",
            )
            session.add(RepairedMovement(signature=signature, claim_id=record.claim_id, repaired_at=engine.clock.now()))
            book_repair(session, record.claim_id, amount)
            posted += amount
    return posted


def _debtor_account(engine: Engine, cvr: str, account_id: str, report: ReconciliationReport) -> Any:
    try:
        response = engine.read_debtor_account(cvr, account_id)
    except (RoutingError, httpx.HTTPError) as error:
        report.unreachable.append(f"{account_id}: {error}")
        return None
    if response.status_code != 200:
        report.unreachable.append(f"{account_id}: debtor answered {response.status_code}")
        return None
    return response.json()


def _fbs_claim(engine: Engine, cvr: str, claim_id: str, report: ReconciliationReport) -> Any:
    try:
        response = engine.read_fbs_claim(cvr, claim_id)
    except httpx.HTTPError as error:
        report.unreachable.append(f"{claim_id}: {error}")
        return None
    if response.status_code != 200:
        report.unreachable.append(f"{claim_id}: FBS answered {response.status_code}")
        return None
    return response.json()


def quarantine_listing(engine: Engine, route_cvr: str | None = None) -> list[dict[str, Any]]:
    """Each quarantined message as a person reads it: which claim, what, and why FBS refused it."""
    return [
        {
            "id": message.id,
            "claim": message.claim_id,
            "kind": message.kind,
            "path": message.path,
            "status": message.last_status,
            "code": (message.answer or {}).get("code") if isinstance(message.answer, dict) else None,
            "amountOere": message.body.get("beloebOere"),
            "transactionId": message.transaction_id,
        }
        for message in engine.quarantine()
        if route_cvr is None or message.municipality_cvr == route_cvr
    ]
