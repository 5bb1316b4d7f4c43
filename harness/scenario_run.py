"""`oir run`: scenarios from the command line, against the simulated world, with the same reporters
as the pytest plugin (console while running; index.html, results.json and HAR evidence at the end;
JUnit XML with `--junit`).

Before anything runs, every scenario file is loaded and every authoring error of every file is shown
(one line each: file, line, key), then exit 2; YAML files in the folders that are not named
`*.scenario.yaml` are named as ignored, and a file given by name must be so named. `-k EXPR` (pytest's
keyword syntax over `id[profile]`, file name and tags) and `--tag` choose runs; `--fail-fast` stops at
the first run that does not pass (the rest are reported as not run, never as passed).
Exit codes: 0 every chosen run passed, 1 one did not (or nothing was left to run), 2 an authoring or
usage error.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from contracts.profile import PROFILE_NAMES, profile_capabilities
from scenarios import Scenario, run_scenario
from scenarios.errors import nearest
from scenarios.events import EventBus
from scenarios.keyword import KeywordError, compile_keyword
from scenarios.loader import SCENARIO_SUFFIX, collect_suite
from scenarios.reporters import ConsoleReporter, Recorder, write_folder
from scenarios.reporters.junit import JUnitReporter

from .command_options import writable
from .scenario_world import SimulatedWorlds


def _chosen(
    console: Console, suite: list[Scenario], profiles: list[str], keyword: str | None, tags: list[str]
) -> list[tuple[Scenario, str]] | int:
    """The (scenario, profile) runs the options choose, or an exit code after a usage error."""
    known_tags = sorted({tag for scenario in suite for tag in scenario.tags})
    for tag in tags:
        if tag not in known_tags:
            hint = nearest(tag, known_tags)
            console.print(
                f"error: --tag {tag!r} is the tag of no scenario here"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; tags: {', '.join(known_tags) or 'none'}",
                style="red",
                markup=False,
                soft_wrap=True,
            )
            return 2
    try:
        selected = compile_keyword(keyword) if keyword is not None else None
    except KeywordError as error:
        console.print(f"error: {error}", style="red", markup=False, soft_wrap=True)
        return 2
    runs = []
    for scenario in suite:
        if tags and not set(tags) & set(scenario.tags):
            continue
        for profile in profiles:
            if not scenario.applies_to(profile, profile_capabilities(profile)):
                continue
            names = [f"{scenario.id}[{profile}]", scenario.file.name, *scenario.tags]
            if selected is None or selected(names):
                runs.append((scenario, profile))
    return runs


def run_paths(
    console: Console,
    paths: list[Path],
    profiles: list[str] | None,
    report: Path | None,
    verbose: bool = False,
    *,
    keyword: str | None = None,
    tags: list[str] | None = None,
    fail_fast: bool = False,
    junit: Path | None = None,
) -> int:
    """Run every scenario under `paths` against every profile it applies to; 0 all passed, 1 not, 2 usage."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        console.print(f"no such file or folder: {', '.join(missing)}", style="red", markup=False)
        return 2
    if report is not None:
        writable(report, "--report", folder=True)
    if junit is not None:
        writable(junit, "--junit")
    chosen = profiles or list(PROFILE_NAMES)
    unknown = [p for p in chosen if p not in PROFILE_NAMES]
    if unknown:
        console.print(f"unknown profile {', '.join(unknown)}; known: {', '.join(PROFILE_NAMES)}", style="red")
        return 2
    loaded = collect_suite(paths)
    for ignored in loaded.ignored:
        console.print(
            f"note: ignored {ignored}: not named *{SCENARIO_SUFFIX} (only such files are scenarios)",
            style="yellow",
            markup=False,
            soft_wrap=True,
        )
    if loaded.errors:
        for error in loaded.errors:
            console.print(error.render(), style="red", markup=False, soft_wrap=True)
        if len(loaded.errors) > 1:
            files = len({error.file for error in loaded.errors})
            console.print(f"{len(loaded.errors)} authoring errors in {files} files; nothing was run", markup=False)
        return 2
    if not loaded.scenarios:
        console.print(
            f"error: no scenario files (*{SCENARIO_SUFFIX}) in {', '.join(map(str, paths))}",
            style="red",
            markup=False,
            soft_wrap=True,
        )
        return 2
    runs = _chosen(console, loaded.scenarios, chosen, keyword, tags or [])
    if isinstance(runs, int):
        return runs
    if not runs:
        console.print("no scenario applies to the chosen profiles (and -k/--tag)", style="yellow")
        return 1
    bus = EventBus()
    reporter = ConsoleReporter(console, verbose=verbose)
    recorder = Recorder()
    junit_reporter = JUnitReporter()
    for subscriber in (reporter, recorder, junit_reporter):
        bus.subscribe(subscriber)
    started = time.monotonic()  # real time: how long the run took
    results = []
    worlds = SimulatedWorlds.start()
    try:
        for index, (scenario, profile) in enumerate(runs):
            results.append(run_scenario(scenario, profile, worlds, bus))
            if fail_fast and not results[-1].passed:
                left = runs[index + 1 :]
                for later, later_profile in left:
                    junit_reporter.skip(later.id, later_profile, "not run: --fail-fast stopped at the first failure")
                if left:
                    console.print(
                        f"stopped at the first failure (--fail-fast): {len(left)} run(s) not run",
                        style="yellow",
                        markup=False,
                    )
                break
    finally:
        worlds.stop()
    seconds = time.monotonic() - started
    console.print(f"{reporter.summary()} in {seconds:.1f} s ({len(results) / seconds:.1f} scenarios/s)")
    if report is not None:
        write_folder(list(recorder.records.values()), report)
        console.print(f"report: {escape(str(report / 'index.html'))}")
    if junit is not None:
        junit_reporter.write(junit)
        console.print(f"junit: {escape(str(junit))}")
    return 0 if len(results) == len(runs) and all(r.passed for r in results) else 1
