"""Delivery: what is due in the outbox goes out, in order per claim, and every answer is recorded.

Each message goes out with the transaction id it was born with (intake.py); a 2xx settles it, a
business rejection (4xx) settles it and queues a rejection for FBS, and anything else (5xx, 401, 429,
a timeout, a dropped connection) leaves it pending for a retry with exponential backoff and jitter.
What FBS itself refuses of money or a collection status is quarantined: kept, counted and replayable,
never dropped. A claim's messages are delivered strictly in order: a later one waits while an earlier
one is pending.

Delivery is concurrent: up to `EngineSettings.concurrency` calls are in flight at once, on one shared
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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from queue import Empty, SimpleQueue
from typing import Any, cast

import httpx
from sqlalchemy import Select, Table, bindparam, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from .intake import FeedIntake
from .logs import log_event
from .parts import CycleReport, EngineParts
from .personal_data import forget_personal_data
from .resilience import CircuitBreaker, TokenBucket
from .routing import RoutingError
from .store import OutboxMessage
from .translate import rejection

_RETRYABLE = {401, 408, 425, 429}
_FBS_MUST_HOLD = {"POSTING", "STATUS"}  # what FBS refuses of these is quarantined (money, collection status)
# The statements every cycle runs are built once, with bound parameters (`now`, `worker`, ...): building
# and hashing a SQLAlchemy statement cost more than executing it on an idle outbox.
_LIVE_LEASE_OWNERS = (
    select(OutboxMessage.lease_owner)
    .where(
        OutboxMessage.status == "PENDING",
        OutboxMessage.leased_until > bindparam("now"),
        OutboxMessage.lease_owner.like(bindparam("prefix")),
    )
    .distinct()
)

_OUTBOX = cast(Table, OutboxMessage.__table__)
# A delivered message settled: DONE, its answer kept and the personal data of both forgotten (executemany).
_SETTLE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("settled_id"))
    .values(
        status="DONE",
        attempts=_OUTBOX.c.attempts + 1,
        last_status=bindparam("settled_status", type_=_OUTBOX.c.last_status.type),
        body=bindparam("settled_body", type_=_OUTBOX.c.body.type),
        answer=bindparam("settled_answer", type_=_OUTBOX.c.answer.type),
    )
)

# The leased rows taken for a worker until a time (they are locked by the lease's SELECT … FOR UPDATE).
_TAKE_LEASE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("leased", expanding=True)))
    .values(
        lease_owner=bindparam("worker", type_=_OUTBOX.c.lease_owner.type),
        leased_until=bindparam("until", type_=_OUTBOX.c.leased_until.type),
    )
)


@cache
def _lease_statement(batch: int, excluding_taken: bool) -> Select[OutboxMessage]:
    """Up to `batch` due messages for worker `:worker` at `:now`, the earliest pending one per claim (see
    `Delivery._lease`); `excluding_taken`: not the ids in `:taken`."""
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
    return (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "PENDING",
            OutboxMessage.next_attempt_at <= bindparam("now"),
            or_(
                OutboxMessage.leased_until.is_(None),
                OutboxMessage.leased_until < bindparam("now"),
                OutboxMessage.lease_owner == bindparam("worker"),
            ),
            ~blocked,
            *([OutboxMessage.id.not_in(bindparam("taken", expanding=True))] if excluding_taken else []),
        )
        .order_by(OutboxMessage.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )


def _ended(answered: SimpleQueue[Future[_Sent]]) -> list[Future[_Sent]]:
    """The calls that have ended: waits for the first, then takes every other one already there.

    Each call puts itself on its pass's queue as it ends (from the pool's thread, or at once when made in
    the cycle's thread without a pool), instead of `concurrent.futures.wait`, which installs and removes a
    waiter on every call in flight each time one ends. The queue is the pass's own: a call left in flight
    by a pass that failed ends on that pass's queue, never in the next pass's."""
    ended = [answered.get()]
    while True:
        try:
            ended.append(answered.get_nowait())
        except Empty:
            return ended


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


class Delivery:
    """Leases what is due, sends it (up to `concurrency` at once), judges and records every answer."""

    def __init__(self, parts: EngineParts, intake: FeedIntake, *, seed: int | None = None) -> None:
        self.parts = parts
        self.intake = intake  # queues the rejections for FBS, and refreshes the planner statistics
        self.settings, self.store, self.routes, self.clock = parts.settings, parts.store, parts.routes, parts.clock
        self.http, self.metrics = parts.http, parts.metrics
        self._pool = (
            ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="oir-deliver")
            if self.settings.concurrency > 1
            else None
        )
        self._jitter = random.Random(seed)
        self._breakers: dict[str, CircuitBreaker] = {}
        self._buckets: dict[str, TokenBucket] = {}

    def deliver_due(self, report: CycleReport) -> None:
        """Deliver what is due; a pass that queued rejections for FBS is followed by one more."""
        self.release_orphaned_leases()
        for _ in range(3):
            rejected_before = report.rejected
            self._deliver_pass(report)
            if report.rejected == rejected_before:
                return

    def release_orphaned_leases(self) -> int:
        """Free at once the leases of dead engine processes on this host; returns how many.

        A worker is named `<host>-<pid>` unless given a name: restarted after a crash, it has a new
        pid and would otherwise wait out the dead one's leases (`lease_s`, 30 s) before those
        messages went out again. A lease owner on this host whose process no longer exists holds
        nothing in flight, so its leases are released. Owners on other hosts, or named by hand, are
        never judged from here: their leases expire as before (a worker restarted under the same
        name takes its own back at once).
        """
        prefix = f"{socket.gethostname()}-"
        now = self.clock.now().astimezone(UTC)
        with self.store() as session:
            owners = set(session.scalars(_LIVE_LEASE_OWNERS, {"now": now, "prefix": f"{prefix}%"}))
        worker = self.settings.worker
        dead = [owner for owner in owners if owner and owner != worker and not _alive(owner[len(prefix) :])]
        if not dead:
            return 0
        with self.store.begin() as session:
            released = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "PENDING", OutboxMessage.lease_owner.in_(dead))
                .values(leased_until=None, lease_owner=None)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
        log_event("leases-released", owners=sorted(dead), messages=released)
        return int(released)

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
        self.intake.analyze_if_due()
        waiting: list[OutboxMessage] = []  # leased, not yet sent (in id order)
        flying: dict[Future[_Sent], OutboxMessage] = {}
        answered: SimpleQueue[Future[_Sent]] = SimpleQueue()  # this pass's calls, as each one ends
        outcomes: list[_Outcome] = []  # answered, not yet recorded
        per_route: Counter[str] = Counter()
        drained = False  # the last lease found nothing new; recording may make more due
        for _ in range(10_000_000):
            if not drained and len(waiting) < self.settings.concurrency:
                taken = {m.id for m in waiting} | {m.id for m in flying.values()} | {o.message.id for o in outcomes}
                leased = self._lease(taken)
                waiting += leased
                drained = not leased
            waiting = self._dispatch(waiting, flying, outcomes, per_route, answered)
            if outcomes and (not flying or len(outcomes) >= self.settings.lease_batch):
                self._record(outcomes, report)
                outcomes, drained = [], False
                continue
            if not flying:
                if drained and not waiting:
                    return
                continue
            for future in sorted(_ended(answered), key=lambda f: flying[f].id):
                message = flying.pop(future)
                per_route[message.municipality_cvr] -= 1
                outcomes.append(self._judge(message, future.result()))

    def _dispatch(
        self,
        waiting: list[OutboxMessage],
        flying: dict[Future[_Sent], OutboxMessage],
        outcomes: list[_Outcome],
        per_route: Counter[str],
        answered: SimpleQueue[Future[_Sent]],
    ) -> list[OutboxMessage]:
        """Send what may go now; settle what cannot go at all; return what must wait its turn."""
        still: list[OutboxMessage] = []
        for index, message in enumerate(waiting):
            if len(flying) >= self.settings.concurrency:
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
                future = self._submit(message, url, token)
                flying[future] = message
                future.add_done_callback(answered.put)  # at once when already done (no pool)
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
        query = _lease_statement(self.settings.lease_batch, bool(taken))
        params: dict[str, Any] = {"now": now, "worker": self.settings.worker}
        if taken:
            params["taken"] = sorted(taken)
        until = now + timedelta(seconds=self.settings.lease_s)
        with self.store.begin() as session:
            messages = list(session.scalars(query, params).all())
            if messages:  # one UPDATE of the rows just locked, not one per message through the unit of work
                session.connection().execute(
                    _TAKE_LEASE, {"leased": [m.id for m in messages], "worker": self.settings.worker, "until": until}
                )
            for message in messages:  # what the rows now hold, without marking the objects dirty
                set_committed_value(message, "lease_owner", self.settings.worker)
                set_committed_value(message, "leased_until", until)
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
        headers = self.parts.headers(token, message.municipality_cvr, message.transaction_id)
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
        self.metrics.observe_latency(self._route_label(message), message.target, sent.seconds)
        if sent.status is None:
            self._breaker_outcome(message, ok=False)
            return _Outcome(message, "retry", error=sent.error)
        self._breaker_outcome(message, ok=sent.status < 500)
        if 200 <= sent.status < 300:
            return _Outcome(message, "done", sent.status, sent.body)
        if sent.status >= 500 or sent.status in _RETRYABLE:
            return _Outcome(message, "retry", sent.status, error=str(sent.body)[:500])
        # Money or a status that FBS refuses has nobody to go back to: it is quarantined, never dropped.
        # (A rejection FBS refuses is advice it no longer needs, e.g. about a claim it has closed.)
        kind = "quarantined" if message.kind in _FBS_MUST_HOLD else "rejected"
        return _Outcome(message, kind, sent.status, sent.body if isinstance(sent.body, dict) else {})

    def _record(self, outcomes: list[_Outcome], report: CycleReport) -> None:
        """Store a batch's outcomes in one transaction, then count and log them.

        A crash before the commit leaves the batch pending: it is sent again with the same
        transaction ids, which the receivers answer as replays.
        """
        if not outcomes:
            return
        retry_at: dict[int, datetime] = {}
        attempts: dict[int, int] = {}
        settled = [outcome for outcome in outcomes if outcome.kind == "done"]
        with self.store.begin() as session:
            if settled:  # the common case, in one executemany and without loading the rows again
                session.connection().execute(
                    _SETTLE,
                    [
                        {
                            "settled_id": outcome.message.id,
                            "settled_status": outcome.status,
                            "settled_body": forget_personal_data(outcome.message.body),
                            "settled_answer": forget_personal_data(outcome.body),
                        }
                        for outcome in settled
                    ],
                )
                attempts.update((outcome.message.id, outcome.message.attempts + 1) for outcome in settled)
            ids = [outcome.message.id for outcome in outcomes if outcome.kind != "done"]
            stored_by_id = (
                {m.id: m for m in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))}
                if ids
                else {}
            )
            for outcome in outcomes:
                if outcome.kind == "done":
                    continue
                stored = stored_by_id[outcome.message.id]
                if outcome.kind == "held":
                    assert outcome.until is not None
                    stored.next_attempt_at = outcome.until
                    continue
                stored.attempts += 1
                stored.last_status = outcome.status
                if outcome.kind == "rejected":
                    stored.status = "REJECTED"
                    stored.body, stored.answer = forget_personal_data(stored.body), forget_personal_data(outcome.body)
                    self._queue_rejection(session, outcome.message, outcome.status, outcome.body)
                elif outcome.kind == "quarantined":
                    stored.status, stored.answer = "QUARANTINED", outcome.body
                else:
                    delay = min(self.settings.backoff_base_s * 2 ** (stored.attempts - 1), self.settings.backoff_max_s)
                    stored.next_attempt_at = self.clock.now() + timedelta(
                        seconds=delay * (0.5 + self._jitter.random() / 2)
                    )
                    stored.last_error = outcome.error
                    retry_at[stored.id] = stored.next_attempt_at
        attempts.update((id_, stored.attempts) for id_, stored in stored_by_id.items())
        for outcome in outcomes:
            self._count(outcome, report, attempts[outcome.message.id], retry_at.get(outcome.message.id))

    def _queue_rejection(self, session: Session, message: OutboxMessage, status: int | None, problem: Any) -> None:
        """A debtor's business rejection goes back to FBS (a rejection by FBS itself stops here)."""
        if message.target != "debtor":
            return
        code, text = _code(status, problem), _text(status, problem)
        self.intake.queue(
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
            self.metrics.count_delivery(route, message.target, "done")
        elif outcome.kind == "held":
            report.held += 1
            self.metrics.count_delivery(route, message.target, "held")
        elif outcome.kind in ("quarantined", "rejected"):
            # A debtor's rejection went back to FBS (a warning); FBS's own refusal waits in quarantine (an error).
            quarantined = outcome.kind == "quarantined"
            if quarantined:
                report.quarantined += 1
            else:
                report.rejected += 1
            self.metrics.count_delivery(route, message.target, outcome.kind)
            log_event(
                f"delivery-{outcome.kind}",
                level=logging.ERROR if quarantined else logging.WARNING,
                **_about(route, message, outcome.status),
                code=_code(outcome.status, outcome.body),
                text=_text(outcome.status, outcome.body),
            )
        else:
            report.retrying += 1
            self.metrics.count_retry(route, message.target)
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
        return self.outbox_counts()[0]

    def outbox_counts(self) -> tuple[int, int]:
        """(pending, quarantined) messages, also set as the metrics' gauges."""
        with self.store() as session:
            depth = session.query(OutboxMessage).filter(OutboxMessage.status == "PENDING").count()
            quarantined = session.query(OutboxMessage).filter(OutboxMessage.status == "QUARANTINED").count()
        self.metrics.queue_depth.set(depth)
        self.metrics.quarantined.set(quarantined)
        return depth, quarantined

    def quarantine(self) -> list[OutboxMessage]:
        """The messages FBS refused, oldest first: each is money or a status FBS does not have yet."""
        with self.store() as session:
            query = select(OutboxMessage).where(OutboxMessage.status == "QUARANTINED").order_by(OutboxMessage.id)
            return list(session.scalars(query).all())

    def replay_quarantined(self, ids: list[int] | None = None) -> int:
        """Put quarantined messages (all, or those ids) back in the queue, due now.

        A replay is a new delivery, so it gets a new transaction id: a receiver answers a repeated
        transaction id with the answer it stored (the refusal). FBS deduplicates postings and
        notices by their own id (posteringId, meddelelseId), which the body keeps, so a replay after
        a partial success is still harmless. Returns how many went back.
        """
        with self.store.begin() as session:
            query = select(OutboxMessage).where(OutboxMessage.status == "QUARANTINED")
            if ids is not None:
                query = query.where(OutboxMessage.id.in_(ids))
            messages = list(session.scalars(query).all())
            for message in messages:
                message.status, message.next_attempt_at = "PENDING", self.clock.now()
                message.transaction_id = str(uuid.uuid4())
                message.lease_owner = message.leased_until = None
        return len(messages)

    def _target(self, message: OutboxMessage) -> tuple[str, str]:
        if message.target == "fbs":
            return self.settings.fbs_url, self.settings.engine_token
        route = self.routes.route_for(message.municipality_cvr)
        return str(route.debtor_url), route.token

    def close(self) -> None:
        """Stop the delivery threads (idle between batches)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def _alive(pid: str) -> bool:
    """Whether a process with this id runs on this host (anything not a pid counts as alive)."""
    if not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


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
