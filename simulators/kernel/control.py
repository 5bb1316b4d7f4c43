"""The `/_sim/` control plane every simulator shares: clock, faults, journal, settings, reset, state.

Tests, scenarios and certification steer a simulator only through this plane and the contract's
own operations; the one exception is the clock of a scenario world's own simulators, which the harness
moves in process with `clock_moved` (the same work as `PUT /_sim/clock`, without the round trip).
The plane is documented in `contracts/openapi/sim-control.yaml` and served at `/_sim/openapi.json`;
it never appears in a vendor-facing contract.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.identity import mask_cpr_in_text
from contracts.problems import Problem, problem_responses
from contracts.wire import WHOLE, IsoDateTime

from .clock import ClockError
from .faults import FaultRule, FaultRuleIn
from .runtime import QUIET_HORIZON, PrincipalDep, SimRuntime, runtime_of, session_of
from .sessions import Session

router = APIRouter(prefix="/_sim", tags=["simulator control"])

SessionHeader = Annotated[
    str | None,
    Header(
        alias="X-Sim-Session", pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="State namespace; absent means 'default'"
    ),
]
_STD = problem_responses(400, 401)


class ClockOut(BaseModel):
    now: datetime
    jobsRun: int = Field(default=0, description="Jobs that ran while the clock moved")
    quietUntil: date | None = Field(
        default=None,
        description="The first day on which the simulator's jobs may call another system or change what "
        "another system's jobs find: moving its clock up to that day in one step is the same as moving it "
        "day by day. Absent: the simulator promises nothing.",
    )
    nextCallAt: datetime | None = Field(
        default=None,
        description="The first instant at which the simulator's jobs may call any other system, a callback "
        "included: moving its clock in one step to the first of a world's steps at or after that instant is "
        "the same as moving it step by step. Absent: the simulator promises nothing.",
    )


class ClockSet(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    now: Annotated[IsoDateTime, Field(description="Timezone-aware instant; virtual time never runs backwards")]


class ClockAdvance(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    days: Annotated[int, Field(ge=0, le=3650), WHOLE] = 0
    hours: Annotated[int, Field(ge=0, le=87600), WHOLE] = 0
    minutes: Annotated[int, Field(ge=0, le=5_256_000), WHOLE] = 0
    seconds: Annotated[int, Field(ge=0, le=315_360_000), WHOLE] = 0


class FaultList(BaseModel):
    rules: list[FaultRule]


class JournalOut(BaseModel):
    entries: list[dict[str, Any]]


class SettingsOut(BaseModel):
    settings: dict[str, Any]


SettingValue = str | int | bool | None
_MAX_MOVE = QUIET_HORIZON


async def move_session_clock(runtime: SimRuntime, session: Session[Any], target: datetime) -> int:
    """Move one session's clock forward to `target`, running every job on its own virtual time on the
    way; the number of jobs that ran. Refusals are problems (409 backwards, 422 too far). The control
    plane and a simulator's own test-control operations (the debtor's `oir-testkontrol-v1`) share it."""
    async with session.lock:
        old = session.clock.now()
        if target.tzinfo is not None and target - old > _MAX_MOVE:
            raise Problem(422, "OIR-422-CLOCK-TOO-FAR", "Move the clock at most ten years at a time")
        if target.tzinfo is None or target < old:
            raise Problem(
                409,
                "OIR-409-CLOCK-BACKWARDS",
                "Virtual time never runs backwards",
                f"{target.isoformat()} is before {old.isoformat()}",
            )
        # The job runner walks the clock from event to event up to the target, so that each job
        # happens at its own virtual time; then the clock settles on the target.
        jobs = await runtime.run_clock(session, old, target)
        try:
            session.clock.set(target)
        except ClockError as exc:
            raise Problem(409, "OIR-409-CLOCK-BACKWARDS", "Virtual time never runs backwards", str(exc)) from exc
    return jobs


async def clock_moved(runtime: SimRuntime, session: Session[Any], target: datetime) -> ClockOut:
    """What `PUT /_sim/clock` does and answers: the session's clock moved to `target` (`move_session_clock`),
    with the jobs that ran and what the simulator promises about its next calls. The harness calls it in
    process, on the server's own event loop, for the simulators of a scenario world it runs itself."""
    jobs = await move_session_clock(runtime, session, target)
    return ClockOut(
        now=session.clock.now(),
        jobsRun=jobs,
        quietUntil=runtime.quiet_until(session),
        nextCallAt=runtime.next_call(session),
    )


async def _move_clock(request: Request, target: datetime) -> ClockOut:
    return await clock_moved(runtime_of(request), session_of(request), target)


@router.get("/clock", operation_id="simGetClock", response_model=ClockOut, responses=_STD)
async def get_clock(request: Request, _: PrincipalDep, x_sim_session: SessionHeader = None) -> ClockOut:
    return ClockOut(now=session_of(request).clock.now())


@router.put(
    "/clock", operation_id="simSetClock", response_model=ClockOut, responses=problem_responses(400, 401, 409, 422)
)
async def set_clock(request: Request, body: ClockSet, _: PrincipalDep, x_sim_session: SessionHeader = None) -> ClockOut:
    if body.now.tzinfo is None:
        raise Problem(400, "OIR-400-VALIDATION", "The instant must carry a UTC offset")
    return await _move_clock(request, body.now)


