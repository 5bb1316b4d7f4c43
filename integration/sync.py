"""One engine cycle: read FBS's feed into the outbox, then deliver what is due, in order per claim.

Reading: every new event and the messages it requires (or a rejection for FBS when it cannot be
routed) are stored with the advanced cursor in one transaction. Delivering: each message goes out
with the transaction id it was born with; a 2xx settles it, a business rejection (4xx) settles it and
queues a rejection for FBS, and anything else (5xx, 401, 429, a timeout, a dropped connection) leaves
it pending for a retry with exponential backoff and jitter. A claim's messages are delivered strictly
in order: a later one waits while an earlier one is pending.
"""

from __future__ import annotations

import os
import random
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from .clock import Clock
from .metrics import EngineMetrics
from .resilience import CircuitBreaker, TokenBucket
from .routing import RoutingError, RoutingTable
from .store import ClaimRecord, FeedPosition, InboxEvent, OutboxMessage
from .translate import MessageSpec, rejection, to_messages

FEED = "fbs"
_RETRYABLE = {401, 408, 425, 429}


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
    lease_batch: int = 50


@dataclass
class CycleReport:
    events_read: int = 0
    delivered: int = 0
    rejected: int = 0
    retrying: int = 0
    held: int = 0  # held back by an open circuit or a rate limit


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
        self.http = http or httpx.Client(timeout=30.0)
        self._jitter = random.Random(seed)
        self.metrics = EngineMetrics()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._buckets: dict[str, TokenBucket] = {}

    # ---- reading ---------------------------------------------------------------------------------
    def read_feed(self, report: CycleReport) -> None:
        while True:
            with self.store.begin() as session:
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
                for event in page["haendelser"]:
                    if session.get(InboxEvent, event["haendelseId"]) is None:
                        self._take_in(session, event)
                        report.events_read += 1
                        self.metrics.events.inc()
                if not page["haendelser"]:
                    return
                position.cursor = page["naesteCursor"]
                session.merge(position)

    def _take_in(self, session: Session, event: dict[str, Any]) -> None:
        claim_id = event["fordring"]["fordringId"]
        session.add(
            InboxEvent(
                event_id=event["haendelseId"], kind=event["type"], claim_id=claim_id, received_at=self.clock.now()
            )
        )
        try:
            specs = to_messages(event, self.routes)
        except RoutingError as error:
            specs = [rejection(claim_id, f"AFV-{event['haendelseId']}", error.code, error.text)]
        for spec in specs:
            if spec.kind == "REGISTER":
                self.remember_registration(session, spec, event["kommuneCvr"])
            self._queue(session, spec, event["kommuneCvr"], claim_id, event["haendelseId"])

    @staticmethod
    def remember_registration(session: Session, spec: MessageSpec, cvr: str) -> None:
        """Which account and sub-claims a claim has at the debtor, to read its callbacks later."""
        claim = spec.body["fordringer"][0]
        session.merge(
            ClaimRecord(
                claim_id=claim["fordringId"],
                municipality_cvr=cvr,
                account_id=spec.body["debitorkontoId"],
                subclaim_ids=[part["delfordringId"] for part in claim["delfordringer"]],
            )
        )

    def queue(self, session: Session, spec: MessageSpec, cvr: str, claim_id: str, source: str | None) -> None:
        """Queue a message inside the caller's transaction (the callback intake uses this)."""
        self._queue(session, spec, cvr, claim_id, source)

    def _queue(self, session: Session, spec: MessageSpec, cvr: str, claim_id: str, source: str | None) -> None:
        session.add(
            OutboxMessage(
                kind=spec.kind,
                target=spec.target,
                municipality_cvr=cvr,
                claim_id=claim_id,
                method=spec.method,
                path=spec.path,
                body=spec.body,
                transaction_id=str(uuid.uuid4()),
                source_event=source,
                status="PENDING",
                attempts=0,
                next_attempt_at=self.clock.now(),
            )
        )

    # ---- delivering ------------------------------------------------------------------------------
    def deliver_due(self, report: CycleReport) -> None:
        """Deliver what is due; a pass that queued rejections for FBS is followed by one more."""
        for _ in range(3):
            rejected_before = report.rejected
            self._deliver_pass(report)
            if report.rejected == rejected_before:
                return

    def _deliver_pass(self, report: CycleReport) -> None:
        """Lease due messages and deliver them, until nothing more can be leased now."""
        for _ in range(100_000):
            leased = self._lease()
            if not leased:
                return
            for message in leased:
                self._deliver(message, report)

    def _lease(self) -> list[OutboxMessage]:
        """Take up to a batch of due messages for this worker (FOR UPDATE SKIP LOCKED on PostgreSQL).

        A message is due when its time has come, no other worker holds a live lease on it, and no
        earlier message of the same claim is still pending: a claim's messages go out in order even
        with several workers. A worker restarted under the same name takes its own leases back at once.
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

    def _deliver(self, message: OutboxMessage, report: CycleReport) -> bool:
        """Send one message and record the outcome in its own transaction; True when settled."""
        try:
            url, token = self._target(message)
        except RoutingError as error:
            return self._settle_rejected(message, None, {"code": error.code, "title": error.text}, report)
        route = self._route_label(message)
        hold = self._held_until(message)
        if hold is not None:
            return self._postpone(message, hold, report)
        timeout = self.routes.routes[message.municipality_cvr].timeout_s if message.target == "debtor" else 30.0
        started = time.perf_counter()  # real time: how long the peer took, for the latency metric
        try:
            response = self.http.request(
                message.method,
                url + message.path,
                json=message.body,
                headers=self._headers(token, message.municipality_cvr, message.transaction_id),
                timeout=timeout,
            )
        except httpx.HTTPError as error:
            self.metrics.latency.labels(route, message.target).observe(time.perf_counter() - started)
            self._breaker_outcome(message, ok=False)
            return self._retry(message, None, f"{type(error).__name__}: {error}", report)
        self.metrics.latency.labels(route, message.target).observe(time.perf_counter() - started)
        self._breaker_outcome(message, ok=response.status_code < 500)
        body = _json(response)
        if response.is_success:
            with self.store.begin() as session:
                stored = session.get(OutboxMessage, message.id)
                assert stored is not None
                stored.status, stored.last_status, stored.answer = "DONE", response.status_code, body
                stored.attempts += 1
            report.delivered += 1
            self.metrics.deliveries.labels(self._route_label(message), message.target, "done").inc()
            return True
        if response.status_code >= 500 or response.status_code in _RETRYABLE:
            return self._retry(message, response.status_code, str(body)[:500], report)
        return self._settle_rejected(message, response.status_code, body, report)

    def _settle_rejected(self, message: OutboxMessage, status: int | None, body: Any, report: CycleReport) -> bool:
        problem = body if isinstance(body, dict) else {}
        with self.store.begin() as session:
            stored = session.get(OutboxMessage, message.id)
            assert stored is not None
            stored.status, stored.last_status, stored.answer = "REJECTED", status, problem
            stored.attempts += 1
            if message.target == "debtor":
                text = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
                self._queue(
                    session,
                    rejection(
                        message.claim_id,
                        f"AFV-{message.transaction_id}",
                        str(problem.get("code") or f"HTTP-{status}"),
                        text,
                    ),
                    message.municipality_cvr,
                    message.claim_id,
                    message.source_event,
                )
        report.rejected += 1
        self.metrics.deliveries.labels(self._route_label(message), message.target, "rejected").inc()
        return True

    def _retry(self, message: OutboxMessage, status: int | None, error: str, report: CycleReport) -> bool:
        with self.store.begin() as session:
            stored = session.get(OutboxMessage, message.id)
            assert stored is not None
            stored.attempts += 1
            delay = min(self.config.backoff_base_s * 2 ** (stored.attempts - 1), self.config.backoff_max_s)
            stored.next_attempt_at = self.clock.now() + timedelta(seconds=delay * (0.5 + self._jitter.random() / 2))
            stored.last_status, stored.last_error = status, error
        report.retrying += 1
        self.metrics.retries.labels(self._route_label(message), message.target).inc()
        return False

    def _held_until(self, message: OutboxMessage) -> Any:
        """When a debtor route's open circuit or rate limit lets this message go, or None for now."""
        if message.target != "debtor":
            return None
        route = self.routes.routes[message.municipality_cvr]
        now = self.clock.now()
        breaker = self._breakers.setdefault(
            route.municipality.cvr, CircuitBreaker(route.failure_threshold, timedelta(seconds=route.cooldown_s))
        )
        retry_at = breaker.retry_at(now)
        if retry_at is not None:
            return retry_at
        if route.rate_per_s:
            bucket = self._buckets.setdefault(
                route.municipality.cvr, TokenBucket(route.rate_per_s, max(1, int(route.rate_per_s)))
            )
            return bucket.wait_until(now)
        return None

    def _breaker_outcome(self, message: OutboxMessage, *, ok: bool) -> None:
        breaker = self._breakers.get(message.municipality_cvr)
        if breaker is None or message.target != "debtor":
            return
        if ok:
            breaker.succeeded()
        else:
            breaker.failed(self.clock.now())

    def _postpone(self, message: OutboxMessage, until: Any, report: CycleReport) -> bool:
        """Hold a message back without counting an attempt (open circuit, rate limit)."""
        with self.store.begin() as session:
            stored = session.get(OutboxMessage, message.id)
            assert stored is not None
            stored.next_attempt_at = until
        self.metrics.deliveries.labels(self._route_label(message), message.target, "held").inc()
        report.held += 1
        return False

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


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"raw": response.text[:500]}
