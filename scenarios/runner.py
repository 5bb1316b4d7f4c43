"""Run one scenario against one vendor profile in a fresh world, emitting events as it goes.

Acts must get a 2xx answer unless the step says which status (and problem code) it expects.
Expectations observe a query; with `within:` they poll until the deadline — the engine cycling
between polls, as a continuously running engine would — and stop early when `stop_if:` matches a
state that can no longer change. A failure keeps the systems' journals as evidence.

Blame goes where the evidence is (`blame`): a failing step is evidence against the requirements it
asserts (its step-level `covers:`), not against everything its scenario covers. Of the scenario's other
requirements, one that every step asserting it passed before the failure is proven; the rest the
scenario did not get far enough to judge — neither passed nor failed ("unproven"). A failing step with
no `covers:` of its own blames every requirement of the scenario that no passed step proved.
An expectation marked `soft: true` that fails is recorded and the scenario goes on: the run still fails,
its message lists every failed expectation, and each of them is blamed as above.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from contracts.identity import mask_cpr_in_text
from contracts.profile import profile_capabilities

from .actions.clock_faults import clock_of, set_clock, world_clock_systems, world_settled
from .actions.engine import run_cycles
from .context import Response, RunContext, StepFailure
from .errors import ScenarioRunError
from .events import EventBus, Outcome, ScenarioFinished, ScenarioStarted, StepFinished, StepStarted
from .loader import Scenario, Step
from .matchers import mismatches
from .values import DAY, DEADLINE, Deadlines, day_offsets, resolve
from .vocabulary import Action, actions
from .world import WorldFactory

POLL_SECONDS = 0.05
SETTLED = " (the simulated world had settled: nothing was left to happen without the clock moving)"


@dataclass(frozen=True)
class ScenarioResult:
    scenario: str
    profile: str
    outcome: Outcome
    message: str
    seconds: float
    failed_step: int | None = None
    failed_line: int | None = None
    blamed: tuple[str, ...] = ()  # not passed: the requirements the failure is evidence against
    unproven: tuple[str, ...] = ()  # not passed: requirements it stopped before judging

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


def blame(
    scenario: Scenario, failed: Step | None, soft: tuple[Step, ...] = (), skipped: tuple[Step, ...] = ()
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """For a run that did not pass: (blamed, unproven) among the scenario's covers (see the module doc).

    `failed` is the step that stopped the run, or None when the run failed before its first step (its
    world could not be made): then every requirement is blamed, as nothing was shown. `soft` are the
    soft expectations that failed while the run went on; with no step that stopped it, `failed` is None
    and the run went to its end. `skipped` steps (`when:` a capability the profile lacks) proved nothing."""
    if failed is None and not soft:
        return scenario.covers, ()
    failing = (*soft, *([failed] if failed else []))
    end = failed.index if failed else len(scenario.steps)
    ran = [step for step in scenario.steps[:end] if step not in soft and step not in skipped]  # these passed
    untested = scenario.steps[end + 1 :]
    asserted_later = {rid for step in (*failing, *untested) for rid in step.covers}
    proven = {rid for step in ran for rid in step.covers} - asserted_later
    blamed: list[str] = []
    for step in failing:
        for rid in step.covers or tuple(rid for rid in scenario.covers if rid not in proven):
            if rid not in blamed:
                blamed.append(rid)
    if not blamed:  # every requirement was proven, yet a step asserting none of them failed: blame them all
        return scenario.covers, ()
    unproven = tuple(rid for rid in scenario.covers if rid not in proven and rid not in blamed)
    return tuple(rid for rid in scenario.covers if rid in blamed), unproven


def session_id(scenario: Scenario, profile: str) -> str:
    """A simulator session id (at most 64 characters): readable in journals, unique per run."""
    return f"{scenario.id[:30]}-{profile[:16]}-{uuid.uuid4().hex[:8]}"


def run_scenario(scenario: Scenario, profile: str, world_factory: WorldFactory, bus: EventBus) -> ScenarioResult:
    started = time.monotonic()  # real time: how long the scenario took
    bus.emit(ScenarioStarted(scenario.id, profile, scenario.title, str(scenario.file), scenario.covers, scenario.tags))
    outcome: Outcome = "passed"
    message = ""
    failed: Step | None = None
    evidence: dict[str, Any] = {}
    try:
        world = world_factory(session_id(scenario, profile))
    except Exception as error:  # the world could not be made (a system refused its set-up): an error, reported
        return _finish(bus, scenario, profile, started, "error", f"the world could not be set up: {error}")
    ctx = RunContext(world=world, profile=profile, seed=scenario.seed, bus=bus, scenario_id=scenario.id)
    soft: list[tuple[Step, str]] = []  # soft expectations that failed; the run went on
    skipped: list[Step] = []  # steps `when:` a capability this profile does not declare
    try:
        _prepare(ctx, scenario)
        registry = actions()
        capabilities = profile_capabilities(profile)
        for step in scenario.steps:
            if not set(step.when) <= capabilities:
                skipped.append(step)  # not for this profile: it proves nothing and fails nothing
                continue
            failed = step
            try:
                _run_step(ctx, step, registry)
            except StepFailure as failure:
                if not step.soft:
                    raise
                soft.append((step, str(failure)))
        failed = None
        if soft:
            outcome, message = "failed", " | ".join(text for _, text in soft)
    except StepFailure as failure:
        outcome, message = "failed", " | ".join([*(text for _, text in soft), str(failure)])
    except ScenarioRunError as error:
        outcome, message = "error", str(error)
    except Exception as error:  # a defect of the harness or a system: report it, never hide it
        outcome, message = "error", f"{type(error).__name__}: {error}"
    finally:
        if outcome != "passed":
            evidence = _evidence(ctx)
        ctx.close()
        world.close()
    return _finish(
        bus, scenario, profile, started, outcome, message, failed, evidence, tuple(s for s, _ in soft), tuple(skipped)
    )


def _finish(
    bus: EventBus,
    scenario: Scenario,
    profile: str,
    started: float,
    outcome: Outcome,
    message: str,
    failed: Step | None = None,
    evidence: dict[str, Any] | None = None,
    soft: tuple[Step, ...] = (),
    skipped: tuple[Step, ...] = (),
) -> ScenarioResult:
    """Announce how the run ended (CPR masked in the message) and return it. The failed step shown is
    the one that stopped the run, else the first soft expectation that failed."""
    seconds = time.monotonic() - started  # real time
    masked = mask_cpr_in_text(message)
    shown = failed or (soft[0] if soft else None)
    index, line = (shown.index, shown.line) if shown else (None, None)
    blamed, unproven = blame(scenario, failed, soft, skipped) if outcome != "passed" else ((), ())
    bus.emit(
        ScenarioFinished(
            scenario.id,
            profile,
            outcome,
            seconds,
            masked,
            index,
            line,
            evidence or {},
            blamed=blamed,
            unproven=unproven,
        )
    )
    return ScenarioResult(scenario.id, profile, outcome, masked, seconds, index, line, blamed, unproven)


def _prepare(ctx: RunContext, scenario: Scenario) -> None:
    """Read the world's clock (or move it to the scenario's start) and point callbacks at the engine."""
    endpoints = ctx.world.endpoints
    if "fbs" not in endpoints.simulated:
        raise ScenarioRunError("scenarios need the FBS simulator")
    ctx.now = clock_of(ctx, "fbs")
    engine = ctx.world.engine
    for profile in endpoints.debtors:
        if profile in endpoints.simulated and not ctx.world.callbacks_set:
            ctx.control(
                profile,
                "PATCH",
                "/settings",
                {"callback_url": engine.url, "callback_token": engine.callback_token(profile)},
            )
    if scenario.start is not None:
        if scenario.start < ctx.now:
            raise ScenarioRunError(
                f"start {scenario.start.isoformat()} is before the simulators' epoch {ctx.now.isoformat()}"
            )
        ctx.used_profiles.update(p for p in endpoints.debtors if p in endpoints.simulated)
        for system in world_clock_systems(ctx):
            set_clock(ctx, system, scenario.start)
        ctx.now = scenario.start
    engine.set_clock(ctx.virtual_now())
    ctx.captures[DAY] = day_offsets(ctx.virtual_now().date())  # ${day.N}: N days after this start
    ctx.captures[DEADLINE] = Deadlines(ctx.virtual_now().date())  # ${deadline.N.M}: deadlines on bank days


def _run_step(ctx: RunContext, step: Step, registry: dict[str, Action]) -> None:
    name = step.query if step.action == "expect" else step.action
    assert name is not None
    ctx.bus.emit(StepStarted(ctx.scenario_id, ctx.profile, step.index, _label(step), step.line))
    started = time.monotonic()  # real time

    def finished(passed: bool, message: str, observed: Any, polls: int = 0) -> None:
        seconds = time.monotonic() - started  # real time
        ctx.bus.emit(
            StepFinished(
                ctx.scenario_id,
                ctx.profile,
                step.index,
                _label(step),
                step.line,
                passed,
                seconds,
                message,
                observed,
                polls,
                step.covers,
            )
        )

    polls = 0
    try:
        if step.action == "expect":
            value, polls = _expect(ctx, step, registry[name])
        else:
            value = _act(ctx, step, registry[name])
    except StepFailure as failure:
        finished(False, mask_cpr_in_text(str(failure)), failure.observed)
        raise StepFailure(
            f"step {step.index + 1} (line {step.line}, {_label(step)}): {failure}", failure.observed
        ) from failure
    if step.capture:
        ctx.captures[step.capture] = value
    finished(True, "", value, polls)


def _label(step: Step) -> str:
    return f"expect {step.query}" if step.action == "expect" else step.action


def _arguments(ctx: RunContext, step: Step) -> dict[str, Any]:
    try:
        return {key: resolve(value, ctx.captures) for key, value in step.args.items()}
    except KeyError as error:
        raise StepFailure(str(error.args[0]) if error.args else str(error)) from error


def _act(ctx: RunContext, step: Step, spec: Action) -> Any:
    result = spec.run(ctx, **_arguments(ctx, step))
    value = _answer(step, result)
    if step.that:
        try:
            problems = mismatches(value, resolve(step.that, ctx.captures))
        except KeyError as error:
            raise StepFailure(str(error)) from error
        if problems:
            raise StepFailure("; ".join(problems), value)
    return value


def _answer(step: Step, result: Any) -> Any:
    """The value an act produced; an HTTP answer must have the status (and problem code) expected."""
    if not isinstance(result, Response):
        return result
    body = result.body
    if step.status is None and result.status >= 300:
        raise StepFailure(f"{result.method} {result.url} answered {result.status}", body)
    if step.status is not None and result.status != step.status:
        raise StepFailure(f"expected HTTP {step.status}, got {result.status}", body)
    if step.code is not None:
        code = body.get("code") if isinstance(body, dict) else None
        if code != step.code:
            raise StepFailure(f"expected problem code {step.code}, got {code}", body)
    return body


def _expect(ctx: RunContext, step: Step, spec: Action) -> tuple[Any, int]:
    """Poll until what the step sees matches, or `within` has passed — or, in a world of simulators alone,
    until the world has settled (`world_settled`): then what it sees is final, and waiting out `within`
    would only make a failing run slower."""
    deadline = time.monotonic() + (step.within or 0.0)  # real time: polling another system
    polls = 0
    settled = False
    while True:
        polls += 1
        observed = spec.run(ctx, **_arguments(ctx, step))
        try:
            that = resolve(step.that, ctx.captures)
            stop_if = resolve(step.stop_if, ctx.captures)
        except KeyError as error:
            raise StepFailure(str(error)) from error
        if step.absent:
            problems = [] if observed in (None, []) else ["expected nothing, but it is there"]
        elif observed is None:
            problems = ["nothing there yet"]
        else:
            problems = mismatches(observed, that)
        if not problems:
            return observed, polls
        if stop_if and observed is not None and not mismatches(observed, stop_if):
            raise StepFailure("reached a state that can no longer change (stop_if): " + "; ".join(problems), observed)
        if settled:
            raise StepFailure("; ".join(problems) + SETTLED, observed)
        if time.monotonic() >= deadline:
            waited = f" after {step.within:g} s" if step.within else ""
            raise StepFailure("; ".join(problems) + waited, observed)
        run_cycles(ctx)  # the engine keeps running while we wait
        settled = world_settled(ctx)  # if so, one more look, and that one is final
        if not settled:
            time.sleep(POLL_SECONDS)


def _evidence(ctx: RunContext) -> dict[str, Any]:
    """The journals of every simulated system this scenario touched (the simulators mask CPR)."""
    evidence: dict[str, Any] = {}
    systems = ["fbs", "psrm", "payment", *sorted(ctx.used_profiles)]
    for system in systems:
        if system not in ctx.world.endpoints.simulated:
            continue
        try:
            entries = ctx.control(system, "GET", "/journal")["entries"]
        except (ScenarioRunError, KeyError, TypeError):
            continue
        evidence[system] = entries[-40:]
    try:
        evidence["engine-outbox"] = ctx.world.engine.outbox(None)[-40:]
    except Exception as error:  # evidence is best effort; the failure itself is already known
        evidence["engine-outbox"] = f"unavailable: {type(error).__name__}"
    return evidence
