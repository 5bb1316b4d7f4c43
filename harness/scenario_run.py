"""`oir run`: scenarios from the command line, against the simulated world, with the same reporters
as the pytest plugin (console while running; index.html, results.json and HAR evidence at the end)."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from contracts.profile import PROFILE_NAMES, profile_capabilities
from scenarios import ScenarioError, load_suite, run_scenario
from scenarios.events import EventBus
from scenarios.reporters import ConsoleReporter, Recorder, write_folder

from .scenario_world import SimulatedWorlds


def run_paths(
    console: Console, paths: list[Path], profiles: list[str] | None, report: Path | None, verbose: bool = False
) -> int:
    """Run every scenario under `paths` against every profile it applies to; 0 all passed, 1 not, 2 usage."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        console.print(f"no such file or folder: {', '.join(missing)}", style="red", markup=False)
        return 2
    chosen = profiles or list(PROFILE_NAMES)
    unknown = [p for p in chosen if p not in PROFILE_NAMES]
    if unknown:
        console.print(f"unknown profile {', '.join(unknown)}; known: {', '.join(PROFILE_NAMES)}", style="red")
        return 2
    try:
        suite = load_suite(paths)
    except ScenarioError as error:
        console.print(error.render(), style="red", markup=False, soft_wrap=True)
        return 2
    runs = [(s, p) for s in suite for p in chosen if s.applies_to(p, profile_capabilities(p))]
    if not runs:
        console.print("no scenario applies to the chosen profiles", style="yellow")
        return 1
    bus = EventBus()
    reporter = ConsoleReporter(console, verbose=verbose)
    recorder = Recorder()
    bus.subscribe(reporter)
    bus.subscribe(recorder)
    started = time.monotonic()  # real time: how long the run took
    worlds = SimulatedWorlds.start()
    try:
        results = [run_scenario(scenario, profile, worlds, bus) for scenario, profile in runs]
    finally:
        worlds.stop()
    seconds = time.monotonic() - started
    console.print(f"{reporter.summary()} in {seconds:.1f} s ({len(runs) / seconds:.1f} scenarios/s)")
    if report is not None:
        write_folder(list(recorder.records.values()), report)
        console.print(f"report: {report / 'index.html'}")
    return 0 if all(r.passed for r in results) else 1
