"""The debtor system's jobs on the virtual clock.

Reminders with fees, interest, handover to PSRM, receipt fetching, notification fetching and callback
delivery. The runner walks the session clock from event to event (each midnight, each due callback,
each receipt fetch) up to the target instant, so that a jump of 200 days still sends every reminder
on its own date and every callback at its own time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from contracts.calendar import deadline_on_bank_day
from contracts.profile import Profile
from simulators.kernel import Session, SimRuntime
from simulators.kernel.clock import COPENHAGEN, local_midnight

from . import callbacks, misbehaviour, psrm_client, service
from .ledger import Claim, DebtorBooks, PsrmCase

_MAX_STEPS = 200_000
_NOTIFICATION_WINDOW_DAYS = 90


def make_runner(profile: Profile):
    async def run(runtime: SimRuntime, session: Session[Any], old: datetime, new: datetime) -> int:
        books: DebtorBooks = session.state
        ran = 0
        for _ in range(_MAX_STEPS):
            ran += await _run_due(runtime, session, profile, books)
            step = _next_event(books, session.clock.now(), new)
            if step is None:
                break
            session.clock.set(step)
        return ran

    return run


def _next_event(books: DebtorBooks, now: datetime, limit: datetime) -> datetime | None:
    if now >= limit:
        return None
    midnight = local_midnight(now.date() + timedelta(days=1))
    candidates = [midnight, limit]
    candidates += [c.due_at for c in books.outbox if c.delivered_at is None and c.due_at > now]
    candidates += [
        c.psrm.next_receipt_fetch
        for c in books.claims.values()
        if c.psrm is not None and c.psrm.next_receipt_fetch is not None and c.psrm.next_receipt_fetch > now
    ]
    return min(candidates)


async def _run_due(runtime: SimRuntime, session: Session[Any], profile: Profile, books: DebtorBooks) -> int:
    now = session.clock.now()
    ran = 0
    respect_holds = not misbehaviour.active(session.settings, "ignore_payment_hold")
    for claim in list(books.claims.values()):
        if claim.status != "AKTIV":
            continue
        if claim.hold is not None and not claim.held(now.date()):
            claim.hold = None  # a dated payment hold lapses after the deadline it ended on
        ran += _remind(
            books,
            profile,
            claim,
            now.date(),
            move_deadlines=not misbehaviour.active(session.settings, "deadlines_on_closed_days"),
            on_the_run_date=misbehaviour.active(session.settings, "advance_in_one_jump"),
            respect_holds=respect_holds,
        )
        if not misbehaviour.active(session.settings, "no_interest"):
            ran += _charge_interest(books, profile, claim, now.date())
    ran += await _send_all_pending(runtime, session, books)
    ran += await _hand_over(runtime, session, profile, books, respect_holds=respect_holds)
    ran += await _fetch_receipts(runtime, session, profile, books)
    ran += await _fetch_notifications(runtime, session, profile, books)
    ran += await callbacks.deliver_due(runtime, session, profile)
    return ran


# Switches that change nothing of when the jobs call PSRM (what they send or report, yes), and those whose
# timing `quiet_until` follows; under any other switch (say `advance_in_one_jump`) the debtor promises nothing.
_SWITCHES_QUIET_FOLLOWS = {
    "count_payment_twice",
    "drop_callbacks",
    "drop_every_second_callback",
    "error_500_on_bad_input",
    "ignore_annulment",
    "ignore_claim_history",
    "ignore_liability_change",
    "ignore_write_down",
    "no_interest",
    "no_psrm_write_down_after_direct_payment",
    "drop_payment_on_gone_claim",
    "unreported_write_offs",
    "handover_before_srb",
    "deadlines_on_closed_days",
    "ignore_payment_hold",
}


def _planned_calls(profile: Profile, session: Session[Any]) -> tuple[list[date], list[datetime]] | None:
    """When the jobs will next call PSRM: days (a handover or the notifications, made at the day's first
    move) and instants (a receipt fetch); None when they may at any time (an action pending, or a switch
    whose timing this does not follow)."""
    books: DebtorBooks = session.state
    switch = session.settings.get("misbehaviour")
    if switch and switch not in _SWITCHES_QUIET_FOLLOWS:
        return None
    days: list[date] = []
    instants: list[datetime] = []
    for claim in books.claims.values():
        case = claim.psrm
        if case is not None:
            if case.pending_actions:
                return None
            if case.state == "AFVENTER_KVITTERING" and case.next_receipt_fetch is not None:
                instants.append(case.next_receipt_fetch)
            continue
        handover = _earliest_handover(
            profile,
            claim,
            early=switch == "handover_before_srb",
            move_deadlines=switch != "deadlines_on_closed_days",
            respect_holds=switch != "ignore_payment_hold",
        )
        if handover is not None:
            days.append(handover)
    if any(c.psrm is not None and c.psrm.psrm_claim_id for c in books.claims.values()):
        last = books.notifications_fetched_until
        days.append(
            session.clock.today() if last is None else last + timedelta(days=profile.psrm.notification_fetch_days)
        )
    return days, instants


def make_quiet_until(profile: Profile):
    """The debtor's `quiet_until`: the first day its jobs may call PSRM (a handover, a receipt, the
    notifications, an owed write-down). Reminders, interest and callbacks are dated on their own days
    by the runner's walk from midnight to midnight, whatever the step the world moves in; what the jobs
    send PSRM must find PSRM on the same day. Under a switch it cannot follow it promises nothing."""

    def quiet_until(session: Session[Any]) -> date | None:
        today = session.clock.today()
        planned = _planned_calls(profile, session)
        if planned is None:
            return today
        days = [*planned[0], *(instant.astimezone(COPENHAGEN).date() for instant in planned[1])]
        return max(min(days), today) if days else None

    return quiet_until


def make_next_call(profile: Profile):
    """The debtor's `next_call`: the first instant its jobs may call another system — the next midnight
    (a day's reminders and fees may owe the fagsystem a callback), the start of a day it calls PSRM, a
    receipt fetch, a callback due or retried. Where `quiet_until` promises nothing: now."""

    def next_call(session: Session[Any]) -> datetime | None:
        books: DebtorBooks = session.state
        now = session.clock.now()
        planned = _planned_calls(profile, session)
        if planned is None:
            return now
        days, instants = planned
        instants = [*instants, *(local_midnight(day) for day in days)]
        instants.append(local_midnight(now.astimezone(COPENHAGEN).date() + timedelta(days=1)))
        if session.settings.get("callback_url"):
            instants += [c.due_at for c in books.outbox if c.delivered_at is None]
        return min(instants)

    return next_call


def _earliest_handover(
    profile: Profile, claim: Claim, *, early: bool, move_deadlines: bool, respect_holds: bool
) -> date | None:
    """The first day `handover_due` can hold for a claim not yet with PSRM, as its reminders go out on
    their own days (None: it cannot be handed over without a change from outside the jobs). A payment
    hold only ever makes it later."""
    rules = profile.psrm
    if claim.status != "AKTIV" or claim.product not in rules.recoverable_products or not claim.acknowledged:
        return None
    if claim.principal_remaining < rules.min_oere:
        return None  # a claim's principal only goes down by itself
    if early:
        return claim.due_on
    if not profile.reminders:
        return None
    if len(claim.reminders) >= len(profile.reminders):
        last = claim.reminders[-1]["dato"]
    else:
        last = _reminder_dates(profile, claim, move_deadlines, respect_holds)[-1]
    return max(
        last + timedelta(days=rules.handover_after_last_reminder_days), claim.last_timely_payment + timedelta(days=1)
    )


# ---- reminders and interest ------------------------------------------------------------------------
def _reminder_dates(
    profile: Profile, claim: Claim, move_deadlines: bool = True, respect_holds: bool = True
) -> list[date]:
    """Each reminder's deadline, counted from the one before (SRB first); one on a closed day moves to
    the next bank day and the next counts from there (`move_deadlines=False`: the misbehaviour). After a
    payment hold, the reminders not sent by its end count from the deadline it ended on."""
    dates, day = [], claim.last_timely_payment
    for number, reminder in enumerate(profile.reminders):
        if respect_holds and claim.resumed is not None and number == claim.resumed[1]:
            day = claim.resumed[0]
        day = day + timedelta(days=reminder.after_days)
        if move_deadlines:
            day = deadline_on_bank_day(day)
        dates.append(day)
    return dates


def _remind(
    books: DebtorBooks,
    profile: Profile,
    claim: Claim,
    today: date,
    *,
    move_deadlines: bool = True,
    on_the_run_date: bool = False,
    respect_holds: bool = True,
) -> int:
    """Send each reminder that has fallen due, dated on its own day (walking the clock day by day, the
    run that sends it runs on that day; a migrated claim's earlier reminders keep their days).
    `on_the_run_date` is part of the `advance_in_one_jump` misbehaviour: a system that runs its jobs once
    on the day a move of its business date ends dates the reminders it sends then on that day. None is
    sent while a payment hold pauses collection (`respect_holds=False`: the `ignore_payment_hold` misbehaviour)."""
    if claim.with_psrm or (respect_holds and claim.held(today)):
        return 0
    sent = 0
    for number, (reminder, due) in enumerate(
        zip(profile.reminders, _reminder_dates(profile, claim, move_deadlines, respect_holds), strict=True), start=1
    ):
        if number <= len(claim.reminders) or due > today:
            continue
        if claim.remaining == 0:
            break
        fee = reminder.fee_oere.get(claim.product, 0)
        sent_on = today if on_the_run_date else due
        claim.reminders.append({"nummer": number, "dato": sent_on, "gebyrOere": fee})
        if fee:
            books.add_subclaim(claim, f"{claim.id}-R{number}", "RYKKERGEBYR", f"Rykkergebyr {number}", fee, sent_on)
        sent += 1
    return sent


def _charge_interest(books: DebtorBooks, profile: Profile, claim: Claim, today: date) -> int:
    policy = profile.interest
    if policy.annual_rate_bp == 0 or claim.with_psrm:
        return 0
    charged = 0
    start = claim.interest_charged_until or claim.last_timely_payment
    while start + timedelta(days=policy.period_days) <= today:
        end = start + timedelta(days=policy.period_days)
        base = claim.principal_remaining
        amount = base * policy.annual_rate_bp * policy.period_days // (10_000 * 365)
        if amount > 0:
            number = sum(1 for s in claim.subclaims if s.kind == "RENTE") + 1
            books.add_subclaim(
                claim, f"{claim.id}-I{number}", "RENTE", f"Rente {start.isoformat()}–{end.isoformat()}", amount, end
            )
            charged += 1
        start = end
    claim.interest_charged_until = start
    return charged


# ---- PSRM handover ---------------------------------------------------------------------------------
def handover_due(
    profile: Profile, claim: Claim, today: date, *, early: bool = False, respect_holds: bool = True
) -> bool:
    """SRB passed, every reminder sent, notice given, the waiting time over, at least PSRM's minimum; never
    while a payment hold pauses collection, nor before the payment deadline it ended on.

    `early` is the `handover_before_srb` misbehaviour: hand over on the due date, skipping all that.
    """
    rules = profile.psrm
    if claim.psrm is not None or claim.status != "AKTIV" or (respect_holds and claim.held(today)):
        return False
    if respect_holds and claim.resumed is not None and today <= claim.resumed[0]:
        return False  # after a payment hold, not before its payment deadline
    if claim.product not in rules.recoverable_products or not claim.acknowledged:
        return False
    if early:
        return today >= claim.due_on and claim.principal_remaining >= rules.min_oere
    if len(claim.reminders) < len(profile.reminders) or not claim.reminders:
        return False
    if today <= claim.last_timely_payment:
        return False
    last = claim.reminders[-1]["dato"]
    return (
        today >= last + timedelta(days=rules.handover_after_last_reminder_days)
        and claim.principal_remaining >= rules.min_oere
    )


def _claim_actions(claim: Claim, notice: date) -> list[dict[str, Any]]:
    account_liable = {"foraeldelsesdato": (claim.last_timely_payment + timedelta(days=3 * 365)).isoformat()}
    main = {
        "mfAktionId": psrm_client.new_action_id(),
        "aktion": "OPRETFORDRING",
        "fordringshaverReference": claim.id,
        "fordringsart": "HOVEDFORDRING",
        "fordringstype": claim.product,
        "beloebOere": claim.principal_remaining,
        "stiftelsesdato": claim.created_on.isoformat(),
        "forfaldsdato": claim.due_on.isoformat(),
        "sidsteRettidigeBetalingsdato": claim.last_timely_payment.isoformat(),
        "periodeFra": (claim.period_from or claim.created_on).isoformat(),
        "periodeTil": (claim.period_to or claim.due_on).isoformat(),
        "haeftere": [account_liable],
        "varselDato": notice.isoformat(),
        "rykkerForloebGennemfoert": True,
    }
    actions = [main]
    for sub in claim.subclaims:
        if sub.kind == "RENTE" and sub.remaining > 0:
            actions.append(
                {
                    **main,
                    "mfAktionId": psrm_client.new_action_id(),
                    "fordringsart": "RENTE",
                    "fordringshaverReference": sub.id,
                    "beloebOere": sub.remaining,
                    "hovedfordringReference": claim.id,
                    "fordringstype": "RENTE",
                }
            )
    return actions


async def _hand_over(
    runtime: SimRuntime, session: Session[Any], profile: Profile, books: DebtorBooks, *, respect_holds: bool = True
) -> int:
    today = session.clock.now().date()
    sent = 0
    early = misbehaviour.active(session.settings, "handover_before_srb")
    for claim in list(books.claims.values()):
        if not handover_due(profile, claim, today, early=early, respect_holds=respect_holds):
            continue
        account = books.accounts[claim.account_id]
        actions = _claim_actions(claim, claim.reminders[-1]["dato"] if claim.reminders else today)
        liable = {"cpr": account.liable.cpr} if account.liable.cpr else {"cvr": account.liable.cvr}
        for action in actions:
            action["haeftere"] = [{**liable, **action["haeftere"][0]}]
        try:
            answer = await psrm_client.submit(runtime, session, claim.municipality_cvr, actions)
        except psrm_client.PsrmUnavailable:
            continue  # retried at the next tick; nothing is lost
        claim.psrm = _case_from_answer(answer, actions, session.clock.now())
        sent += 1
    return sent


def _case_from_answer(answer: psrm_client.PsrmAnswer, actions: list[dict[str, Any]], now: datetime) -> PsrmCase:
    if answer.status != 200 or not isinstance(answer.body, dict):
        return PsrmCase(state="AFVIST", errors=[{"kode": answer.status, "tekst": str(answer.body)[:300]}])
    results = {a["mfAktionId"]: a for a in answer.body.get("aktioner", [])}
    main = results.get(actions[0]["mfAktionId"], {})
    case = PsrmCase(
        state="AFVENTER_KVITTERING",
        delivery_id=answer.body.get("leveranceId"),
        action_ids=[a["mfAktionId"] for a in actions],
        next_receipt_fetch=now,
    )
    if main.get("status") == "AFVIST":
        case.state = "AFVIST"
        case.errors = list(main.get("fejl", []))
        case.next_receipt_fetch = None
    return case


async def send_actions(runtime: SimRuntime, session: Session[Any], claim: Claim, actions: list[dict[str, Any]]) -> None:
    """Forward a write-down or recall of a claim under collection to PSRM (NEDSKRIV, TILBAGEKALD)."""
    if not actions:
        return
    stamped = [{"mfAktionId": psrm_client.new_action_id(), **action} for action in actions]
    try:
        await psrm_client.submit(runtime, session, claim.municipality_cvr, stamped)
    except psrm_client.PsrmUnavailable:
        return
    if claim.psrm is not None and any(a["aktion"] == "TILBAGEKALD" for a in stamped):
        claim.psrm.state = "TILBAGEKALDT"
        claim.psrm.next_receipt_fetch = None


async def send_pending(runtime: SimRuntime, session: Session[Any], claim: Claim) -> int:
    """Deliver the PSRM actions a claim owes (a write-down for direct payment). Each carries the action id
    it was given when it became owed, so a delivery PSRM took in but whose answer was lost is answered
    600 when sent again, never applied twice; while PSRM cannot be reached they wait for the next tick."""
    case = claim.psrm
    if case is None or not case.pending_actions:
        return 0
    actions = list(case.pending_actions)
    try:
        await psrm_client.submit(runtime, session, claim.municipality_cvr, actions)
    except psrm_client.PsrmUnavailable:
        return 0
    del case.pending_actions[: len(actions)]
    return 1


async def _send_all_pending(runtime: SimRuntime, session: Session[Any], books: DebtorBooks) -> int:
    sent = 0
    for claim in list(books.claims.values()):
        sent += await send_pending(runtime, session, claim)
    return sent


async def _fetch_receipts(runtime: SimRuntime, session: Session[Any], profile: Profile, books: DebtorBooks) -> int:
    now = session.clock.now()
    done = 0
    for claim in list(books.claims.values()):
        case = claim.psrm
        if (
            case is None
            or case.state != "AFVENTER_KVITTERING"
            or case.next_receipt_fetch is None
            or case.next_receipt_fetch > now
            or case.delivery_id is None
        ):
            continue
        case.receipt_attempts += 1
        try:
            answer = await psrm_client.fetch_receipt(runtime, session, claim.municipality_cvr, case.delivery_id)
        except psrm_client.PsrmUnavailable:
            case.next_receipt_fetch = now + timedelta(minutes=5)
            continue
        if answer.status == 202:
            ready_at = datetime.fromisoformat(answer.body["forventetKlar"]).astimezone(COPENHAGEN)
            if psrm_client.receipt_wait_exceeds(profile.answer_time_limit_s, now, ready_at):
                # The real Opus gave up after 5 minutes here (2020); we count it and ask again.
                case.timed_out_fetches += 1
                case.next_receipt_fetch = now + timedelta(seconds=profile.answer_time_limit_s or 0)
                session.journal.record(
                    at=now,
                    direction="out",
                    method="GET",
                    path=f"/kvitteringer/{case.delivery_id}",
                    operation="MFKvitteringHent",
                    status=None,
                    transaction_id=None,
                    note=f"answer-time limit {profile.answer_time_limit_s}s exceeded; retry later",
                )
            else:
                case.next_receipt_fetch = max(ready_at, now + timedelta(seconds=1))
            continue
        if answer.status != 200:
            case.next_receipt_fetch = now + timedelta(hours=1)
            continue
        _apply_receipts(books, profile, claim, answer.body, now)
        done += 1
    return done


def _apply_receipts(books: DebtorBooks, profile: Profile, claim: Claim, body: dict[str, Any], now: datetime) -> None:
    case = claim.psrm
    assert case is not None
    receipts = {r["mfAktionId"]: r for r in body.get("kvitteringer", [])}
    main = receipts.get(case.action_ids[0]) if case.action_ids else None
    case.next_receipt_fetch = None
    if main is None:
        case.state = "AFVIST"
        case.errors = [{"kode": 0, "tekst": "no receipt for the main claim"}]
        return
    status = main.get("status")
    if status == "UDFOERT":
        case.state = "UNDER_INDDRIVELSE"
        case.psrm_claim_id = main.get("psrmFordringId")
        service.status_notice(books, profile, claim, "OVERDRAGET_TIL_INDDRIVELSE", now)
    elif status == "HOERING":
        case.state = "HOERING"
        case.psrm_claim_id = main.get("psrmFordringId")
    else:
        case.state = "AFVIST"
        case.errors = list(main.get("fejl", []))


# ---- notifications ---------------------------------------------------------------------------------
async def _fetch_notifications(runtime: SimRuntime, session: Session[Any], profile: Profile, books: DebtorBooks) -> int:
    today = session.clock.now().date()
    cases = [c for c in books.claims.values() if c.psrm is not None and c.psrm.psrm_claim_id]
    if not cases:
        return 0
    last = books.notifications_fetched_until
    if last is not None and (today - last).days < profile.psrm.notification_fetch_days:
        return 0
    since = max(
        last or today - timedelta(days=_NOTIFICATION_WINDOW_DAYS), today - timedelta(days=_NOTIFICATION_WINDOW_DAYS)
    )
    handled = 0
    for cvr in sorted({c.municipality_cvr for c in cases}):
        try:
            answer = await psrm_client.fetch_notifications(runtime, session, cvr, since, today)
        except psrm_client.PsrmUnavailable:
            return handled  # keep the window; fetch again at the next tick
        if answer.status != 200:
            return handled
        for notice in answer.body.get("underretninger", []):
            handled += _apply_notification(books, profile, notice, session.clock.now(), session.settings)
    books.notifications_fetched_until = today
    return handled


def _apply_notification(
    books: DebtorBooks, profile: Profile, notice: dict[str, Any], now: datetime, settings: dict[str, Any]
) -> int:
    notice_id = str(notice.get("underretningId"))
    if notice_id in books.seen_notifications:
        return 0
    books.seen_notifications.add(notice_id)
    reference = notice.get("fordringshaverReference")
    claim = books.claims.get(reference) if reference else None
    if claim is None:
        sub = books.subclaims.get(reference) if reference else None
        claim = books.claims.get(sub.claim_id) if sub else None
    if claim is None:
        return 0
    kind = notice.get("type")
    if kind in ("UDLIGNING", "ALLOKERING") and notice.get("beloebOere"):
        amount = min(int(notice["beloebOere"]), claim.remaining)
        if amount > 0 and claim.status == "AKTIV":
            applied = books.spread(claim, "DAEKNING", amount, now.date(), source=f"PSRM-{kind}", reference=notice_id)
            service.record_payment(
                books,
                profile,
                claim,
                [(s.id, a) for s, a in applied],
                now,
                f"PSRM-{kind}",
                notice_id,
                twice=misbehaviour.active(settings, "count_payment_twice"),
            )
            return 1
    elif kind == "RETURNERING" and claim.psrm is not None:
        claim.psrm.state = "RETURNERET"
        claim.psrm.return_code = notice.get("returKode")
        service.status_notice(books, profile, claim, "RETUR_FRA_INDDRIVELSE", now, notice.get("returKode"))
        return 1
    return 0
