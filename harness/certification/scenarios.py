"""Scenarios inside certification: the bundled scenarios that apply to the profile (by its declared
capabilities) run end to end — FBS, the engine, the debtor system, PSRM, the payment solution — and
each becomes a check citing the requirement IDs the scenario covers.

Against a simulated profile every applicable scenario runs. Against a vendor's own system the scenarios
that can meet a real system run — with the vendor's credentials, the harness's FBS, PSRM, payment
solution and other vendors' simulators around it, and a real engine per scenario behind the callback
relay. The others need the debtor's simulator (a bank transfer, its journal) or virtual time, or
concern PSRM alone; they are listed as not run, each with its reason (`Scenario.why_not_against_a_vendor`),
and never counted as passed. A vendor that declares test control (`oir-testkontrol-v1`) meets the
scenarios that move the clock, book a bank transfer or read what the debtor sent, too: only those that
start at a set date or need the debtor's simulator itself (its faults, its settings) stay not run.
The bundled scenarios that do not apply to the profile (they require a capability it declares absent,
or name other profiles) are listed as not applicable, with the reason.

A failed scenario blames what its failing step asserted (the runner's `blame`: the step's own
`covers:`), not every requirement it covers; of the others, those its earlier steps proved are
verified by it, and those it did not get far enough to judge are not verified by it — they end as
NOT VERIFIED unless another check verified them.
A requirement the profile's capabilities rule out is never cited (`absent`): it is not applicable.

A run that ended in an error (the runner's "error": the harness or a world's set-up broke, not a step's
assertion) is a harness ERROR, never the vendor's failure. A failed run keeps its failing step and the
last request it sent, for the report's failures; against a vendor's system it also says what reached
the callback relay meanwhile — "no callback reached http://…/daekningafskrivning" when nothing did.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from contracts.profile import profile_capabilities
from contracts.wire_client import CONTROL_PLANE
from scenarios import Scenario, load_suite, run_scenario
from scenarios.events import EventBus
from scenarios.loader import BUNDLED_SUITES
from scenarios.redaction import redact_exchange
from scenarios.reporters import Recorder, ScenarioRecord, write_folder

from ..scenario_world import SimulatedWorlds, VendorSystem
from .judge import CheckOutcome


@dataclass
class ScenarioRun:
    scenario: str
    title: str
    requirements: list[str]
    passed: bool
    outcome: str
    message: str = ""
    file: str = ""
    line: int | None = None
    blamed: list[str] = field(default_factory=list)  # not passed: what its failing step asserted
    unproven: list[str] = field(default_factory=list)  # not passed: what it stopped before judging
    step: str = ""  # not passed: the failing step ("line 17: expect fbs.claim")
    seen: Any = None  # not passed: what the failing step saw
    request: dict[str, Any] | None = None  # not passed: the last request it sent (redacted), for a curl line

    @property
    def check(self) -> str:
        """The name of this run among the certification's checks."""
        return f"scenario {self.scenario}"

    def as_check(self) -> CheckOutcome:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return CheckOutcome(
            self.check,
            tuple(self.requirements),
            self.passed,
            blamed=None if self.passed else tuple(self.blamed),
            unproven=() if self.passed else tuple(self.unproven),
            reason=f"harness error at {where}: {self.message}"
            if self.outcome == "error"
            else f"it {self.outcome} at {where} before it got to this requirement",
            error=self.outcome == "error",
        )


@dataclass
class ScenarioSkip:
    """A bundled scenario that did not run: not run against this target, or not applicable to the profile."""

    scenario: str
    reason: str
    requirements: list[str]

    @property
    def check(self) -> str:
        return f"scenario {self.scenario}"

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "check": self.check}


@dataclass
class ScenarioCheck:
    runs: list[ScenarioRun] = field(default_factory=list)
    not_run: list[ScenarioSkip] = field(default_factory=list)  # cannot run against this target
    not_applicable: list[ScenarioSkip] = field(default_factory=list)  # concern capabilities the profile lacks
    seconds: float = 0.0
    report: str = ""  # the scenario report folder, relative to the certification report

    @property
    def passed(self) -> bool:
        return all(run.passed for run in self.runs)

    def outcomes(self) -> list[CheckOutcome]:
        """The scenarios as checks: those that ran, those that could not run against this target, and
        those that do not apply to the profile."""
        return (
            [run.as_check() for run in self.runs]
            + [CheckOutcome(n.check, tuple(n.requirements), False, ran=False, reason=n.reason) for n in self.not_run]
            + [
                CheckOutcome(n.check, tuple(n.requirements), False, applicable=False, reason=n.reason)
                for n in self.not_applicable
            ]
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "seconds": self.seconds,
            "report": self.report,
            "runs": [
                {**asdict(run), "check": run.check, "request": redact_exchange(run.request) if run.request else None}
                for run in self.runs
            ],
            "notRun": [n.as_json() for n in self.not_run],
            "notApplicable": [n.as_json() for n in self.not_applicable],
        }


