"""Scenarios inside certification: the bundled scenarios that apply to the profile (by its declared
capabilities) run end to end — FBS, the engine, the debtor system, PSRM, the payment solution — and
each becomes a check citing the requirement IDs the scenario covers.

Against a simulated profile every applicable scenario runs. Against a vendor's own system the scenario
worlds would need that system's credentials in every step and its clock outside our control, so the
scenarios are listed as not run, with that reason, and never counted as passed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios import load_suite, run_scenario
from scenarios.events import EventBus
from scenarios.reporters import Recorder
from scenarios.reporters.files import write_folder

from ..scenario_world import SimulatedWorlds, profile_capabilities

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
    not_run: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    report: str = ""  # the scenario report folder, relative to the certification report

    @property
    def passed(self) -> bool:
        return all(run.passed for run in self.runs)

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


def run_profile_scenarios(profile: str, out: Path, *, simulated: bool) -> ScenarioCheck:
    """Run the profile's scenarios; write their report to `out/scenarios/`."""
    check = ScenarioCheck(report="scenarios/index.html")
    capabilities = profile_capabilities(profile)
    applicable = [s for s in load_suite([SUITES]) if s.applies_to(profile, capabilities)]
    if not simulated:
        check.not_run = [
            {"scenario": s.id, "reason": "needs the simulated debtor system (virtual time, simulation-only steps)"}
            for s in applicable
        ]
        return check
    started = time.monotonic()  # real time: how long the scenarios took
    recorder = Recorder()
    bus = EventBus()
    bus.subscribe(recorder)
    worlds = SimulatedWorlds.start()
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
