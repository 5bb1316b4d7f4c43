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
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contracts.profile import profile_capabilities
from scenarios import Scenario, load_suite, run_scenario
from scenarios.events import EventBus
from scenarios.loader import BUNDLED_SUITES
from scenarios.reporters import Recorder, write_folder

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
            reason=f"it {self.outcome} at {where} before it got to this requirement",
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
            "runs": [{**asdict(run), "check": run.check} for run in self.runs],
            "notRun": [n.as_json() for n in self.not_run],
            "notApplicable": [n.as_json() for n in self.not_applicable],
        }


def why_not_applicable(scenario: Scenario, profile: str, capabilities: frozenset[str]) -> str:
    """Why a scenario does not apply to a profile ("" if it does)."""
    if scenario.profiles and profile not in scenario.profiles:
        return f"only for {', '.join(scenario.profiles)}"
    missing = [c for c in scenario.requires if c not in capabilities]
    return f"requires {', '.join(missing)}, which {profile} does not declare" if missing else ""


def _cited(requirements: tuple[str, ...], absent: Collection[str]) -> list[str]:
    return [rid for rid in requirements if rid not in absent]


def run_profile_scenarios(
    profile: str, out: Path, *, vendor: VendorSystem | None = None, absent: Collection[str] = ()
) -> ScenarioCheck:
    """Run the profile's scenarios (against `vendor`'s system, those that can); write their report to
    `out/scenarios/`. `absent` are the requirements that do not apply to the profile: never cited."""
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
        reasons = {s.id: s.why_not_against_a_vendor(test_control=vendor.test_control) for s in applicable}
        check.not_run = [
            ScenarioSkip(s.id, reasons[s.id], _cited(s.covers, absent)) for s in applicable if reasons[s.id]
        ]
        applicable = [s for s in applicable if not reasons[s.id]]
    started = time.monotonic()  # real time: how long the scenarios took
    recorder = Recorder()
    bus = EventBus()
    bus.subscribe(recorder)
    worlds = SimulatedWorlds.start(vendor=vendor)
    try:
        for scenario in applicable:
            result = run_scenario(scenario, profile, worlds, bus)
            check.runs.append(
                ScenarioRun(
                    scenario=scenario.id,
                    title=scenario.title,
                    requirements=_cited(scenario.covers, absent),
                    passed=result.passed,
                    outcome=result.outcome,
                    message=result.message,
                    file=str(scenario.file.relative_to(BUNDLED_SUITES.parents[1])),
                    line=result.failed_line,
                    blamed=_cited(result.blamed, absent),
                    unproven=_cited(result.unproven, absent),
                )
            )
    finally:
        worlds.stop()
    check.seconds = round(time.monotonic() - started, 1)
    write_folder(list(recorder.records.values()), out / "scenarios")
    return check
