"""One engine cycle: read FBS's feed into the outbox, then deliver what is due, in order per claim.

Reading: every new event and the messages it requires (or a rejection for FBS when it cannot be
routed) are stored with the advanced cursor in one transaction. Delivering: each message goes out
with the transaction id it was born with; a 2xx settles it, a business rejection (4xx) settles it and
queues a rejection for FBS, and anything else (5xx, 401, 429, a timeout, a dropped connection) leaves
it pending for a retry with exponential backoff and jitter. A claim's messages are delivered strictly
in order: a later one waits while an earlier one is pending.

Delivery is concurrent: up to `EngineConfig.concurrency` calls are in flight at once, on one shared
httpx.Client from a pool of threads, while the deciding (circuit breaker, rate limit, outcomes) stays
in the cycle's thread. Never two messages of one claim at once: a message stays pending until its
outcome is recorded, and a pending message blocks every later message of its claim from the lease.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from .clock import Clock
from .logs import log_event
from .metrics import EngineMetrics
from .resilience import CircuitBreaker, TokenBucket
from .routing import RoutingError, RoutingTable
from .store import ClaimRecord, FeedPosition, InboxEvent, OutboxMessage, refresh_statistics
from .translate import MessageSpec, rejection, to_messages

FEED = "fbs"
_RETRYABLE = {401, 408, 425, 429}
_ANALYZE_AFTER = 5_000  # messages queued since the planner statistics were last refreshed


@dataclass
class EngineConfig:
    fbs_url: str
    fbs_token: str = "oir-dev-token"
    page_size: int = 500
    backoff_base_s: float = 2.0
    backoff_max_s: float = 600.0
    extra_headers: dict[str, str] = field(default_factory=dict)  # e.g. X-Sim-Session against simulators
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    lease_s: float = 30.0
    lease_batch: int = 200  # messages leased at once (at most one per claim)
    concurrency: int = 8  # deliveries of a leased batch in flight at once; 1 sends one at a time


@dataclass
class CycleReport:
    events_read: int = 0
    delivered: int = 0
    rejected: int = 0
    retrying: int = 0
    held: int = 0  # held back by an open circuit or a rate limit


@dataclass
class _Page:
    """What one feed page adds: inbox and outbox rows, inserted in bulk with the cursor."""

    inbox: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Sent:
    """What one HTTP exchange gave: a status and body, or the error that stopped it."""

    status: int | None
    body: Any
    error: str | None
    seconds: float


@dataclass
class _Outcome:
    """What becomes of a leased message: done, rejected, retry or held (until a time)."""

    message: OutboxMessage
    kind: str
    status: int | None = None
    body: Any = None
    error: str | None = None
    until: datetime | None = None


class SyncEngine:
    def __init__(
        self,
        store: sessionmaker[Session],
        routes: RoutingTable,
        config: EngineConfig,
        clock: Clock,
        *,
        http: httpx.Client | None = None,
        seed: int | None = None,
    ) -> None:
        self.store = store
        self.routes = routes
        self.config = config
        self.clock = clock
        if config.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        # One client shared by the delivery threads (httpx.Client is thread-safe), with a connection
        # for every call in flight and one for the reader.
        connections = config.concurrency + 1
        self.http = http or httpx.Client(
            timeout=30.0, limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        )
        self._pool = (
            ThreadPoolExecutor(config.concurrency, thread_name_prefix="oir-deliver") if config.concurrency > 1 else None
        )
        self._jitter = random.Random(seed)
        self.metrics = EngineMetrics()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._queued_unanalyzed = 0
        self._buckets: dict[str, TokenBucket] = {}

    # ---- reading ---------------------------------------------------------------------------------
    def read_feed(self, report: CycleReport) -> None:
        while True:
            with self.store.begin() as session, session.no_autoflush:
                # One reader at a time: the cursor row is locked until the page is stored.
                position = session.scalars(
                    select(FeedPosition).where(FeedPosition.feed == FEED).with_for_update()
                ).one_or_none() or FeedPosition(feed=FEED, cursor=None)
                params: dict[str, Any] = {"antal": self.config.page_size}
                if position.cursor:
                    params["efter"] = position.cursor
                response = self.http.get(
                    f"{self.config.fbs_url}/haendelser",
                    params=params,
                    headers=self._headers(self.config.fbs_token, None, str(uuid.uuid4())),
                )
                response.raise_for_status()
                page = response.json()
                events = page["haendelser"]
                # The page's known events and claims in two queries; the rest is written in one flush.
                seen = set(
                    session.scalars(
                        select(InboxEvent.event_id).where(InboxEvent.event_id.in_([e["haendelseId"] for e in events]))
                    )
                )
                claims = {
                    record.claim_id: record
                    for record in session.scalars(
                        select(ClaimRecord).where(
                            ClaimRecord.claim_id.in_({e["fordring"]["fordringId"] for e in events})
                        )
                    )
                }
                taken = _Page()
                for event in events:
                    if event["haendelseId"] not in seen:
                        seen.add(event["haendelseId"])
                        self._take_in(session, event, claims, taken)
                        report.events_read += 1
                        self.metrics.events.inc()
                # Bulk inserts (no unit of work per object); the outbox rows in feed order, so their
                # ids keep each claim's messages in order.
                if taken.inbox:
                    session.execute(insert(InboxEvent), taken.inbox)
                if taken.outbox:
                    session.execute(insert(OutboxMessage), taken.outbox)
                    self._queued_unanalyzed += len(taken.outbox)
                if not events:
                    return
                position.cursor = page["naesteCursor"]
                session.merge(position)

    def _take_in(self, session: Session, event: dict[str, Any], claims: dict[str, ClaimRecord], page: _Page) -> None:
        claim_id = event["fordring"]["fordringId"]
        page.inbox.append(
            {
                "event_id": event["haendelseId"],
                "kind": event["type"],
                "claim_id": claim_id,
                "received_at": self.clock.now(),
            }
        )
        try:
            specs = to_messages(event, self.routes)
        except RoutingError as error:
            specs = [rejection(claim_id, f"AFV-{event['haendelseId']}", error.code, error.text)]
        for spec in specs:
            if spec.kind == "REGISTER":
                self.remember_registration(session, spec, event["kommuneCvr"], claims)
            page.outbox.append(self._outbox_row(spec, event["kommuneCvr"], claim_id, event["haendelseId"]))

    @staticmethod
    def remember_registration(
        session: Session, spec: MessageSpec, cvr: str, known: dict[str, ClaimRecord] | None = None
    ) -> None:
        """Which account and sub-claims a claim has at the debtor, to read its callbacks later.

        `known`: the stored records of the claims at hand, already loaded (a claim missing from it
        is new); without it the record is looked up.
        """
        claim = spec.body["fordringer"][0]
        record = ClaimRecord(
            claim_id=claim["fordringId"],
            municipality_cvr=cvr,
            account_id=spec.body["debitorkontoId"],
            subclaim_ids=[part["delfordringId"] for part in claim["delfordringer"]],
        )
        if known is None:
            session.merge(record)
            return
        stored = known.get(record.claim_id)
        if stored is None:
            session.add(record)
            known[record.claim_id] = record
        else:
            stored.municipality_cvr, stored.account_id = record.municipality_cvr, record.account_id
            stored.subclaim_ids = record.subclaim_ids

    def queue(self, session: Session, spec: MessageSpec, cvr: str, claim_id: str, source: str | None) -> None:
        """Queue a message inside the caller's transaction (the callback intake uses this)."""
        self._queue(session, spec, cvr, claim_id, source)

    def _queue(self, session: Session, spec: MessageSpec, cvr: str, claim_id: str, source: str | None) -> None:
        self._queued_unanalyzed += 1
        session.add(OutboxMessage(**self._outbox_row(spec, cvr, claim_id, source)))

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
            "next_attempt_at": self.clock.now(),
        }

    # ---- delivering ------------------------------------------------------------------------------
    def deliver_due(self, report: CycleReport) -> None:
        """Deliver what is due; a pass that queued rejections for FBS is followed by one more."""
        for _ in range(3):
            rejected_before = report.rejected
            self._deliver_pass(report)
            if report.rejected == rejected_before:
                return

    def _deliver_pass(self, report: CycleReport) -> None:
        """Deliver due messages, up to `concurrency` calls at once, until nothing more is due now.

        A sliding window: the worker leases more while calls are in flight, so the pool never drains
        at the end of a batch. Only the HTTP exchange runs in the pool's threads. Everything that
        decides (circuit breaker, rate limit, what an answer means) runs here, in this thread, in
        message order: a message is admitted to a debtor route only while the route's circuit could
        not open before its turn (`_gate`), so an open circuit or a rate limit holds back exactly
        what one-at-a-time delivery held back. Outcomes are recorded in groups of up to
        `lease_batch`, one transaction each, and whenever nothing is in flight.
        """
        if self._queued_unanalyzed >= _ANALYZE_AFTER:
            self._queued_unanalyzed = 0
            refresh_statistics(self.store)
        waiting: list[OutboxMessage] = []  # leased, not yet sent (in id order)
        flying: dict[Future[_Sent], OutboxMessage] = {}
        outcomes: list[_Outcome] = []  # answered, not yet recorded
        per_route: Counter[str] = Counter()
        drained = False  # the last lease found nothing new; recording may make more due
        for _ in range(10_000_000):
            if not drained and len(waiting) < self.config.concurrency:
                taken = {m.id for m in waiting} | {m.id for m in flying.values()} | {o.message.id for o in outcomes}
                leased = self._lease(taken)
                waiting += leased
                drained = not leased
            waiting = self._dispatch(waiting, flying, outcomes, per_route)
            if outcomes and (not flying or len(outcomes) >= self.config.lease_batch):
                self._record(outcomes, report)
                outcomes, drained = [], False
                continue
            if not flying:
                if drained and not waiting:
                    return
                continue
            done, _ = wait(flying, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: flying[f].id):
                message = flying.pop(future)
                per_route[message.municipality_cvr] -= 1
                outcomes.append(self._judge(message, future.result()))

    def _dispatch(
        self,
        waiting: list[OutboxMessage],
        flying: dict[Future[_Sent], OutboxMessage],
        outcomes: list[_Outcome],
        per_route: Counter[str],
    ) -> list[OutboxMessage]:
        """Send what may go now; settle what cannot go at all; return what must wait its turn."""
        still: list[OutboxMessage] = []
        for index, message in enumerate(waiting):
            if len(flying) >= self.config.concurrency:
                return still + waiting[index:]
            try:
                url, token = self._target(message)
            except RoutingError as error:
                outcomes.append(_Outcome(message, "rejected", body={"code": error.code, "title": error.text}))
                continue
            verdict, until = self._gate(message, per_route[message.municipality_cvr])
            if verdict == "wait":
                still.append(message)
            elif verdict == "hold":
                outcomes.append(_Outcome(message, "held", until=until))
            else:
                flying[self._submit(message, url, token)] = message
                per_route[message.municipality_cvr] += 1
        return still

    def _lease(self, taken: set[int]) -> list[OutboxMessage]:
        """Take up to a batch of due messages for this worker (FOR UPDATE SKIP LOCKED on PostgreSQL).

        A message is due when its time has come, no other worker holds a live lease on it, and no
        earlier message of the same claim is still pending: a claim's messages go out in order even
        with several workers. A message stays pending until its outcome is recorded, so a batch holds
        at most one message per claim (the earliest pending one), and the next message of a claim
        cannot be leased while the one before it is in flight or its outcome unrecorded. `taken`:
        the messages this worker already holds (never leased twice). A worker restarted under the
        same name takes its own leases back at once.
        """
        now = self.clock.now().astimezone(UTC)
        earlier = aliased(OutboxMessage)
        blocked = (
            select(earlier.id)
            .where(
                earlier.status == "PENDING",
                earlier.municipality_cvr == OutboxMessage.municipality_cvr,
                earlier.claim_id == OutboxMessage.claim_id,
                earlier.id < OutboxMessage.id,
            )
            .exists()
        )
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "PENDING",
                OutboxMessage.next_attempt_at <= now,
                or_(
                    OutboxMessage.leased_until.is_(None),
                    OutboxMessage.leased_until < now,
                    OutboxMessage.lease_owner == self.config.worker,
                ),
                ~blocked,
                *([OutboxMessage.id.not_in(taken)] if taken else []),
            )
            .order_by(OutboxMessage.id)
            .limit(self.config.lease_batch)
            .with_for_update(skip_locked=True)
        )
        with self.store.begin() as session:
            messages = list(session.scalars(query).all())
            for message in messages:
                message.lease_owner = self.config.worker
                message.leased_until = now + timedelta(seconds=self.config.lease_s)
        return messages

    def _gate(self, message: OutboxMessage, in_flight: int) -> tuple[str, datetime | None]:
        """May this message go now: ("send", None), ("wait", None) for a call in flight, or ("hold", until).

        A closed circuit admits only as many calls at once as failures it can still take without
        opening (so it never lets more through than one-at-a-time delivery would); a half-open one
        admits a single trial call. The rate limit takes its token only from a call that goes.
        """
        if message.target != "debtor":
            return "send", None
        route = self.routes.routes[message.municipality_cvr]
        now = self.clock.now()
        breaker = self._breakers.setdefault(
            route.municipality.cvr, CircuitBreaker(route.failure_threshold, timedelta(seconds=route.cooldown_s))
        )
        retry_at = breaker.retry_at(now)
        if retry_at is not None:
            return "hold", retry_at
        allowance = 1 if breaker.open else max(1, route.failure_threshold - breaker.failures)
        if in_flight >= allowance:
            return "wait", None
        if route.rate_per_s:
            bucket = self._buckets.setdefault(
                route.municipality.cvr, TokenBucket(route.rate_per_s, max(1, int(route.rate_per_s)))
            )
            until = bucket.wait_until(now)
            if until is not None:
                return "hold", until
        return "send", None

    def _submit(self, message: OutboxMessage, url: str, token: str) -> Future[_Sent]:
        timeout = self.routes.routes[message.municipality_cvr].timeout_s if message.target == "debtor" else 30.0
        headers = self._headers(token, message.municipality_cvr, message.transaction_id)
        request = (message.method, url + message.path, message.body, headers, timeout)
        if self._pool is None:
            future: Future[_Sent] = Future()
            future.set_result(self._send(*request))
            return future
        return self._pool.submit(self._send, *request)

    def _send(self, method: str, url: str, body: Any, headers: dict[str, str], timeout: float) -> _Sent:
        """One HTTP exchange (in a pool thread): no database, no shared state but the client."""
        started = time.perf_counter()  # real time: how long the peer took, for the latency metric
        try:
            response = self.http.request(method, url, json=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as error:
            return _Sent(None, None, f"{type(error).__name__}: {error}", time.perf_counter() - started)
        return _Sent(response.status_code, _json(response), None, time.perf_counter() - started)

    def _judge(self, message: OutboxMessage, sent: _Sent) -> _Outcome:
        """What an answer means: settled, rejected for good, or to be retried; feeds the breaker."""
        self.metrics.latency.labels(self._route_label(message), message.target).observe(sent.seconds)
        if sent.status is None:
            self._breaker_outcome(message, ok=False)
            return _Outcome(message, "retry", error=sent.error)
        self._breaker_outcome(message, ok=sent.status < 500)
        if 200 <= sent.status < 300:
            return _Outcome(message, "done", sent.status, sent.body)
        if sent.status >= 500 or sent.status in _RETRYABLE:
            return _Outcome(message, "retry", sent.status, error=str(sent.body)[:500])
        return _Outcome(message, "rejected", sent.status, sent.body if isinstance(sent.body, dict) else {})

    def _record(self, outcomes: list[_Outcome], report: CycleReport) -> None:
        """Store a batch's outcomes in one transaction, then count and log them.

        A crash before the commit leaves the batch pending: it is sent again with the same
        transaction ids, which the receivers answer as replays.
        """
        if not outcomes:
            return
        retry_at: dict[int, datetime] = {}
        with self.store.begin() as session:
            ids = [outcome.message.id for outcome in outcomes]
            stored_by_id = {m.id: m for m in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))}
            for outcome in outcomes:
                stored = stored_by_id[outcome.message.id]
                if outcome.kind == "held":
                    assert outcome.until is not None
                    stored.next_attempt_at = outcome.until
                    continue
                stored.attempts += 1
                stored.last_status = outcome.status
                if outcome.kind == "done":
                    stored.status, stored.answer = "DONE", outcome.body
                elif outcome.kind == "rejected":
                    stored.status, stored.answer = "REJECTED", outcome.body
                    self._queue_rejection(session, outcome.message, outcome.status, outcome.body)
                else:
                    delay = min(self.config.backoff_base_s * 2 ** (stored.attempts - 1), self.config.backoff_max_s)
                    stored.next_attempt_at = self.clock.now() + timedelta(
                        seconds=delay * (0.5 + self._jitter.random() / 2)
                    )
                    stored.last_error = outcome.error
                    retry_at[stored.id] = stored.next_attempt_at
        for outcome in outcomes:
            self._count(outcome, report, stored_by_id[outcome.message.id].attempts, retry_at.get(outcome.message.id))

    def _queue_rejection(self, session: Session, message: OutboxMessage, status: int | None, problem: Any) -> None:
        """A debtor's business rejection goes back to FBS (a rejection by FBS itself stops here)."""
        if message.target != "debtor":
            return
        code, text = _code(status, problem), _text(status, problem)
        self._queue(
            session,
            rejection(message.claim_id, f"AFV-{message.transaction_id}", code, text),
            message.municipality_cvr,
            message.claim_id,
            message.source_event,
        )

    def _count(self, outcome: _Outcome, report: CycleReport, attempts: int, retry_at: datetime | None) -> None:
        """Report, metrics and log lines of one recorded outcome."""
        message, route = outcome.message, self._route_label(outcome.message)
        if outcome.kind == "done":
            report.delivered += 1
            self.metrics.deliveries.labels(route, message.target, "done").inc()
        elif outcome.kind == "held":
            report.held += 1
            self.metrics.deliveries.labels(route, message.target, "held").inc()
        elif outcome.kind == "rejected":
            report.rejected += 1
            self.metrics.deliveries.labels(route, message.target, "rejected").inc()
            log_event(
                "delivery-rejected",
                level=logging.WARNING,
                **_about(route, message, outcome.status),
                code=_code(outcome.status, outcome.body),
                text=_text(outcome.status, outcome.body),
            )
        else:
            report.retrying += 1
            self.metrics.retries.labels(route, message.target).inc()
            log_event(
                "delivery-retry",
                **_about(route, message, outcome.status),
                attempts=attempts,
                nextAttemptAt=retry_at.isoformat() if retry_at else None,
                error=(outcome.error or "")[:300],
            )

    def _breaker_outcome(self, message: OutboxMessage, *, ok: bool) -> None:
        breaker = self._breakers.get(message.municipality_cvr)
        if breaker is None or message.target != "debtor":
            return
        was_open, opened_at = breaker.open, breaker.opened_at
        if ok:
            breaker.succeeded()
            if was_open:
                log_event("circuit-closed", route=self._route_label(message))
            return
        breaker.failed(self.clock.now())
        if breaker.opened_at is not None and breaker.opened_at != opened_at:
            log_event(
                "circuit-opened",
                level=logging.WARNING,
                route=self._route_label(message),
                failures=breaker.failures,
                retryAt=(breaker.opened_at + breaker.cooldown).isoformat(),
            )

    def _route_label(self, message: OutboxMessage) -> str:
        route = self.routes.routes.get(message.municipality_cvr)
        return route.municipality.code if route else message.municipality_cvr

    def queue_depth(self) -> int:
        with self.store() as session:
            depth = session.query(OutboxMessage).filter(OutboxMessage.status == "PENDING").count()
        self.metrics.queue_depth.set(depth)
        return depth

    def _target(self, message: OutboxMessage) -> tuple[str, str]:
        if message.target == "fbs":
            return self.config.fbs_url, self.config.fbs_token
        route = self.routes.route_for(message.municipality_cvr)
        return str(route.debtor_url), route.token

    def headers_for(self, token: str, cvr: str | None) -> dict[str, str]:
        """Headers of a read (B_02, FBS look-ups): a fresh transaction id each time."""
        return self._headers(token, cvr, str(uuid.uuid4()))

    def _headers(self, token: str, cvr: str | None, transaction_id: str) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {token}",
            "X-Transaktion-Id": transaction_id,
            "X-Transaktion-Tid": self.clock.now().isoformat(),
            **self.config.extra_headers,
        }
        if cvr:
            headers["X-Kommune-Cvr"] = cvr
        return headers

    # ---- a whole cycle ---------------------------------------------------------------------------
    def cycle(self) -> CycleReport:
        report = CycleReport()
        self.read_feed(report)
        self.deliver_due(report)
        return report

    def close(self) -> None:
        """Stop the delivery threads (idle between batches) and close the HTTP client."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self.http.close()


def _about(route: str, message: OutboxMessage, status: int | None) -> dict[str, Any]:
    """What a log line says about the message it concerns (never its body: that holds a CPR)."""
    return {
        "route": route,
        "target": message.target,
        "kind": message.kind,
        "claim": message.claim_id,
        "transaction": message.transaction_id,
        "status": status,
    }


def _code(status: int | None, problem: Any) -> str:
    code = problem.get("code") if isinstance(problem, dict) else None
    return str(code or f"HTTP-{status}")


def _text(status: int | None, problem: Any) -> str:
    text = (problem.get("detail") or problem.get("title")) if isinstance(problem, dict) else None
    return str(text or f"HTTP {status}")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"raw": response.text[:500]}
