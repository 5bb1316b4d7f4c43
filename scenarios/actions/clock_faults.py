"""Actors `clock` (virtual time for the whole world) and `faults` (make one system misbehave).

The clock moves every simulated system of the world together, in steps, PSRM before the debtor
systems, as real calendars do: a debtor's job that calls PSRM on a given day finds PSRM on that
day. After a move, callbacks the debtor systems owe are let through and the engine cycles once, as
a continuously running engine would have.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

from contracts.calendar import COPENHAGEN, add_bank_days, add_business_days, is_bank_day, is_business_day
from contracts.municipalities import for_vendor

from ..context import RunContext
from ..errors import ScenarioRunError
from ..vocabulary import Arg, action
from .engine import run_cycles

SYSTEMS = ("fbs", "psrm", "payment", "debtor")


def world_clock_systems(ctx: RunContext) -> list[str]:
    """Systems whose clocks move: PSRM first, then the debtors (these two in lockstep), then FBS, payment."""
    return [*_lockstep(ctx), *[s for s in ("fbs", "payment") if s in ctx.world.endpoints.simulated]]


def _lockstep(ctx: RunContext) -> list[str]:
    """Systems with jobs on the clock that call each other: they must share every day. A vendor's system
    that offers test control moves with them, its business date through `oir-testkontrol-v1`."""
    endpoints = ctx.world.endpoints
    debtors = sorted(p for p in ctx.used_profiles if p in endpoints.simulated or endpoints.offers_test_control(p))
    return [s for s in ("psrm", *debtors) if s in endpoints.simulated or endpoints.offers_test_control(s)]


def clock_of(ctx: RunContext, system: str) -> datetime:
    """A simulated system's virtual time: in process for a world's own simulators (`ScenarioWorld.clocks`),
    else over HTTP."""
    world = ctx.world
    if world.clocks is not None and world.clocks.holds(system):
        return world.clocks.now(system, world.endpoints.sessions.get(system, world.session))
    return datetime.fromisoformat(ctx.control(system, "GET", "/clock")["now"])


def set_clock(ctx: RunContext, system: str, instant: datetime) -> tuple[int, date | None, datetime | None]:
    """Move one system's clock; the jobs that ran, the first day its jobs may call another system (its
    `quietUntil`) and the first instant they may call any, a callback included (its `nextCallAt`); None:
    it promises nothing, as a vendor's test control never does. A world's own simulators move in process
    (`ScenarioWorld.clocks`), the rest over HTTP."""
    world = ctx.world
    if world.endpoints.offers_test_control(system):
        moved = ctx.test_control(system, "POST", "/forretningsdato/frem", body={"til": instant.isoformat()})
        return int(moved.get("jobKoert", 0)), None, None
    if world.clocks is not None and world.clocks.holds(system):
        done = world.clocks.move(system, world.endpoints.sessions.get(system, world.session), instant)
        return done.jobs, done.quiet_until, done.next_call
    answer = ctx.control(system, "PUT", "/clock", {"now": instant.isoformat()})
    quiet, call = answer.get("quietUntil"), answer.get("nextCallAt")
    return (
        int(answer.get("jobsRun", 0)),
        date.fromisoformat(quiet) if quiet else None,
        datetime.fromisoformat(call) if call else None,
    )


def _next_step(current: datetime, step: timedelta, quiet: dict[str, date | None], lockstep: list[str]) -> timedelta:
    """Day by day, but over days on which no lockstep system's jobs call another one in one step: to the
    first day one of them may (each said so when it last moved; one that promised nothing keeps the
    world on single days). Moving a simulator in one step runs every job on its own day all the same."""
    if step != timedelta(days=1) or any(quiet.get(system) is None for system in lockstep):
        return step
    first = min(d for d in quiet.values() if d is not None)
    return step * max(1, (first - current.astimezone(COPENHAGEN).date()).days)


def _next_small_step(
    ctx: RunContext, current: datetime, step: timedelta, calls: dict[str, datetime | None], lockstep: list[str]
) -> timedelta:
    """Steps under a day, the engine cycling at each: over steps at which nothing can happen in one. The
    move goes to the first step at or after the first instant a lockstep system may call another one (a
    callback to the engine included) or the engine has work — the step at which, moving step by step, the
    same would have happened. One that promised nothing, or an engine with work now, keeps single steps."""
    if not lockstep or any(calls.get(system) is None for system in lockstep):
        return step
    engine = ctx.world.engine.next_work_at()
    first = min(instant for instant in (*calls.values(), engine) if instant is not None)
    return step * max(1, -((current - first) // step))  # the steps it takes to reach `first`, at least one


def move_world_to(ctx: RunContext, target: datetime, step: timedelta) -> int:
    """Move every simulated system to `target`; then let callbacks through and cycle the engine.

    PSRM and the debtor systems move together step by step (a debtor's job that calls PSRM finds
    PSRM on the same day); FBS and the payment solution have no jobs and move once. Steps shorter
    than a day cycle the engine at each step, as a continuously running engine retries within hours.
    """
    current = ctx.virtual_now()
    if target < current:
        raise ScenarioRunError(f"virtual time never runs backwards: {target.isoformat()} < {current.isoformat()}")
    jobs = 0
    lockstep = _lockstep(ctx)
    # a vendor's system delivers what each day's jobs made as the day passes: the engine, as it would
    # running continuously, takes it in before the next day
    vendor = any(ctx.world.endpoints.offers_test_control(system) for system in lockstep)
    small = step < timedelta(days=1)
    quiet: dict[str, date | None] = {}
    calls: dict[str, datetime | None] = {}
    first = True
    while current < target:
        ahead = (
            _next_small_step(ctx, current, step, calls, lockstep)
            if small
            else _next_step(current, step, quiet, lockstep)
        )
        current = min(target, current + ahead)
        for system in lockstep:
            ran, quiet[system], calls[system] = set_clock(ctx, system, current)
            jobs += ran
        if small or vendor:
            ctx.now = current
            ctx.world.engine.set_clock(current)
            if first or ctx.world.engine.has_work():  # an idle engine's cycle reads nothing and sends nothing
                run_cycles(ctx)
            first = False
    for system in world_clock_systems(ctx):
        if system not in lockstep:
            jobs += set_clock(ctx, system, target)[0]
    ctx.now = target
    ctx.world.engine.set_clock(target)
    settle_callbacks(ctx)
    run_cycles(ctx)
    return jobs


def unsent_due_callbacks(listing: Any, now: datetime) -> int:
    """Of a simulated debtor's `GET /simulering/callbacks` answer, the callbacks due by `now` it has not
    tried yet: those it is sending now (a real-time profile sends each the moment it falls due)."""
    return sum(
        1
        for c in (listing or {}).get("callbacks", [])
        if c.get("leveret") is None and c.get("forsoeg", 0) == 0 and datetime.fromisoformat(c["forfaldAt"]) <= now
    )


def _pending_callbacks(ctx: RunContext, profile: str, now: datetime) -> int:
    """How many due callbacks a simulated debtor holds that it has not tried yet (it is sending them now)."""
    listing = ctx.call(profile, "GET", "/simulering/callbacks", cvr=for_vendor(profile)[0].cvr)
    return unsent_due_callbacks(listing.body, now)


def settle_callbacks(ctx: RunContext, timeout: float = 15.0) -> None:
    """Wait (with a deadline) until no simulated debtor holds a due callback it has not tried yet."""
    profiles = sorted(p for p in ctx.used_profiles if p in ctx.world.endpoints.simulated)
    deadline = time.monotonic() + timeout  # real time: callbacks are real HTTP requests
    now = ctx.virtual_now()
    for profile in profiles:
        while pending := _pending_callbacks(ctx, profile, now):
            if time.monotonic() > deadline:
                raise ScenarioRunError(f"{profile}: {pending} due callbacks were not delivered within {timeout:.0f} s")
            time.sleep(0.02)


def world_settled(ctx: RunContext) -> bool:
    """Has everything that can happen, without the clock moving or a step acting, happened? Only a world of
    simulators alone can say yes: in it the one thing that runs in real time of its own accord is a
    debtor's delivery of a due callback (every job, retry and nightly batch waits for the virtual clock),
    and the engine acts only when cycled. So: no debtor holds a due callback it has not tried — asked
    first, since a callback is marked sent only once the engine has stored it — and then the engine has
    nothing due. A vendor's system, or one behind test control, may still be working: never settled."""
    endpoints, engine = ctx.world.endpoints, ctx.world.engine
    systems = {"fbs", "psrm", "payment", *endpoints.debtors}
    if endpoints.test_control or engine.down or not systems <= endpoints.simulated:
        return False
    if engine.has_work():  # a quick no, before any request
        return False
    now = ctx.virtual_now()
    if any(_pending_callbacks(ctx, p, now) for p in sorted(endpoints.debtors, key=lambda p: p != ctx.profile)):
        return False
    return not engine.has_work()


