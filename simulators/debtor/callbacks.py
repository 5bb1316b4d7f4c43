"""DækningAfskrivning callbacks: the debtor system's outbox towards the fagsystem.

Every payment, write-off, account closure and collection status change becomes a message with its
own id. A real-time profile delivers at once; a nightly-batch profile (Prisme 2009, modelled)
delivers on the next business day. Failed deliveries are retried with backoff in virtual time;
callback faults (dropped, duplicated) are applied here, so an engine can be tested against both.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, time, timedelta
from typing import Any

import httpx

from contracts.profile import Profile
from simulators.kernel import CALLBACK_FAULTS, FaultKind, Session, SimRuntime
from simulators.kernel.calendar import next_business_day
from simulators.kernel.clock import COPENHAGEN

from . import misbehaviour
from .ledger import Callback, DebtorBooks

CALLBACK_OPERATION = "callback.DaekningAfskrivning"


def _due(profile: Profile, now: datetime) -> datetime:
    if profile.callbacks.mode == "realtime":
        return now
    hour, minute = (int(part) for part in profile.callbacks.batch_time.split(":"))
    # The nightly run picks up the day's notices; the fagsystem has them on the next business day.
    return datetime.combine(next_business_day(now.date()), time(hour, minute), tzinfo=COPENHAGEN)


def enqueue(
    books: DebtorBooks, profile: Profile, now: datetime, municipality_cvr: str, body: dict[str, Any]
) -> Callback:
    message_id = str(uuid.uuid4())
    callback = Callback(
        message_id=message_id,
        transaction_id=str(uuid.uuid4()),
        municipality_cvr=municipality_cvr,
        body={"meddelelseId": message_id, **body},
        due_at=_due(profile, now),
    )
    books.outbox.append(callback)
    return callback


async def deliver_due(runtime: SimRuntime, session: Session[Any], profile: Profile) -> int:
    """Send every callback that is due; returns how many were delivered."""
    books: DebtorBooks = session.state
    url = session.settings.get("callback_url")
    if not url:
        return 0
    delivered = 0
    async with books.delivery_lock:
        for callback in list(books.outbox):
            now = session.clock.now()
            if callback.delivered_at is not None or callback.due_at > now:
                continue
            if await _deliver(runtime, session, profile, callback, url):
                delivered += 1
    return delivered


async def _deliver(runtime: SimRuntime, session: Session[Any], profile: Profile, callback: Callback, url: str) -> bool:
    now = session.clock.now()
    rule = session.faults.take(CALLBACK_OPERATION, CALLBACK_FAULTS)
    switched_off = misbehaviour.active(session.settings, "drop_callbacks") or _second_one_dropped(session)
    if switched_off or (rule is not None and rule.kind is FaultKind.DROP_CALLBACK):
        callback.delivered_at = now  # the debtor believes it was sent; the fagsystem never sees it
        switch = f"misbehaviour {session.settings.get('misbehaviour')}"
        reason = switch if switched_off or rule is None else f"fault rule {rule.id}"
        _journal_unsent(session, callback, "(dropped)", f"dropped by {reason}")
        return True
    if rule is not None and rule.kind is FaultKind.FAIL_CALLBACK:
        callback.last_error = f"failed by fault rule {rule.id}"
        _journal_unsent(session, callback, "(failed)", callback.last_error)
        _back_off(profile, callback, now)
        return False
    copies = 2 if rule is not None and rule.kind is FaultKind.DUPLICATE_CALLBACK else 1
    ok = False
    for _ in range(copies):
        ok = await _post(runtime, session, callback, url) or ok
    if ok:
        callback.attempts += 1
        callback.delivered_at = session.clock.now()
    else:
        _back_off(profile, callback, now)
    return ok


def _second_one_dropped(session: Session[Any]) -> bool:
    """`drop_every_second_callback`: of the callbacks this system believes it sent, the 2nd, 4th, … never left."""
    if not misbehaviour.active(session.settings, "drop_every_second_callback"):
        return False
    books: DebtorBooks = session.state
    return sum(1 for c in books.outbox if c.delivered_at is not None) % 2 == 1


def _journal_unsent(session: Session[Any], callback: Callback, path: str, note: str) -> None:
    """Record a callback a fault kept from the wire, so tests can see what was (not) sent."""
    session.journal.record(
        at=session.clock.now(),
        direction="out",
        method="POST",
        path=path,
        operation=CALLBACK_OPERATION,
        status=None,
        transaction_id=callback.transaction_id,
        request_body=callback.body,
        note=note,
    )


def _back_off(profile: Profile, callback: Callback, now: datetime) -> None:
    """Count a failed attempt and schedule the next on the profile's backoff (in virtual time)."""
    callback.attempts += 1
    backoff = profile.callback_retry_minutes[min(callback.attempts - 1, len(profile.callback_retry_minutes) - 1)]
    callback.due_at = now + timedelta(minutes=backoff)


async def _post(runtime: SimRuntime, session: Session[Any], callback: Callback, url: str) -> bool:
    headers = runtime.outgoing_headers(
        session, session.settings.get("callback_token"), callback.municipality_cvr, callback.transaction_id
    )
    target = url.rstrip("/") + "/daekningafskrivning"
    status: int | None = None
    error: str | None = None
    try:
        response = await runtime.client().post(target, json=callback.body, headers=headers, timeout=5.0)
        status = response.status_code
        if status >= 300:
            error = f"HTTP {status}: {response.text[:200]}"
    except (TimeoutError, httpx.HTTPError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    callback.last_error = error
    session.journal.record(
        at=session.clock.now(),
        direction="out",
        method="POST",
        path=target,
        operation=CALLBACK_OPERATION,
        status=status,
        transaction_id=callback.transaction_id,
        request_body=callback.body,
        note=error,
    )
    return error is None


def schedule_delivery(runtime: SimRuntime, session: Session[Any], profile: Profile) -> None:
    """Real-time profiles push at once, without making the request that caused it wait."""
    if profile.callbacks.mode != "realtime":
        return
    books: DebtorBooks = session.state
    task = asyncio.get_running_loop().create_task(deliver_due(runtime, session, profile))
    books.background.add(task)
    task.add_done_callback(books.background.discard)