@router.post(
    "/clock/advance",
    operation_id="simAdvanceClock",
    response_model=ClockOut,
    responses=problem_responses(400, 401, 422),
)
async def advance_clock(
    request: Request, body: ClockAdvance, _: PrincipalDep, x_sim_session: SessionHeader = None
) -> ClockOut:
    delta = timedelta(days=body.days, hours=body.hours, minutes=body.minutes, seconds=body.seconds)
    if delta > _MAX_MOVE:
        raise Problem(422, "OIR-422-CLOCK-TOO-FAR", "Move the clock at most ten years at a time")
    return await _move_clock(request, session_of(request).clock.now() + delta)


@router.post(
    "/jobs/run", operation_id="simRunJobs", response_model=ClockOut, responses=problem_responses(400, 401, 409)
)
async def run_jobs(request: Request, _: PrincipalDep, x_sim_session: SessionHeader = None) -> ClockOut:
    """Run the jobs that are due now, without moving the clock (e.g. after settings changed)."""
    return await _move_clock(request, session_of(request).clock.now())


@router.get("/faults", operation_id="simListFaults", response_model=FaultList, responses=_STD)
async def list_faults(request: Request, _: PrincipalDep, x_sim_session: SessionHeader = None) -> FaultList:
    return FaultList(rules=session_of(request).faults.rules())


@router.post("/faults", operation_id="simAddFault", response_model=FaultRule, status_code=201, responses=_STD)
async def add_fault(
    request: Request, rule: FaultRuleIn, _: PrincipalDep, x_sim_session: SessionHeader = None
) -> FaultRule:
    return session_of(request).faults.add(rule)


@router.delete("/faults", operation_id="simClearFaults", status_code=204, responses=_STD)
async def clear_faults(request: Request, _: PrincipalDep, x_sim_session: SessionHeader = None) -> Response:
    session_of(request).faults.clear()
    return Response(status_code=204)


@router.get("/journal", operation_id="simGetJournal", response_model=JournalOut, responses=_STD)
async def get_journal(
    request: Request,
    _: PrincipalDep,
    operation: Annotated[str | None, Query(max_length=120)] = None,
    direction: Annotated[str | None, Query(pattern="^(in|out)$")] = None,
    since: Annotated[int, Query(ge=0)] = 0,
    x_sim_session: SessionHeader = None,
) -> JournalOut:
    entries = session_of(request).journal.entries(operation=operation, direction=direction, since=since)
    return JournalOut(entries=[e.export() for e in entries])


@router.get("/settings", operation_id="simGetSettings", response_model=SettingsOut, responses=_STD)
async def get_settings(request: Request, _: PrincipalDep, x_sim_session: SessionHeader = None) -> SettingsOut:
    return SettingsOut(settings=dict(session_of(request).settings))


@router.patch(
    "/settings", operation_id="simPatchSettings", response_model=SettingsOut, responses=problem_responses(400, 401, 422)
)
async def patch_settings(
    request: Request, changes: dict[str, SettingValue], _: PrincipalDep, x_sim_session: SessionHeader = None
) -> SettingsOut:
    session = session_of(request)
    known = runtime_of(request).spec.settings_defaults
    unknown = sorted(set(changes) - set(known))
    if unknown:
        raise Problem(
            422,
            "OIR-422-UNKNOWN-SETTING",
            "Unknown setting",
            f"unknown: {', '.join(unknown)}; known: {', '.join(sorted(known))}",
        )
    for key, value in changes.items():
        default = known[key]
        if value is not None and default is not None and type(value) is not type(default):
            raise Problem(
                422, "OIR-422-SETTING-TYPE", "Wrong type for setting", f"{key} takes {type(default).__name__}"
            )
        check = runtime_of(request).spec.settings_checks.get(key)
        problem = check(value) if check and value is not None else None
        if problem:
            raise Problem(422, "OIR-422-SETTING-VALUE", "Wrong value for setting", f"{key}: {problem}")
    session.settings.update(changes)
    return SettingsOut(settings=dict(session.settings))


@router.post("/reset", operation_id="simReset", status_code=204, responses=_STD)
async def reset(request: Request, _: PrincipalDep, x_sim_session: SessionHeader = None) -> Response:
    runtime = runtime_of(request)
    runtime.sessions.reset(session_of(request).id)
    return Response(status_code=204)


@router.get("/state", operation_id="simExportState", responses=_STD)
async def export_state(request: Request, _: PrincipalDep, x_sim_session: SessionHeader = None) -> Response:
    """The session's domain state as JSON, CPR numbers masked."""
    runtime = runtime_of(request)
    session = session_of(request)
    exported = runtime.spec.export_state(session) if runtime.spec.export_state else {}
    import json

    text = json.dumps(
        {"session": session.id, "now": session.clock.now().isoformat(), "state": exported},
        ensure_ascii=False,
        default=str,
    )
    return Response(mask_cpr_in_text(text), media_type="application/json")