def _failing_step(record: ScenarioRecord) -> dict[str, Any]:
    """The failing step of a run that did not pass, what it saw, and the last request it sent."""
    failed = next((step for step in reversed(record.steps) if not step["passed"]), None)
    found: dict[str, Any] = {}
    if failed is not None:
        found["step"] = f"line {failed['line']}: {failed['action']}"
        found["seen"] = failed.get("observed")
    # the last request to a system's own interface (not the control plane the runner reads journals from)
    sent = [e for e in record.exchanges if CONTROL_PLANE not in urlsplit(str(e.get("url", ""))).path]
    if sent:
        found["request"] = redact_exchange(sent[-1])
    return found


def why_not_applicable(scenario: Scenario, profile: str, capabilities: frozenset[str]) -> str:
    """Why a scenario does not apply to a profile ("" if it does)."""
    if scenario.profiles and profile not in scenario.profiles:
        return f"only for {', '.join(scenario.profiles)}"
    missing = [c for c in scenario.requires if c not in capabilities]
    return f"requires {', '.join(missing)}, which {profile} does not declare" if missing else ""


def _cited(requirements: tuple[str, ...], absent: Collection[str]) -> list[str]:
    return [rid for rid in requirements if rid not in absent]


_NO_RESUME = (
    "; a waiting session cannot carry it to the next day (`oir certify --resume` resumes the probes only: a "
    "scenario's world of FBS, engine and payment solution lives for one run), so it needs the vendor's test control"
)


def _against_a_vendor(scenario: Scenario, test_control: bool) -> str:
    """Why a scenario cannot run against a vendor's system ("" if it can), saying for one that needs time
    to pass (where the vendor offers no test control) that waiting does not help."""
    reason = scenario.why_not_against_a_vendor(test_control=test_control)
    if test_control:
        return reason
    return reason + _NO_RESUME if "clock." in reason or "virtual time" in reason else reason


def run_profile_scenarios(
    profile: str,
    out: Path,
    *,
    vendor: VendorSystem | None = None,
    absent: Collection[str] = (),
    chosen: Callable[[str], bool] = lambda _: True,
) -> ScenarioCheck:
    """Run the profile's scenarios (against `vendor`'s system, those that can; of those, the ones
    `selected` picks by check name — the others are not run, `not_selected` says why); write their report
    to `out/scenarios/`. `absent` are the requirements that do not apply to the profile: never cited."""
    check = ScenarioCheck(report="scenarios/index.html")
    capabilities = profile_capabilities(profile)
    applicable = []
    for scenario in load_suite([BUNDLED_SUITES]):
        reason = why_not_applicable(scenario, profile, capabilities)
        if reason:
            check.not_applicable.append(ScenarioSkip(scenario.id, reason, _cited(scenario.covers, absent)))
        else:
            applicable.append(scenario)
    if vendor is not None:
        reasons = {s.id: _against_a_vendor(s, vendor.test_control) for s in applicable}
        check.not_run = [
            ScenarioSkip(s.id, reasons[s.id], _cited(s.covers, absent)) for s in applicable if reasons[s.id]
        ]
        applicable = [s for s in applicable if not reasons[s.id]]
    left_out = [s for s in applicable if not chosen(f"scenario {s.id}")]  # `oir certify --only`
    reason = "not selected in this run (--only)"
    check.not_run += [ScenarioSkip(s.id, reason, _cited(s.covers, absent)) for s in left_out]
    applicable = [s for s in applicable if s not in left_out]
    started = time.monotonic()  # real time: how long the scenarios took
    recorder = Recorder()
    bus = EventBus()
    bus.subscribe(recorder)
    worlds = SimulatedWorlds.start(vendor=vendor)
    try:
        for scenario in applicable:
            arrived = len(vendor.relay.messages) if vendor else 0
            result = run_scenario(scenario, profile, worlds, bus)
            message = result.message
            if vendor is not None and result.outcome == "failed":
                message += f"\n{vendor.relay.describe(arrived)} during this scenario (evidence/callbacks.json)"
            record = recorder.records.get((scenario.id, profile))
            check.runs.append(
                ScenarioRun(
                    scenario=scenario.id,
                    title=scenario.title,
                    requirements=_cited(scenario.covers, absent),
                    passed=result.passed,
                    outcome=result.outcome,
                    message=message,
                    file=str(scenario.file.relative_to(BUNDLED_SUITES.parents[1])),
                    line=result.failed_line,
                    blamed=_cited(result.blamed, absent),
                    unproven=_cited(result.unproven, absent),
                    **({} if result.passed or record is None else _failing_step(record)),
                )
            )
    finally:
        worlds.stop()
    check.seconds = round(time.monotonic() - started, 1)
    write_folder(list(recorder.records.values()), out / "scenarios")
    return check