def _default_step(total: timedelta) -> timedelta:
    if total <= timedelta(hours=1):
        return timedelta(minutes=1)
    if total <= timedelta(days=1):
        return timedelta(hours=1)
    return timedelta(days=1)


STEPS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


@action(
    "clock.advance",
    args={
        "days": Arg("int"),
        "business_days": Arg("int", doc="Danish business days: weekends and public holidays skipped"),
        "bank_days": Arg(
            "int", doc="Danish bank days: also skipping 24 and 31 December, 5 June, the Friday after Ascension"
        ),
        "hours": Arg("int"),
        "minutes": Arg("int"),
        "until": Arg("date", doc="move to this date, same local time of day"),
        "step": Arg("str", choices=tuple(STEPS), doc="how finely the systems move together (default: by size)"),
    },
    simulated=True,  # a vendor's system lives in real time …
    test_control=True,  # … unless its test control moves its business date
)
def advance(
    ctx: RunContext,
    days: int = 0,
    business_days: int = 0,
    bank_days: int = 0,
    hours: int = 0,
    minutes: int = 0,
    until: str | None = None,
    step: str | None = None,
) -> dict[str, Any]:
    """Move virtual time for the whole world."""
    start = ctx.virtual_now()
    # Hours and minutes are elapsed time; days are calendar days in Copenhagen, so a world that starts at
    # 09:00 in winter is at 09:00 on a summer day too (the UTC offset follows daylight saving time).
    local = (start + timedelta(hours=hours, minutes=minutes)).astimezone(COPENHAGEN)
    day = add_bank_days(add_business_days(local.date() + timedelta(days=days), business_days), bank_days)
    target = datetime.combine(day, local.time(), tzinfo=COPENHAGEN)
    if until is not None:
        target = max(
            target, datetime.combine(date.fromisoformat(until), start.astimezone(COPENHAGEN).time(), COPENHAGEN)
        )
    jobs = move_world_to(ctx, target, STEPS[step] if step else _default_step(target - start))
    return {"from": start.isoformat(), "now": target.isoformat(), "date": target.date().isoformat(), "jobsRun": jobs}


