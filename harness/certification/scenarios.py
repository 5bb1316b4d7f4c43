"""Scenarios inside certification: the bundled scenarios that apply to the profile (by its declared
capabilities) run end to end — FBS, the engine, the debtor system, PSRM, the payment solution — and
each becomes a check citing the requirement IDs the scenario covers.

Against a simulated profile every applicable scenario runs. Against a vendor's own system the scenarios
that can meet a real system run — with the vendor's credentials, the harness's FBS, PSRM, payment
solution and other vendors' simulators around it, and a real engine per scenario behind the callback
relay. The others need the debtor's simulator (a bank transfer, its journal) or virtual time, or
concern PSRM alone; they are listed as not run, each with its reason, and never counted as passed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios import load_suite, run_scenario
from scenarios.events import EventBus
from scenarios.loader import VENDOR_SIDE, Scenario
from scenarios.reporters import Recorder
from scenarios.reporters.files import write_folder
from scenarios.vocabulary import actions

from ..scenario_world import SimulatedWorlds, VendorSystem, profile_capabilities
from .judge import CheckOutcome

SUITES = Path(__file__).resolve().parents[2] / "scenarios" / "suites"


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

    @property
    def check(self) -> str:
        """The name of this run among the certification's checks."""
        return f"scenario {self.scenario}"


@dataclass
class ScenarioCheck:
    runs: list[ScenarioRun] = field(default_factory=list)
    not_run: list[dict[str, Any]] = field(default_factory=list)  # scenario, reason, requirements
    seconds: float = 0.0
    report: str = ""  # the scenario report folder, relative to the certification report

    @property
    def passed(self) -> bool:
        return all(run.passed for run in self.runs)

    def outcomes(self) -> list[CheckOutcome]:
        """The scenarios as checks: those that ran, then those that could not run against this target."""
        return [CheckOutcome(run.check, tuple(run.requirements), run.passed) for run in self.runs] + [
            CheckOutcome(f"scenario {n['scenario']}", tuple(n["requirements"]), False, ran=False) for n in self.not_run
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "seconds": self.seconds,
            "report": self.report,
            "runs": [{**run.__dict__, "check": run.check} for run in self.runs],
            "notRun": self.not_run,
        }


def suite_files() -> list[Path]:
    """The scenario files a certification runs (part of the certificate's suite digest)."""
    return sorted(SUITES.rglob("*.scenario.yaml"))


def why_not_against_a_vendor(scenario: Scenario) -> str:
    """Why a scenario cannot say anything about a vendor's real debtor system ("" if it can)."""
    if not scenario.reaches_debtor:
        return "concerns PSRM alone, not the debtor system"
    if scenario.start is not None:
        return "starts at a set virtual time; a vendor's system lives in real time"
    registry = actions()
    needs = sorted(
        {
            name
            for step in scenario.steps
            for name in [step.query if step.action == "expect" else step.action]
            if name and registry[name].simulated and registry[name].actor in VENDOR_SIDE
        }
    )
    return f"needs the debtor simulator or virtual time ({', '.join(needs)})" if needs else ""


def run_profile_scenarios(profile: str, out: Path, *, vendor: VendorSystem | None = None) -> ScenarioCheck:
    """Run the profile's scenarios (against `vendor`'s system, those that can); write their report to
    `out/scenarios/`."""
    check = ScenarioCheck(report="scenarios/index.html")
    capabilities = profile_capabilities(profile)
    applicable = [s for s in load_suite([SUITES]) if s.applies_to(profile, capabilities)]
    if vendor is not None:
        reasons = {s.id: why_not_against_a_vendor(s) for s in applicable}
        check.not_run = [
            {"scenario": s.id, "reason": reasons[s.id], "requirements": list(s.covers)}
            for s in applicable
            if reasons[s.id]
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
                    requirements=list(scenario.covers),
                    passed=result.passed,
                    outcome=result.outcome,
                    message=result.message,
                    file=str(scenario.file.relative_to(SUITES.parents[1])),
                    line=result.failed_line,
                )
            )
    finally:
        worlds.stop()
    check.seconds = round(time.monotonic() - started, 1)
    write_folder(list(recorder.records.values()), out / "scenarios")
    return check
