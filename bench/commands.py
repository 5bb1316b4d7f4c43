"""Benchmarks of whole commands as a user runs them, each a fresh process timed from outside:
the bundled scenarios under pytest (serially and on two xdist workers), `oir certify` of the five
simulated profiles, and the README's test command.

Baselines, measured in the same run just before the figure:
- scenarios, serial: the same pytest command with `--collect-only` (a process that starts, imports
  and collects the suite and runs nothing): the fixed cost every scenario run pays once. The figure
  counts it in, as a user waiting for the command does.
- scenarios, `-n 2`: the serial figure of this run; their quotient is what the second core buys.
- `oir certify`: `oir --help` in a fresh process (a process doing nothing but start and import the
  CLI): it tracks how loaded the shared machine is at that moment, which a wall time cannot show;
  the five profiles' own times (from their results.json) are printed too, summed, as what a strictly
  serial run would take.
- the test command: `pytest --collect-only` of the whole suite (start, imports, collection).
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.processes import ROOT, with_project_on_path
from bench.table import Goal, Row

SCENARIOS_GOAL = Goal(">=", 10, "scenarios/s")
CERTIFY_GOAL = Goal("<=", 60, "s")
TESTS_GOAL = Goal("<=", 240, "s")


class CommandFailed(RuntimeError):
    """A benchmarked command did not succeed: its time would measure a failure, not the work."""


@dataclass(frozen=True)
class Timed:
    seconds: float
    output: str
    returncode: int
    cpu_seconds: float = 0.0  # user + system time of the command and its children: less noisy than wall time


def timed(command: list[str], *, timeout: float = 3600, check: bool = True) -> Timed:
    """Run `command` in the project root; wall seconds and its output (stdout and stderr together)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()  # real time: this is a benchmark
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=_env(), check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = run.stdout + run.stderr
    if check and run.returncode != 0:
        raise CommandFailed(f"{' '.join(command)} exited {run.returncode}:\n{output[-2000:]}")
    return Timed(seconds, output, run.returncode, cpu)


def _env() -> dict[str, str]:
    """As a user's installation runs: Python writes bytecode (and pytest its rewritten test modules)
    — into a cache folder of the benchmark's own, so neither the checkout nor the virtualenv changes.
    (A shell with PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module on every start.)"""
    env = {**with_project_on_path(), "PACT_DO_NOT_TRACK": "true"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "oir-bench-pycache")
    return env


def passed_count(pytest_output: str) -> int:
    """'123 passed' of pytest's summary line (0 when none)."""
    match = re.search(r"(\d+) passed", pytest_output)
    return int(match.group(1)) if match else 0


def _summary(pytest_output: str) -> str:
    lines = [line for line in pytest_output.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    return lines[-1].strip("= ") if lines else pytest_output[-300:]


# ---- scenarios ------------------------------------------------------------------------------------
def scenarios(*, quick: bool) -> list[Row]:
    """The bundled suite × the five profiles under pytest, serially and with `-n 2`.

    `quick`: one profile's runs (kmd-opus), which exercises every path at a fifth of the cost."""
    pytest = [sys.executable, "-m", "pytest", "scenarios/suites", "-q"]
    if quick:
        pytest += ["--scenario-profile", "kmd-opus"]
    scope = "kmd-opus only (--quick)" if quick else "whole suite × 5 profiles"
    collect = timed([*pytest, "--collect-only"])
    serial = timed(pytest, check=False)
    parallel = timed([*pytest, "-n", "2"], check=False)
    rows = []
    serial_rate = 0.0
    for name, run in (("serial", serial), ("-n 2", parallel)):
        done = passed_count(run.output)
        if run.returncode != 0 or not done:
            raise CommandFailed(f"scenarios ({name}): {_summary(run.output)}")
        rate = done / run.seconds
        if name == "serial":
            serial_rate = rate
            baseline = f"start+collect only {collect.seconds:.1f} s"
        else:
            baseline = f"serial {serial_rate:.2f}/s (×{rate / serial_rate:.2f})"
        rows.append(
            Row(
                f"bundled scenarios/s, {name}",
                SCENARIOS_GOAL,
                rate,
                figure=f"{rate:.2f}/s ({done} in {run.seconds:.0f} s, CPU {run.cpu_seconds / done:.2f} s each)",
                baseline=baseline,
                note=scope if quick else "",
            )
        )
    return rows


# ---- oir certify ---------------------------------------------------------------------------------
def certify(*, quick: bool) -> list[Row]:
    """`oir certify` of the five simulated profiles (all checks and scenarios), cold: a fresh process.

    `quick`: two profiles (kmd-opus, eg) — the figure is then not the goal's and says so."""
    help_run = timed([sys.executable, "-m", "harness.cli", "--help"])
    with tempfile.TemporaryDirectory(prefix="oir-bench-certify-") as folder:
        command = [sys.executable, "-m", "harness.cli", "certify", "--out", folder]
        if quick:
            command += ["--profile", "kmd-opus", "--profile", "eg"]
        run = timed(command, check=False)
        if run.returncode != 0:
            raise CommandFailed(f"oir certify exited {run.returncode}:\n{run.output[-2000:]}")
        own = [json.loads(p.read_text())["seconds"] for p in sorted(Path(folder).glob("*/results.json"))]
    return [
        Row(
            f"oir certify, {len(own)} simulated profiles, cold",
            CERTIFY_GOAL,
            run.seconds,
            figure=f"{run.seconds:.0f} s (CPU {run.cpu_seconds:.0f} s; profiles' own: "
            f"{' + '.join(f'{s:.0f}' for s in own)} = {sum(own):.0f} s)",
            baseline=f"`oir --help` {help_run.seconds:.2f} s",
            note="two profiles only (--quick): not the goal's figure" if quick else "",
        )
    ]


# ---- the README's test command -----------------------------------------------------------------------
def tests() -> list[Row]:
    """`python -m pytest -n 2` as the README gives it (minutes: opt-in with `--only tests`)."""
    collect = timed([sys.executable, "-m", "pytest", "--collect-only", "-q"])
    run = timed([sys.executable, "-m", "pytest", "-n", "2", "-q"], check=False)
    if run.returncode != 0:
        raise CommandFailed(f"the test command: {_summary(run.output)}")
    return [
        Row(
            "README's test command (pytest -n 2)",
            TESTS_GOAL,
            run.seconds,
            figure=f"{run.seconds:.0f} s ({_summary(run.output)})",
            baseline=f"start+collect only {collect.seconds:.1f} s",
        )
    ]
