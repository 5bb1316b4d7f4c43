"""Feed intake: FBS's claim events into the outbox, and the queueing every other intake shares.

Reading: every new event and the messages it requires (or a rejection for FBS when it cannot be
routed) are stored with the advanced cursor in one transaction; a crash before the commit rereads the
same events, a crash after it finds them in the inbox. The callback API, reconciliation and the claim
migration queue their messages through `queue`, inside their own transactions. Every message is born
with the transaction id it keeps across every retry (delivery.py sends it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import BindParameter, Table, bindparam, insert, or_, select
from sqlalchemy.orm import Session

from .parts import CycleReport, EngineParts
from .paths import FbsPaths
from .routing import RoutingError
from .store import ClaimRecord, FeedPosition, InboxEvent, OutboxMessage, refresh_statistics
from .translate import MessageSpec, rejection, to_messages

FEED = "fbs"
_ANALYZE_AFTER = 5_000  # messages queued since the planner statistics were last refreshed
# What every feed page runs, built once with bound parameters (building a statement costs more than
# running it on a page of a few events).
# The cursor row, locked while a page is read and stored; a row another worker has locked is skipped (see
# `read_feed`), and `_CURSOR_KEPT` then tells a locked row from a missing one.
_CURSOR = select(FeedPosition).where(FeedPosition.feed == FEED).with_for_update(skip_locked=True)
_CURSOR_KEPT = select(FeedPosition.feed).where(FeedPosition.feed == FEED)
_INSERT_INBOX = insert(cast(Table, InboxEvent.__table__))
_INSERT_OUTBOX = insert(cast(Table, OutboxMessage.__table__))
_INSERT_CLAIMS = insert(cast(Table, ClaimRecord.__table__))
_SEEN_EVENTS = select(InboxEvent.event_id).where(InboxEvent.event_id.in_(bindparam("events", expanding=True)))
_PAGE_CLAIMS: BindParameter[list[str]] = bindparam("claims", expanding=True)
_CLAIMS_OF_PAGE = select(ClaimRecord).where(
    or_(ClaimRecord.claim_id.in_(_PAGE_CLAIMS), ClaimRecord.fbs_claim_id.in_(_PAGE_CLAIMS))
)


@dataclass
class _Page:
    """What one feed page adds: inbox and outbox rows, inserted in bulk with the cursor."""

    inbox: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    # The page's debtor claims by the FBS claim they carry: looked up per event instead of scanning every
    # claim of the page for each event (that scan was quadratic in the page size, and half the reading time).
    registered: dict[str, set[str]] = field(default_factory=dict)
    # Claims the page registers for the first time: inserted in bulk with the rows above, not one by one
    # through the unit of work at the commit.
    new_claims: list[ClaimRecord] = field(default_factory=list)


class FeedIntake:
    """Reads FBS's feed into the inbox and outbox; queues what the engine's other intakes need sent."""

    def __init__(self, parts: EngineParts) -> None:
        self.parts = parts
        self._queued_unanalyzed = 0

    def read_feed(self, report: CycleReport) -> None:
        """Read the feed to its end, a page per transaction; return at once while another worker reads it.

        One reader at a time: the cursor row is locked until the page is stored. A worker that finds it
        locked (PostgreSQL; SQLite has one writer anyway) does not wait for the other's pages: it goes
        on to deliver what they queued, and reads again in its next cycle.
        """
        store, settings = self.parts.store, self.parts.settings
        while True:
            with store.begin() as session, session.no_autoflush:
                position = session.scalars(_CURSOR).one_or_none()
                if position is None:
                    if session.scalars(_CURSOR_KEPT).first() is not None:
                        return  # another worker is reading the feed
                    position = FeedPosition(feed=FEED, cursor=settings.feed_from)
                params: dict[str, Any] = {"antal": settings.page_size}
                if position.cursor:
                    params["efter"] = position.cursor
                response = self.parts.http.get(
                    f"{settings.fbs_url}{FbsPaths.FEED}",
                    params=params,
                    headers=self.parts.headers(settings.engine_token, None),
                )
                response.raise_for_status()
                page = response.json()
                events = page["haendelser"]
                if not events:
                    return  # at the feed's end: nothing to look up, store or move
                # The page's known events and claims in two queries; the rest is written in one flush.
                seen = set(session.scalars(_SEEN_EVENTS, {"events": [e["haendelseId"] for e in events]}))
                fbs_claims = sorted({e["fordring"]["fordringId"] for e in events})
                claims = {
                    record.claim_id: record for record in session.scalars(_CLAIMS_OF_PAGE, {"claims": fbs_claims})
                }
                taken = _Page()
                for record in claims.values():
                    taken.registered.setdefault(record.fbs_id, set()).add(record.claim_id)
                for event in events:
                    if event["haendelseId"] not in seen:
                        seen.add(event["haendelseId"])
                        self._take_in(session, event, claims, taken)
                        report.events_read += 1
                        self.parts.metrics.events.inc()
                # Bulk inserts of plain rows on the session's connection (no unit of work, no ORM bulk
                # layer: a third of a page's cost was SQLAlchemy's per-row bookkeeping); the outbox rows
                # in feed order, so their ids keep each claim's messages in order.
                connection = session.connection()
                if taken.inbox:
                    connection.execute(_INSERT_INBOX, taken.inbox)
                if taken.outbox:
                    connection.execute(_INSERT_OUTBOX, taken.outbox)
                    self._queued_unanalyzed += len(taken.outbox)
                if taken.new_claims:
                    connection.execute(_INSERT_CLAIMS, [_claim_row(record) for record in taken.new_claims])
                position.cursor = page["naesteCursor"]
                session.merge(position)

    def _take_in(self, session: Session, event: dict[str, Any], claims: dict[str, ClaimRecord], page: _Page) -> None:
        claim_id = event["fordring"]["fordringId"]
        page.inbox.append(
            {
                "event_id": event["haendelseId"],
                "kind": event["type"],
                "claim_id": claim_id,
                "received_at": self.parts.clock.now(),
            }
        )
        registered = sorted(page.registered.get(claim_id, ()))
        try:
            specs = to_messages(event, self.parts.routes, registered)
        except RoutingError as error:
            specs = [rejection(claim_id, f"AFV-{event['haendelseId']}", error.code, error.text)]
        for spec in specs:
            if spec.kind == "REGISTER":
                debtor_claim = spec.body["fordringer"][0]["fordringId"]
                before = claims.get(debtor_claim)
                if before is not None:
                    page.registered.get(before.fbs_id, set()).discard(debtor_claim)
                self.remember_registration(
                    session, spec, event["kommuneCvr"], claims, fbs_claim_id=claim_id, fresh=page.new_claims
                )
                page.registered.setdefault(claims[debtor_claim].fbs_id, set()).add(debtor_claim)
            page.outbox.append(self._outbox_row(spec, event["kommuneCvr"], claim_id, event["haendelseId"]))

    def start_feed_at(self, cursor: str) -> str:
        """Start the feed at `cursor` (a go-live extract's cut-off) unless the engine has read the feed
        already: then it goes on from where it is, and the extract's events recorded as read
        (`mark_events_read`) keep what the extract carried from being sent twice. Returns where it reads from."""
        with self.parts.store.begin() as session:
            position = session.scalars(
                select(FeedPosition).where(FeedPosition.feed == FEED).with_for_update()
            ).one_or_none()
            if position is None:
                session.add(FeedPosition(feed=FEED, cursor=cursor))
                return cursor
            if position.cursor is None:
                position.cursor = cursor
            return position.cursor

    def mark_events_read(self, session: Session, event_ids: list[str], claim_id: str) -> None:
        """Record feed events as taken in without sending anything for them: what a go-live extract
        already carried (the claim's creation, its write-downs before the cut-off)."""
        if not event_ids:
            return
        seen = set(session.scalars(select(InboxEvent.event_id).where(InboxEvent.event_id.in_(event_ids))))
        for event_id in dict.fromkeys(event_ids):
            if event_id not in seen:
                session.add(
                    InboxEvent(
                        event_id=event_id, kind="MIGRATED", claim_id=claim_id, received_at=self.parts.clock.now()
                    )
                )

    @staticmethod
    def known_claim(session: Session, claim_id: str) -> bool:
        """Has the claim been registered (or queued for registration) already?"""
        return session.get(ClaimRecord, claim_id) is not None

    @staticmethod
    def remember_registration(
        session: Session,
        spec: MessageSpec,
        cvr: str,
        known: dict[str, ClaimRecord] | None = None,
        *,
        fbs_claim_id: str | None = None,
        fresh: list[ClaimRecord] | None = None,
    ) -> None:
        """Which account and sub-claims a claim has at the debtor, to read its callbacks later.

        `known`: the stored records of the claims at hand, already loaded (a claim missing from it
        is new); without it the record is looked up. `fbs_claim_id`: the FBS claim the debtor claim
        carries, where its id is not FBS's own (a write-up, an acknowledged replacement). `fresh` (with
        `known`): where a new record goes instead of the session, for the caller to insert in bulk.
        """
        claim = spec.body["fordringer"][0]
        parts = {part["delfordringId"]: part["beloebOere"] for part in claim["delfordringer"]}
        if known is None:
            stored = session.get(ClaimRecord, claim["fordringId"])
        else:
            stored = known.get(claim["fordringId"])
        if stored is None:
            stored = ClaimRecord(claim_id=claim["fordringId"], posted_oere=0)
            if fresh is not None and known is not None:
                fresh.append(stored)
            else:
                session.add(stored)
            if known is not None:
                known[stored.claim_id] = stored
        stored.municipality_cvr, stored.account_id = cvr, spec.body["debitorkontoId"]
        if fbs_claim_id is not None and fbs_claim_id != stored.claim_id:
            stored.fbs_claim_id = fbs_claim_id
        stored.subclaim_ids = list(parts)
        stored.part_amounts, stored.amount_oere = parts, sum(parts.values())

    def queue(self, session: Session, spec: MessageSpec, cvr: str, claim_id: str, source: str | None) -> None:
        """Queue a message inside the caller's transaction (callbacks, reconciliation, migration, rejections)."""
        self._queued_unanalyzed += 1
        session.add(OutboxMessage(**self._outbox_row(spec, cvr, claim_id, source)))

    def analyze_if_due(self) -> None:
        """Fresh planner statistics once many messages were queued since the last (PostgreSQL only)."""
        if self._queued_unanalyzed >= _ANALYZE_AFTER:
            self._queued_unanalyzed = 0
            refresh_statistics(self.parts.store)

    def _outbox_row(self, spec: MessageSpec, cvr: str, claim_id: str, source: str | None) -> dict[str, Any]:
        """A new message, born with the transaction id it keeps across every retry."""
        return {
            "kind": spec.kind,
            "target": spec.target,
            "municipality_cvr": cvr,
            "claim_id": claim_id,
            "method": spec.method,
            "path": spec.path,
            "body": spec.body,
            "transaction_id": str(uuid.uuid4()),
            "source_event": source,
            "status": "PENDING",
            "attempts": 0,
            "next_attempt_at": self.parts.clock.now(),
        }


def _claim_row(record: ClaimRecord) -> dict[str, Any]:
    """A new claim record as the row a bulk insert takes (every column, as the page left it)."""
    return {column.key: getattr(record, column.key) for column in ClaimRecord.__table__.columns}