@action("clock.now", "query")
def now(ctx: RunContext) -> dict[str, Any]:
    """The world's virtual time, and whether today is a Danish business day and a bank day."""
    instant = ctx.virtual_now()
    return {
        "now": instant.isoformat(),
        "date": instant.date().isoformat(),
        "business_day": is_business_day(instant.date()),
        "bank_day": is_bank_day(instant.date()),
    }


def _system(ctx: RunContext, system: str) -> str:
    name = ctx.profile if system == "debtor" else system
    if name not in ctx.world.endpoints.simulated:
        raise ScenarioRunError(f"{system} is not a simulator in this world; faults need a simulator")
    return name


@action(
    "faults.add",
    args={
        "system": Arg("str", required=True, doc="fbs, psrm, payment, debtor (the profile's) or a profile name"),
        "kind": Arg(
            "str",
            required=True,
            choices=("latency", "error", "drop", "timeout", "drop_callback", "duplicate_callback", "fail_callback"),
        ),
        "operation": Arg("str", doc="operationId, callback.DaekningAfskrivning, or * (default)"),
        "count": Arg("int", doc="how many times it fires (default: always)"),
        "probability": Arg("any"),
        "http_status": Arg("int", doc="for kind error (default 503)"),
        "latency_ms": Arg("int"),
    },
    simulated=True,
)
def add_fault(
    ctx: RunContext,
    system: str,
    kind: str,
    operation: str | None = None,
    count: int | None = None,
    probability: float | None = None,
    http_status: int | None = None,
    latency_ms: int | None = None,
) -> dict[str, Any]:
    """Add a fault rule to a simulator in this world."""
    rule: dict[str, Any] = {"kind": kind, "operation": operation or "*"}
    for key, value in {
        "count": count,
        "probability": probability,
        "status": http_status,
        "latency_ms": latency_ms,
    }.items():
        if value is not None:
            rule[key] = value
    return ctx.control(_system(ctx, system), "POST", "/faults", rule)  # type: ignore[no-any-return]


@action("faults.clear", args={"system": Arg("str", required=True)}, primary="system", simulated=True)
def clear_faults(ctx: RunContext, system: str) -> dict[str, Any]:
    """Remove every fault rule of a simulator in this world."""
    ctx.control(_system(ctx, system), "DELETE", "/faults")
    return {"cleared": system}
